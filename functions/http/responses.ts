import { createHash } from "node:crypto";
import type { Context } from "hono";
import type { AppEnv } from "./env.js";

/** Response helpers shared by routes. */

/** Token responses must not be cached (RFC 6749 section 5.1). */
export const NO_STORE = { "Cache-Control": "no-store", Pragma: "no-cache" } as const;

/** The headers the app puts on every answer (functions/http/app.ts). */
export function standardHeaders(requestId: string): Record<string, string> {
  return { "X-Request-Id": requestId, "X-Content-Type-Options": "nosniff" };
}

/** Answers made with `plainAnswer`: they carry the standard headers already. */
const carryingStandardHeaders = new WeakSet<object>();

/** Whether `res` was made with the standard headers in it (so the app need not add them). */
export function carriesStandardHeaders(res: Response): boolean {
  return carryingStandardHeaders.has(res);
}

/**
 * An answer with its headers and the standard ones all in one plain record. Hono's `c.json`
 * and `c.body` put more than one header into an undici `Headers`, and the app then set two
 * more on it; a plain record goes out on either runtime's lightweight response
 * (@hono/node-server's, the Lambda adapter's `StringResponse`) without any `Headers` object:
 * ~6 µs of the local server's CPU per token (paired A/B, 2026-11-25, issue 15), and on Lambda
 * no undici at all for the answer (functions/http/lambda-adapter.ts).
 *
 * Hono applies headers prepared with `c.header()` only to answers it builds itself. So a
 * middleware ahead of a route that answers this way sets its headers on `c.res.headers` (as
 * Hono's cors middleware does, and those are kept), never with `c.header()`.
 */
export function plainAnswer(c: Context<AppEnv>, status: number, body: string | null, headers: Record<string, string>): Response {
  const requestId = c.get("context")?.requestId;
  const res = new (answerClass ?? Response)(body, { status, headers: { ...headers, ...(requestId ? standardHeaders(requestId) : {}) } });
  if (requestId) carryingStandardHeaders.add(res);
  return res;
}

/** What `plainAnswer` builds, when not the global `Response` (read only then). */
let answerClass: typeof Response | undefined;

/**
 * Makes `plainAnswer` build `cls` (the Lambda adapter's StringResponse, which keeps the record
 * as it is and never touches Node's `Response` global: functions/http/lambda-adapter.ts). On
 * the local server the global is @hono/node-server's own light `Response`.
 */
export function answerWith(cls: typeof Response): void {
  answerClass = cls;
}

/** A JSON answer that must not be cached (token responses), as a `plainAnswer`. */
export function noStoreJson(c: Context<AppEnv>, body: unknown): Response {
  return plainAnswer(c, 200, JSON.stringify(body), { "Content-Type": "application/json", ...NO_STORE });
}

/** A strong ETag for a response body. */
export function etagOf(body: string): string {
  return `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
}
