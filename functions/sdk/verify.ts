/**
 * Verifies Latchkey access tokens the way an API Gateway JWT authorizer does: RS256 only, a
 * kid from the issuer's JWKS (found through discovery; cached, with a rate-limited refetch on
 * an unknown kid), iss, aud, exp/nbf/iat, and optionally required scopes. With
 * `checkRevocation`, it also asks the issuer's introspection endpoint whether the token has
 * been revoked (off by default: a signature check needs no network call).
 *
 * @example
 *   const claims = await verifyAccessToken(token, { issuer: "https://auth.example.com", audience: "https://api.example.com", requiredScopes: ["orders:read"] });
 */
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from "jose";
import { discover } from "./discovery.js";
import { LatchkeyError, type VerifyFailureReason } from "./errors.js";
import { assertActive, type RevocationCheck } from "./revocation.js";

export interface VerifyOptions {
  issuer: string;
  audience: string | string[];
  requiredScopes?: string[];
  /** Seconds of clock skew tolerated (default 0, as API Gateway). */
  clockTolerance?: number;
  /**
   * Refuse revoked tokens too, by RFC 7662 introspection as a client of the issuer. A
   * revocation reaches this verifier within the issuer's bound (README) plus `cacheSeconds`.
   */
  checkRevocation?: RevocationCheck;
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
    const reason = refusalReason(err);
    if (!reason) throw new LatchkeyError("discovery_failed", `could not fetch the issuer's keys from ${meta.jwks_uri}`, undefined, { cause: err });
    throw new LatchkeyError("invalid_token", REFUSALS[reason], 401, { cause: err, reason });
  }
  if (options.checkRevocation) await assertActive(token, payload.exp!, meta, options.checkRevocation, options.fetch ?? fetch);
  const granted = typeof payload.scope === "string" ? payload.scope.split(" ") : [];
  const missing = (options.requiredScopes ?? []).filter((s) => !granted.includes(s));
  if (missing.length) throw new LatchkeyError("insufficient_scope", `the token lacks scope ${missing.join(" ")}`, 403, { reason: "scope" });
  return payload as AccessTokenClaims;
}

/** Messages per reason: what is wrong, never the token or the values expected. */
const REFUSALS: Record<Exclude<VerifyFailureReason, "missing" | "scope" | "revoked">, string> = {
  malformed: "the token is malformed",
  signature: "the token's signature does not verify against the issuer's keys",
  expired: "the token has expired",
  not_yet_valid: "the token is not valid yet",
  issuer: "the token is from another issuer",
  audience: "the token is not for this audience",
};

/** Maps jose's errors to a reason; undefined when the failure is ours (fetching the JWKS), not the token's. */
function refusalReason(err: unknown): Exclude<VerifyFailureReason, "missing" | "scope" | "revoked"> | undefined {
  if (err instanceof joseErrors.JWTExpired) return "expired";
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    // RFC 7519 section 4.1: which registered claim failed decides the reason.
    switch (err.claim) {
      case "iss":
        return "issuer";
      case "aud":
        return "audience";
      case "nbf":
      case "iat":
        return err.reason === "missing" ? "malformed" : "not_yet_valid";
      default:
        return "malformed";
    }
  }
  if (
    err instanceof joseErrors.JWSSignatureVerificationFailed ||
    err instanceof joseErrors.JWKSNoMatchingKey ||
    err instanceof joseErrors.JWKSMultipleMatchingKeys ||
    err instanceof joseErrors.JOSEAlgNotAllowed
  ) {
    return "signature";
  }
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid || err instanceof joseErrors.JOSENotSupported) return "malformed";
  return undefined;
}
