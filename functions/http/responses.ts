import { createHash } from "node:crypto";

/** Response helpers shared by routes. */

/** Token responses must not be cached (RFC 6749 section 5.1). */
export const NO_STORE = { "Cache-Control": "no-store", Pragma: "no-cache" } as const;

/** The same on a response already made. */
export function noStore(res: Response): Response {
  for (const [name, value] of Object.entries(NO_STORE)) res.headers.set(name, value);
  return res;
}

/** A strong ETag for a response body. */
export function etagOf(body: string): string {
  return `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
}
