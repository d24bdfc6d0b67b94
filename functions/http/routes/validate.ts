/**
 * GET /validate, for nginx `auth_request`: checks `Authorization: Bearer <token>` against this
 * issuer's published keys and answers 200 with identity headers (X-Auth-Subject,
 * X-Auth-Client-Id, X-Auth-Scope), 401 with WWW-Authenticate (RFC 6750 section 3), or 403
 * insufficient_scope when the `scope` / audience requirements are not met.
 *
 * An audience is always required (RFC 9068 section 4: a resource server must check that the
 * token was issued for it): `?audience=` or the operator's LATCHKEY_VALIDATE_AUDIENCE; with
 * neither, 400. Without it, a token minted for any other API would pass.
 *
 * Revoked tokens (functions/revocations/) get the same 401 as invalid ones.
 */
import type { Hono } from "hono";
import type { Issuer } from "../../issuer.js";
import type { AppEnv } from "../env.js";
import { InsufficientScope, InvalidRequest, InvalidToken } from "../../errors.js";
import { parseScope } from "../../tokens/scopes.js";
import { readQuery } from "../body.js";
import { ValidateQuery } from "../schemas.js";
import { requestHeader } from "../request-header.js";
import { plainAnswer } from "../responses.js";

export function validateRoutes(app: Hono<AppEnv>, issuer: Issuer): void {
  app.get("/validate", async (c) => {
    const query = readQuery(c, ValidateQuery);
    const audience = query.audience ?? issuer.config.validateAudience;
    if (!audience) throw new InvalidRequest("audience is required: pass ?audience= or configure LATCHKEY_VALIDATE_AUDIENCE");
    const header = requestHeader(c, "authorization") ?? "";
    const match = /^Bearer\s+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)\s*$/i.exec(header);
    if (!match) throw new InvalidToken("a bearer token is required");
    // Signature, lifetime, then the revocation state (revoked tokens get 401 like forged ones).
    const payload = await issuer.accessTokens.verifyActive(match[1]!);
    // Whole scope tokens (RFC 6749 section 3.3): `read` never satisfies `rea`.
    const granted = typeof payload.scope === "string" ? payload.scope.split(" ").filter(Boolean) : [];
    const required = parseScope(query.scope) ?? [];
    const missing = required.filter((s) => !granted.includes(s));
    if (missing.length) throw new InsufficientScope(`the token lacks scope ${missing.join(" ")}`, required.join(" "));
    const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (!audiences.includes(audience)) {
      throw new InsufficientScope("the token is not issued for this audience", required.join(" "));
    }
    const body = {
      active: true,
      sub: payload.sub,
      ...(typeof payload.client_id === "string" ? { client_id: payload.client_id } : {}),
      ...(granted.length ? { scope: granted.join(" ") } : {}),
      aud: payload.aud,
      exp: payload.exp,
    };
    // The identity headers nginx passes upstream (auth_request_set $x $upstream_http_x_auth_*).
    return plainAnswer(c, 200, JSON.stringify(body), {
      "Content-Type": "application/json",
      "Cache-Control": "no-store",
      "X-Auth-Subject": headerSafe(payload.sub!),
      ...(typeof payload.client_id === "string" ? { "X-Auth-Client-Id": headerSafe(payload.client_id) } : {}),
      "X-Auth-Scope": granted.map(headerSafe).join(" "),
    });
  });
}

/**
 * An identity value as a header can carry it: `%` and every character outside visible ASCII
 * (space, CR, LF, NUL, anything non-ASCII) become RFC 3986 percent-encoded UTF-8 bytes, so
 * `decodeURIComponent` gives the claim back; ordinary ids pass through unchanged. (A lone
 * surrogate, which has no UTF-8 form, is encoded as U+FFFD.)
 */
export function headerSafe(value: string): string {
  return value.replace(/[^\x21-\x24\x26-\x7E]/gu, (ch) =>
    [...Buffer.from(ch, "utf8")].map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join(""),
  );
}
