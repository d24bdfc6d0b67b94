/**
 * API Gateway HTTP API (payload format 2.0) events in, the Hono app in between, Lambda proxy
 * results out. It replaces `hono/aws-lambda` (deprecated for removal in Hono 5), which on
 * every invocation wrapped the body in a web stream for `readBody` to read back and read each
 * answer back out of an undici `Response` body stream: about a fifth of a token's CPU beyond
 * the signature on the Lambda path (profile of 2026-11-24, `BENCH_LAMBDA_PROFILE`, issue 15).
 *
 * - The request is an `EventRequest`: URL, method and a header record, no body. The body goes
 *   to the app beside it, as the `body` binding, and `readBody` (body.ts) takes it from there.
 * - The routes that answer most (tokens, the JWKS and discovery, errors, /validate...) answer
 *   with `StringResponse`s (through `plainAnswer`): one remembers the string and header record
 *   it was given and turns into an undici `Response` only when something asks for more than
 *   its status, headers and text (the same idea as @hono/node-server's lightweight response,
 *   which the local server already uses). Other answers are Node's own `Response`.
 * - Neither touches Node's `Request`/`Response` globals until something needs undici: a token
 *   request never does, so a cold start does not load it (issue 15).
 *
 * Event shape: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 * (cookies arrive in `cookies`, go out in `cookies`; `isBase64Encoded` on either side).
 */
import type { Hono } from "hono";
import type { AppEnv } from "./env.js";
import { answerWith } from "./responses.js";

export interface HttpApiEvent {
  version: "2.0";
  rawPath: string;
  rawQueryString?: string;
  cookies?: string[];
  headers?: Record<string, string | undefined>;
  body?: string;
  isBase64Encoded?: boolean;
  requestContext: { domainName?: string; requestId?: string; http: { method: string; sourceIp?: string } };
}

export interface HttpApiResult {
  statusCode: number;
  headers: Record<string, string>;
  cookies?: string[];
  body: string;
  isBase64Encoded: boolean;
}

export function lambdaHttpHandler(app: Hono<AppEnv>) {
  answerWith(StringResponse as unknown as typeof Response);
  return async (event: HttpApiEvent, lambdaContext?: { awsRequestId?: string }): Promise<HttpApiResult> => {
    const headers = headerRecord(event);
    // A header undici would refuse (API Gateway passes what the client sent).
    if (!headers) return jsonResult(400, { error: "invalid_request", error_description: "the request has a malformed header" });
    const host = event.requestContext.domainName ?? event.headers?.host ?? "localhost";
    const query = event.rawQueryString ? `?${event.rawQueryString}` : "";
    const request = new EventRequest(`https://${host}${event.rawPath}${query}`, event.requestContext.http.method, headers);
    const body = event.body === undefined ? undefined : event.isBase64Encoded ? Buffer.from(event.body, "base64") : event.body;
    return toResult(await app.fetch(request as unknown as Request, { event, lambdaContext, body, headers }));
  };
}

/**
 * The event's headers as undici's `Headers` would hold them, in a plain record: names
 * lowercased, values percent-encoded beyond ASCII and trimmed of HTTP whitespace, the
 * `cookies` joined into `cookie` (a header of the same name wins, as before). Undefined when
 * undici would refuse one: a name that is not a token, a value with a CR, LF or NUL inside.
 * Routes read it through `requestHeader` (request-header.ts) without any `Headers` object.
 */
function headerRecord(event: HttpApiEvent): Record<string, string> | undefined {
  const record: Record<string, string> = Object.create(null); // a header may be named __proto__
  if (event.cookies?.length) record.cookie = event.cookies.join("; ");
  for (const name in event.headers) {
    const raw = event.headers[name];
    if (!raw) continue;
    const value = asciiOnly(raw).replace(HTTP_WHITESPACE_EDGES, "");
    if (!HEADER_NAME.test(name) || UNSAFE_VALUE.test(value)) return undefined;
    record[name.toLowerCase()] = value;
  }
  return record;
}

const HTTP_WHITESPACE_EDGES = /^[\t\n\r ]+|[\t\n\r ]+$/g;

const REAL = Symbol("the undici Request");

