/**
 * Reads and validates a request body: size (413), media type (415), syntax and schema (400).
 * The only place a handler gets its input from.
 */
import type { Context } from "hono";
import type { z } from "zod";
import { InvalidRequest, PayloadTooLarge, UnsupportedMediaType } from "../errors.js";
import type { AppEnv } from "./env.js";
import { requestHeader } from "./request-header.js";

export type MediaType = "json" | "form";

export async function readBody<S extends z.ZodType>(
  c: Context<AppEnv>,
  schema: S,
  options: { accept: MediaType[]; maxBytes: number },
): Promise<z.infer<S>> {
  const declared = Number(requestHeader(c, "content-length") ?? "0");
  if (declared > options.maxBytes) throw new PayloadTooLarge(`request body exceeds ${options.maxBytes} bytes`);
  const mediaType = (requestHeader(c, "content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  const kind: MediaType | undefined =
    mediaType === "application/json" ? "json" : mediaType === "application/x-www-form-urlencoded" ? "form" : undefined;
  if (!kind || !options.accept.includes(kind)) {
    const expected = options.accept.map((k) => (k === "json" ? "application/json" : "application/x-www-form-urlencoded"));
    throw new UnsupportedMediaType(`content-type must be ${expected.join(" or ")}`);
  }
  const raw = await bodyText(c, declared, options.maxBytes);
  const value = kind === "json" ? parseJson(raw) : parseForm(raw);
  const result = schema.safeParse(value);
  if (!result.success) throw new InvalidRequest(describeIssue(result.error.issues[0]));
  return result.data;
}

/**
 * The body as text, from wherever the runtime holds it:
 * - on Lambda, the event's body, which the adapter hands over as it is (lambda-adapter.ts);
 * - on the local server, a body of declared length straight from node's request (node's parser
 *   ends it at that length, so it cannot run past a limit the declaration was checked against);
 * - otherwise (a chunked body) the web stream, read under the limit.
 * Reading node's request or the event directly skips the web stream that wraps it, about a
 * tenth of a token's CPU on either runtime (profiles of 2026-11-24, issue 15).
 */
async function bodyText(c: Context<AppEnv>, declared: number, maxBytes: number): Promise<string> {
  const given = c.env?.body;
  if (typeof given === "string") {
    if (Buffer.byteLength(given) > maxBytes) throw new PayloadTooLarge(`request body exceeds ${maxBytes} bytes`);
    return given;
  }
  let bytes: Uint8Array;
  if (given !== undefined) bytes = given;
  else {
    const incoming = c.env?.incoming;
    bytes = declared > 0 && incoming?.readable && !incoming.readableDidRead ? await readIncoming(incoming) : await readLimited(c.req.raw, maxBytes);
  }
  if (bytes.byteLength > maxBytes) throw new PayloadTooLarge(`request body exceeds ${maxBytes} bytes`);
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new InvalidRequest("request body is not valid UTF-8");
  }
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

function readIncoming(incoming: NonNullable<AppEnv["Bindings"]["incoming"]>): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let ended = false;
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
    incoming.once("end", () => {
      ended = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });
    incoming.once("error", reject);
    // 'close' follows 'end' too; only a close before it means the body never came.
    incoming.once("close", () => ended || reject(new InvalidRequest("the request ended before its body did")));
  });
}

/**
 * The body, read chunk by chunk and given up as soon as it passes `maxBytes`: a body without
 * Content-Length (chunked) is refused with 413 at the first chunk over the limit instead of
 * being buffered whole first.
 */
async function readLimited(request: Request, maxBytes: number): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    total += chunk.value.byteLength;
    if (total > maxBytes) {
      reader.cancel().catch(() => {}); // the server discards (and then closes) the rest
      throw new PayloadTooLarge(`request body exceeds ${maxBytes} bytes`);
    }
    chunks.push(chunk.value);
  }
  return Buffer.concat(chunks);
}

function parseJson(raw: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new InvalidRequest("request body is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidRequest("request body must be a JSON object");
  }
  if (nestedDeeperThan(value, MAX_JSON_DEPTH)) throw new InvalidRequest(`request body is nested deeper than ${MAX_JSON_DEPTH} levels`);
  return value;
}

/** Objects and arrays inside objects and arrays, counting the body itself as level 1. */
export const MAX_JSON_DEPTH = 32;

/** Walks without recursion, so no depth can exhaust the stack (later steps do recurse). */
function nestedDeeperThan(root: object, max: number): boolean {
  const pending: [unknown, number][] = [[root, 1]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [value, depth] = next;
    if (typeof value !== "object" || value === null) continue;
    if (depth > max) return true;
    for (const child of Object.values(value)) pending.push([child, depth + 1]);
  }
  return false;
}

/**
 * Reads and validates a URL's query string with the rules of a form body: a parameter given
 * twice is a 400 (an intermediary and Latchkey must never read different values), empty means
 * omitted.
 */
export function readQuery<S extends z.ZodType>(c: Context, schema: S): z.infer<S> {
  const result = schema.safeParse(singleValued(new URL(c.req.url).searchParams));
  if (!result.success) throw new InvalidRequest(describeIssue(result.error.issues[0]));
  return result.data;
}

function parseForm(raw: string): Record<string, string> {
  return singleValued(new URLSearchParams(raw));
}

/**
 * RFC 6749 section 3.2 (and 3.1 for the query): parameters must not be included more than
 * once, and parameters sent without a value are treated as omitted.
 */
function singleValued(params: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  const seen = new Set<string>();
  for (const [key, value] of params) {
    if (seen.has(key)) throw new InvalidRequest(`parameter ${key} is included more than once`);
    seen.add(key);
    if (value !== "") out[key] = value;
  }
  return out;
}

function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return "request body is invalid";
  const where = issue.path.length ? issue.path.join(".") : "body";
  if (issue.code === "unrecognized_keys") return `unknown parameter(s): ${issue.keys.join(", ")}`;
  if (issue.code === "invalid_type") {
    // zod 4 does not report the input by default; its message names what was received.
    return /received undefined/.test(issue.message) ? `${where} is required` : `${where} must be a ${issue.expected}`;
  }
  if (issue.code === "too_big") return `${where} is too long`;
  return `${where}: ${issue.message}`;
}
