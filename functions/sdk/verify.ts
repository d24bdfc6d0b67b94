/**
 * Verifies Latchkey access tokens the way an API Gateway JWT authorizer does: RS256 only, a
 * kid from the issuer's JWKS (found through discovery; cached, with a rate-limited refetch on
 * an unknown kid), iss, aud, exp/nbf/iat, and optionally required scopes.
 *
 * @example
 *   const claims = await verifyAccessToken(token, { issuer: "https://auth.example.com", audience: "https://api.example.com", requiredScopes: ["orders:read"] });
 */
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from "jose";
import { discover } from "./discovery.js";
import { LatchkeyError } from "./errors.js";

export interface VerifyOptions {
  issuer: string;
  audience: string | string[];
  requiredScopes?: string[];
  /** Seconds of clock skew tolerated (default 0, as API Gateway). */
  clockTolerance?: number;
  fetch?: typeof fetch;
}

export interface AccessTokenClaims extends JWTPayload {
  sub: string;
  scope?: string;
  client_id?: string;
}

const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

function keySetFor(jwksUri: string): ReturnType<typeof createRemoteJWKSet> {
  let set = keySets.get(jwksUri);
  if (!set) {
    // cooldownDuration: at most one refetch per 30 s for unknown kids (rate limit).
    set = createRemoteJWKSet(new URL(jwksUri), { cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000, timeoutDuration: 1500 });
    keySets.set(jwksUri, set);
  }
  return set;
}

export async function verifyAccessToken(token: string, options: VerifyOptions): Promise<AccessTokenClaims> {
  const meta = await discover(options.issuer, options.fetch);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keySetFor(meta.jwks_uri), {
      issuer: meta.issuer,
      audience: options.audience,
      algorithms: ["RS256"],
      requiredClaims: ["exp", "iat", "sub"],
      clockTolerance: options.clockTolerance ?? 0,
    }));
  } catch (err) {
    const expired = err instanceof joseErrors.JWTExpired;
    throw new LatchkeyError("invalid_token", expired ? "the token has expired" : "the token is invalid", 401, { cause: err });
  }
  const granted = typeof payload.scope === "string" ? payload.scope.split(" ") : [];
  const missing = (options.requiredScopes ?? []).filter((s) => !granted.includes(s));
  if (missing.length) throw new LatchkeyError("insufficient_scope", `the token lacks scope ${missing.join(" ")}`, 403);
  return payload as AccessTokenClaims;
}
