/**
 * grant_type=client_credentials (RFC 6749 section 4.4). The client authenticates; requested
 * scopes must be on its allow-list (none requested gives all of them); the audience comes
 * from `audience` or RFC 8707 `resource` and must be on its allow-list. No refresh token is
 * issued (RFC 6749 section 4.4.3).
 */
import type { Context } from "hono";
import { InvalidRequest, UnauthorizedClient } from "../../errors.js";
import type { Issuer } from "../../issuer.js";
import { issueAccessToken, tokenResponse } from "../access-token.js";
import { grantAudience, grantScopes, parseScope } from "../scopes.js";
import type { TokenParams } from "./index.js";
import { metrics } from "../../observability/metrics.js";
import { requestHeader } from "../../http/request-header.js";

export const parameters = new Set(["scope", "audience", "resource"]);

export async function handler(issuer: Issuer, params: TokenParams, c: Context): Promise<Record<string, unknown>> {
  // A cold instance loads the signing key while the client authenticates (cached once loaded;
  // a failure here surfaces again, as a 503, from issueAccessToken).
  if (!issuer.keys.signingKeyIfReady()) issuer.keys.signingKey().catch(() => undefined);
  const { client } = await issuer.clientAuth.authenticate({ authorization: requestHeader(c, "authorization"), ...params });
  // RFC 6749 section 4.4: client_credentials is for confidential clients only.
  if (client.auth === "none") throw new UnauthorizedClient("a public client cannot use client_credentials");
  const scope = grantScopes(parseScope(params.scope), client.scopes, client.scopes);
  const aud = grantAudience(requestedAudience(params), client.audiences);
  const at = await issueAccessToken(issuer.keys, issuer.config, {
    sub: client.clientId,
    clientId: client.clientId,
    aud,
    scope,
    ttl: client.accessTokenTtl,
  });
  metrics.tokenIssued("client_credentials", client.clientId);
  return tokenResponse(at);
}

/** `audience` (common extension) or `resource` (RFC 8707); both must agree when both are sent. */
export function requestedAudience(params: { audience?: string | undefined; resource?: string | undefined }): string | undefined {
  if (params.audience && params.resource && params.audience !== params.resource) {
    throw new InvalidRequest("audience and resource name different targets");
  }
  return params.audience ?? params.resource;
}