/**
 * The request the app sees: URL, method and headers from the event, no body (the adapter
 * hands the body over beside it). An undici `Request` and its `Headers` cost ~24 µs of a
 * token's CPU here (paired A/B, 2026-11-25, issue 15), and the token path reads only its URL,
 * method and a few headers (through `requestHeader`), so one is built only when something asks
 * for more: `headers`, `signal`, `clone()`... all answer from a real `Request` made on first
 * need from the same URL, method and header record (the same idea as @hono/node-server's
 * request, which the local server already uses).
 *
 * It is not an `instanceof Request`: that would need the `Request` global, and reading it
 * loads Node's undici, 36-50 ms of a cold start, which a token request otherwise never needs
 * (bench/README.md, 2026-12-07). Nothing in Hono or the app asks.
 */
class EventRequest {
  #real: Request | undefined;
  readonly #headers: Record<string, string>;

  constructor(
    readonly url: string,
    readonly method: string,
    headers: Record<string, string>,
  ) {
    this.#headers = headers;
  }

  get body(): null {
    return null;
  }

  get bodyUsed(): boolean {
    return false;
  }

  [REAL](): Request {
    if (!this.#real) {
      const headers = new Headers();
      for (const name of Object.keys(this.#headers)) headers.set(name, this.#headers[name]!);
      this.#real = new Request(this.url, { method: this.method, headers });
    }
    return this.#real;
  }
}
/** The Fetch standard's other `Request` members (https://fetch.spec.whatwg.org/#request-class and its Body mixin). */
const REQUEST_GETTERS = ["cache", "credentials", "destination", "duplex", "headers", "integrity", "keepalive", "mode", "redirect", "referrer", "referrerPolicy", "signal"];
const REQUEST_METHODS = ["arrayBuffer", "blob", "bytes", "clone", "formData", "json", "text"];
for (const key of REQUEST_GETTERS) {
  Object.defineProperty(EventRequest.prototype, key, { get(this: EventRequest) { return (this[REAL]() as unknown as Record<string, unknown>)[key]; }, configurable: true });
}
for (const key of REQUEST_METHODS) {
  Object.defineProperty(EventRequest.prototype, key, {
    value(this: EventRequest, ...args: unknown[]) { const real = this[REAL]() as unknown as Record<string, (...a: unknown[]) => unknown>; return real[key]!(...args); },
    configurable: true,
    writable: true,
  });
}

/** Header values reach us as the client sent them; undici takes bytes, so other characters are percent-encoded. */
function asciiOnly(value: string): string {
  return /[^\x00-\x7F]/.test(value) ? encodeURIComponent(value) : value;
}

async function toResult(res: Response): Promise<HttpApiResult> {
  const fast = plainResult(res);
  if (fast) return fast;
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  res.headers.forEach((value, name) => {
    if (name === "set-cookie") return;
    headers[name] = value;
  });
  if (res.headers.has("set-cookie")) cookies = res.headers.getSetCookie();
  const text = StringResponse.textOf(res);
  const binary = text === undefined && isBinary(headers["content-type"], headers["content-encoding"]);
  const body = text ?? (binary ? Buffer.from(await res.arrayBuffer()).toString("base64") : await res.text());
  return { statusCode: res.status, headers, ...(cookies ? { cookies } : {}), body, isBase64Encoded: binary };
}

/**
 * The result of a StringResponse whose headers are still the plain record it was made with
 * (functions/http/responses.ts `noStoreJson`), without building an undici `Headers`: names
 * lowercased, the text/plain default added as undici would. Undefined, for the general path
 * and undici's own checks, when anything in the record is not plainly a valid header: a name
 * that is not a token, a value with surrounding whitespace or a CR, LF or NUL, a name given
 * twice in different cases, a Set-Cookie.
 */
function plainResult(res: Response): HttpApiResult | undefined {
  const plain = StringResponse.plainOf(res);
  if (!plain) return undefined;
  const headers: Record<string, string> = {};
  for (const name in plain.headers) {
    const value = plain.headers[name];
    const lower = name.toLowerCase();
    if (typeof value !== "string" || !HEADER_NAME.test(name) || UNSAFE_VALUE.test(value) || value !== value.trim()) return undefined;
    if (lower === "set-cookie" || Object.hasOwn(headers, lower)) return undefined;
    headers[lower] = value;
  }
  if (plain.text === null) return { statusCode: plain.status, headers, body: "", isBase64Encoded: false };
  headers["content-type"] ??= "text/plain;charset=UTF-8";
  return { statusCode: plain.status, headers, body: plain.text, isBase64Encoded: false };
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const UNSAFE_VALUE = /[\0\r\n]/;

/** What API Gateway must carry as base64: anything that is not text (hono/aws-lambda's rule). */
function isBinary(contentType: string | undefined, contentEncoding: string | undefined): boolean {
  if (contentEncoding && !/^identity$/i.test(contentEncoding)) return true;
  return !!contentType && !/^text\/|[/+](json|xml|javascript)\s*(;|$)/i.test(contentType);
}

function jsonResult(statusCode: number, body: object): HttpApiResult {
  return { statusCode, headers: { "content-type": "application/json", "cache-control": "no-store" }, body: JSON.stringify(body), isBase64Encoded: false };
}

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * A `Response` whose body is a string (or nothing). Status, headers and the text are read
 * without undici; anything else (`body`, `text()`, `clone()`...) gets a real `Response`, built
 * once from the same status, text and current headers, so every caller sees a real one.
 * Anything it cannot hold (streams, buffers, a status text, an invalid status) is a real
 * `Response` from the start, so undici's own checks and errors apply unchanged.
 *
 * Routes make one through `plainAnswer` (responses.ts; `answerWith` below points it here);
 * Hono's own answers (`c.json`, `c.body`...) stay Node's `Response`, which the adapter reads
 * the general way. It is not installed as the global `Response`: on Node 22 redefining that
 * global loads undici (see EventRequest).
 */
export class StringResponse {
  #text: string | null = null;
  #status = 200;
  #headersInit: HeadersInit | undefined;
  #headers: Headers | undefined;
  #native: Response | undefined;

  constructor(body?: BodyInit | null, init?: ResponseInit) {
    const status = init?.status ?? 200;
    const simple =
      (body === undefined || body === null || typeof body === "string") &&
      init?.statusText === undefined &&
      Number.isInteger(status) && status >= 200 && status <= 599 &&
      !(NULL_BODY_STATUSES.has(status) && typeof body === "string");
    if (!simple) {
      this.#native = new Response(body, init);
      return;
    }
    this.#text = typeof body === "string" ? body : null;
    this.#status = status;
    this.#headersInit = init?.headers;
  }

  /**
   * Status, text (null: no body) and headers of `res` if it is a StringResponse that has not
   * become a real one, made with its headers as a plain record, and whose `headers` nobody has
   * asked for (so nothing was added to them since).
   */
  static plainOf(res: unknown): { status: number; text: string | null; headers: Record<string, unknown> } | undefined {
    if (typeof res !== "object" || res === null || !(#text in res)) return undefined;
    const own = res as StringResponse;
    const init = own.#headersInit;
    if (own.#native || own.#headers || typeof init !== "object" || init === null) return undefined;
    if (Object.getPrototypeOf(init) !== Object.prototype) return undefined; // a Headers, an array of pairs...
    return { status: own.#status, text: own.#text, headers: init as Record<string, unknown> };
  }

  /** The text `res` was made with, if it is a StringResponse that has not become a real one. */
  static textOf(res: unknown): string | undefined {
    if (typeof res !== "object" || res === null || !(#text in res)) return undefined;
    const own = res as StringResponse;
    return own.#native ? undefined : own.#text ?? "";
  }

  get status(): number {
    return this.#native ? this.#native.status : this.#status;
  }

  get ok(): boolean {
    const status = this.status;
    return status >= 200 && status <= 299;
  }

  get statusText(): string {
    return this.#native ? this.#native.statusText : "";
  }

  get headers(): Headers {
    if (this.#native) return this.#native.headers;
    if (!this.#headers) {
      this.#headers = new Headers(this.#headersInit);
      // As undici does for a string body.
      if (this.#text !== null && !this.#headers.has("content-type")) this.#headers.set("content-type", "text/plain;charset=UTF-8");
    }
    return this.#headers;
  }

  /** The real `Response`, made on first need from the current status, headers and text. */
  #real(): Response {
    this.#native ??= new Response(this.#text, { status: this.#status, headers: this.headers });
    return this.#native;
  }

  get type(): ResponseType { return this.#real().type; }
  get url(): string { return this.#real().url; }
  get redirected(): boolean { return this.#real().redirected; }
  get body(): ReadableStream<Uint8Array> | null { return this.#real().body; }
  get bodyUsed(): boolean { return this.#native ? this.#native.bodyUsed : false; }
  arrayBuffer(): Promise<ArrayBuffer> { return this.#real().arrayBuffer(); }
  blob(): Promise<Blob> { return this.#real().blob(); }
  formData(): Promise<FormData> { return this.#real().formData(); }
  json(): Promise<unknown> { return this.#real().json(); }
  text(): Promise<string> { return this.#real().text(); }
  clone(): Response { return this.#real().clone(); }
}
