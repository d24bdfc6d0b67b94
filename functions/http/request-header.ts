/**
 * Reading a request header: the one way the app does it. The value is what Hono's
 * `c.req.header(name)` gives (undici's `Headers.get`); on Lambda it comes from the adapter's
 * header record (lambda-adapter.ts), made from the event, so that no undici `Request` or
 * `Headers` is built for it: ~24 µs of a token's CPU there (paired A/B, 2026-11-25, issue 15).
 * Elsewhere it is `c.req.header`: on the local server @hono/node-server's request headers
 * already answer from node's parsed headers without building `Headers`.
 *
 * @example
 *   const authorization = requestHeader(c, "authorization");
 */
import type { Context } from "hono";
import type { AppEnv } from "./env.js";

/** `name` in lowercase. */
export function requestHeader(c: Context<AppEnv>, name: string): string | undefined {
  const record = c.env?.headers;
  if (record) return record[name];
  return c.req.header(name);
}
