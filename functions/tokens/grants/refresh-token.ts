/**
 * grant_type=refresh_token (RFC 6749 section 6), with rotation: the old token is spent, a new
 * one is returned, and reuse of a spent token revokes the family (RFC 9700 section 4.14.2).
 * The scope may be narrowed but never widened (RFC 6749 section 6). A disabled, deleted or
 * signed-out account's families are refused (invalid_grant).
 */
import type { Context } from "hono";
import type { AppEnv } from "../../http/env.js";
import type { RequestContext } from "../../log.js";
import { InvalidGrant, InvalidRequest, InvalidScope } from "../../errors.js";
import type { Issuer } from "../../issuer.js";
import { issueAccessToken, tokenResponse } from "../access-token.js";
import { parseScope } from "../scopes.js";
import { metrics } from "../../observability/metrics.js";
import { requestHeader } from "../../http/request-header.js";

export const parameters = new Set(["refresh_token", "scope"]);

export async function handler(
  issuer: Issuer,
  params: { refresh_token?: string | undefined; scope?: string | undefined; client_id?: string | undefined },
  /** Absent at /refresh (people who logged in at /login); families issued to a client refresh at /token only. */
  c?: Context<AppEnv>,
  /** The request's log context (at /token, the one `c` carries). */
  context: RequestContext | undefined = c?.get("context"),
): Promise<Record<string, unknown>> {
  if (!params.refresh_token) throw new InvalidRequest("refresh_token is required");
  const requested = parseScope(params.scope);
  await issuer.keys.signingKey(); // 503 before the refresh token is spent, not after
  const { token, family } = await issuer.refreshTokens.rotate(params.refresh_token, async (family) => {
    const widened = (requested ?? []).filter((s) => !family.scope.includes(s));
    if (widened.length) throw new InvalidScope(`scope exceeds the original grant: ${widened.join(" ")}`);
    // The person's account must still exist, be enabled, and not have ended this session
    // (password change or reset, sign-out everywhere, disable).
    await issuer.users.requireLiveSession(family.user, family.sub, family);
    if (family.clientId) {
      // RFC 6749 section 6: a refresh token is bound to its client; confidential clients authenticate.
      if (!c) throw new InvalidGrant("this refresh token was issued to a client; refresh it at /token");
      const { client } = await issuer.clientAuth.authenticate({ authorization: requestHeader(c, "authorization"), ...params });
      if (client.clientId !== family.clientId) throw new InvalidGrant("the refresh token was issued to another client");
    }
  }, context);
  const at = await issueAccessToken(issuer.keys, issuer.config, {
    sub: family.sub,
    aud: family.aud,
    scope: requested ?? family.scope,
    ...(family.clientId ? { clientId: family.clientId } : {}),
    sid: family.sid,
  });
  metrics.tokenIssued("refresh_token");
  return tokenResponse(at, token);
}
