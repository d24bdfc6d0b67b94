/**
 * What a client may put in a token it mints at POST /sign.
 *
 * - Server-set claims are always refused: the registered claims iss, iat, exp, nbf, jti
 *   (RFC 7519 section 4.1), client_id (RFC 9068 section 2.2), and aud (chosen through
 *   `audience`, within the client's allow-list).
 * - Authorization claims, which resource servers act on, are refused unless the client's
 *   registration lists the name as signable (`clients create --sign-claims roles,groups`):
 *   roles, groups, entitlements (RFC 9068 section 2.2.3.1, SCIM), cognito:groups, permissions,
 *   azp, cid, sid, auth_time, acr, amr, nonce, at_hash (OIDC Core sections 2 and 3.1.3.6),
 *   act, may_act (RFC 8693 section 4), cnf (RFC 7800).
 * - `scp` is never signable: API Gateway JWT authorizers match route scopes against `scp` as
 *   well as `scope`, and scope is only ever set through the checked `scope` claim.
 * - Anything else is application data (nested objects too), within the size limit.
 *
 * Names are matched case-insensitively, so `Roles` or `SCP` cannot slip past a consumer that
 * folds case.
 */
import { InvalidRequest } from "../errors.js";

export const SERVER_SET_CLAIMS = ["iss", "iat", "exp", "nbf", "jti", "client_id", "aud"] as const;

/** Claims a client may be registered to set at /sign (none by default). */
export const SIGNABLE_CLAIMS = [
  "roles", "groups", "cognito:groups", "permissions", "entitlements", "azp", "cid", "sid",
  "act", "may_act", "cnf", "auth_time", "acr", "amr", "nonce", "at_hash",
] as const;

const NEVER_SIGNABLE = new Set(["scp"]);
const SERVER_SET = new Set<string>(SERVER_SET_CLAIMS);
const AUTHORIZATION = new Set<string>(SIGNABLE_CLAIMS);

/** Throws 400 invalid_request naming the first claim this client may not set. */
export function checkSignableClaims(claims: Record<string, unknown>, signable: readonly string[] = []): void {
  const granted = new Set(signable.map((n) => n.toLowerCase()));
  for (const name of Object.keys(claims)) {
    const key = name.toLowerCase();
    if (SERVER_SET.has(key)) throw new InvalidRequest(`claim ${name} is set by the server${key === "aud" ? " (use audience)" : ""}`);
    if (NEVER_SIGNABLE.has(key)) throw new InvalidRequest(`claim ${name} cannot be signed; set scope, which is checked against the client's scopes`);
    if (AUTHORIZATION.has(key) && !granted.has(key)) {
      throw new InvalidRequest(`claim ${name} is an authorization claim this client is not registered to sign (--sign-claims)`);
    }
  }
}

/** Registration check: every name must be one of SIGNABLE_CLAIMS. */
export function checkSignClaimsRegistration(names: readonly string[]): void {
  for (const name of names) {
    if (!AUTHORIZATION.has(name)) {
      throw new InvalidRequest(`sign claim ${JSON.stringify(name)} is not one of ${SIGNABLE_CLAIMS.join(", ")}`);
    }
  }
}
