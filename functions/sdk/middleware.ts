/**
 * Verifier middleware for Hono and for Node's http / Express-style handlers. Rejects with 401
 * (invalid or missing token) or 403 (insufficient scope), with the RFC 6750 section 3
 * `WWW-Authenticate` header and a JSON error body, and hands the verified claims on.
 *
 * @example Hono
 *   app.use("/orders/*", latchkeyAuth({ issuer, audience: "https://api.example.com", requiredScopes: ["orders:read"] }));
 *   app.get("/orders", (c) => c.json({ caller: c.get("latchkeyClaims").sub }));
 * @example Express / node:http
 *   app.get("/orders", requireAccessToken({ issuer, audience }), (req, res) => res.json({ caller: req.latchkeyClaims.sub }));
 */
import type { MiddlewareHandler } from "hono";
import type { IncomingMessage, ServerResponse } from "node:http";
import { LatchkeyError } from "./errors.js";
import { verifyAccessToken, type AccessTokenClaims, type VerifyOptions } from "./verify.js";

const BEARER = /^Bearer\s+(\S+)\s*$/i;

function challenge(err: LatchkeyError, requiredScopes: string[] = []): { status: 401 | 403; header: string; body: string } {
  const code = err.code === "insufficient_scope" ? "insufficient_scope" : "invalid_token";
  // The reason leads the description, so clients and logs can match on it (e.g. "expired: ...").
  const description = `${err.reason ? `${err.reason}: ` : ""}${err.message}`.replace(/["\\]/g, "'");
  const scope = code === "insufficient_scope" && requiredScopes.length ? `, scope="${requiredScopes.join(" ")}"` : "";
  // RFC 6750 section 3.1: no error code when the request had no token at all.
  const header = err.reason === "missing"
    ? 'Bearer realm="api"'
    : `Bearer realm="api", error="${code}", error_description="${description}"${scope}`;
  return { status: code === "insufficient_scope" ? 403 : 401, header, body: JSON.stringify({ error: code, error_description: description }) };
}

async function check(authorization: string | undefined, options: VerifyOptions): Promise<AccessTokenClaims> {
  const match = authorization ? BEARER.exec(authorization) : null;
  if (!match) throw new LatchkeyError("invalid_token", "a bearer token is required", 401, { reason: "missing" });
  return verifyAccessToken(match[1]!, options);
}

function asLatchkeyError(err: unknown): LatchkeyError {
  if (err instanceof LatchkeyError && (err.code === "invalid_token" || err.code === "insufficient_scope")) return err;
  // Discovery or key-fetch failures: the caller is not at fault, but we cannot verify.
  throw err;
}

/** Hono middleware: sets `c.get("latchkeyClaims")`. */
export function latchkeyAuth(options: VerifyOptions): MiddlewareHandler<{ Variables: { latchkeyClaims: AccessTokenClaims } }> {
  return async (c, next) => {
    try {
      c.set("latchkeyClaims", await check(c.req.header("authorization"), options));
    } catch (err) {
      const { status, header, body } = challenge(asLatchkeyError(err), options.requiredScopes);
      return c.body(body, status, { "WWW-Authenticate": header, "Content-Type": "application/json", "Cache-Control": "no-store" });
    }
    await next();
  };
}

export type RequestWithClaims = IncomingMessage & { latchkeyClaims?: AccessTokenClaims };

/** Express-style `(req, res, next)` middleware for node:http servers: sets `req.latchkeyClaims`. */
export function requireAccessToken(options: VerifyOptions) {
  return (req: RequestWithClaims, res: ServerResponse, next: (err?: unknown) => void): void => {
    check(req.headers.authorization, options).then(
      (claims) => {
        req.latchkeyClaims = claims;
        next();
      },
      (err: unknown) => {
        let e: LatchkeyError;
        try {
          e = asLatchkeyError(err);
        } catch (other) {
          next(other);
          return;
        }
        const { status, header, body } = challenge(e, options.requiredScopes);
        res.writeHead(status, { "WWW-Authenticate": header, "Content-Type": "application/json", "Cache-Control": "no-store" });
        res.end(body);
      },
    );
  };
}
