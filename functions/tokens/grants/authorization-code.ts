/**
 * grant_type=authorization_code (RFC 6749 section 4.1.3, OIDC Core 3.1.3) with PKCE (RFC 7636
 * section 4.5-4.6). Public clients (token_endpoint_auth_method none) send their client_id;
 * confidential clients authenticate as at every other grant. The code is spent once, and only
 * by the client, redirect_uri and code_verifier it was issued for. Returns an access token, an
 * ID token (with the `openid` scope) and a refresh token whose family belongs to the browser
 * session, so logging out revokes it.
 */
import { createHash } from "node:crypto";
import type { Context } from "hono";
import type { AppEnv } from "../../http/env.js";
import { InvalidGrant, InvalidRequest, UnauthorizedClient } from "../../errors.js";
import type { Issuer } from "../../issuer.js";
import { constantTimeEqual } from "../../security/constant-time.js";
import { issueAccessToken, tokenResponse } from "../access-token.js";
import { issueIdToken } from "../id-token.js";
import type { TokenParams } from "./index.js";
import { requestHeader } from "../../http/request-header.js";

export const parameters = new Set(["code", "redirect_uri", "code_verifier", "client_id"]);

/** RFC 7636 section 4.1: 43-128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~". */
const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

export async function handler(issuer: Issuer, params: TokenParams, c: Context<AppEnv>): Promise<Record<string, unknown>> {
  const { client } = await issuer.clientAuth.authenticate({ authorization: requestHeader(c, "authorization"), ...params });
  if (!client.redirectUris?.length) throw new UnauthorizedClient("this client has no redirect URIs; it cannot use authorization_code");
  if (!params.code) throw new InvalidRequest("code is required");
  if (!params.redirect_uri) throw new InvalidRequest("redirect_uri is required (RFC 6749 4.1.3)");
  if (!params.code_verifier) throw new InvalidRequest("code_verifier is required (PKCE, RFC 7636 4.5)");
  if (!VERIFIER.test(params.code_verifier)) throw new InvalidGrant("code_verifier is malformed (RFC 7636 4.1)");
  const verifier = params.code_verifier;
  await issuer.keys.signingKey(); // 503 before the code is spent, not after

  const { grant, familyId, jti } = await issuer.codes.redeem(params.code, (g) => {
    if (g.clientId !== client.clientId) throw new InvalidGrant("the authorization code was issued to another client");
    if (g.redirectUri !== params.redirect_uri) throw new InvalidGrant("redirect_uri does not match the authorization request");
    // RFC 7636 section 4.6: BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge.
    if (!constantTimeEqual(createHash("sha256").update(verifier, "ascii").digest("base64url"), g.codeChallenge)) {
      throw new InvalidGrant("code_verifier does not match the code_challenge");
    }
  }, c.get("context"));

  const refreshToken = await issuer.refreshTokens.start(
    { sub: grant.sub, user: grant.user, aud: grant.aud, scope: grant.scope, clientId: client.clientId, sid: grant.sid },
    familyId,
  );
  if (!(await issuer.sessions.attachFamily(grant.sid, familyId))) {
    await issuer.refreshTokens.revokeFamily(familyId);
    throw new InvalidGrant("the sign-in session has ended");
  }
  const at = await issueAccessToken(issuer.keys, issuer.config, {
    sub: grant.sub,
    aud: grant.aud,
    scope: grant.scope,
    clientId: client.clientId,
    ttl: client.accessTokenTtl,
    sid: grant.sid,
    jti,
  });
  const idToken = grant.scope.includes("openid")
    ? await issueIdToken(issuer.keys, issuer.config, {
        clientId: client.clientId,
        sub: grant.sub,
        sid: grant.sid,
        authTime: grant.authTime,
        username: grant.username,
        scope: grant.scope,
        accessToken: at.token,
        nonce: grant.nonce,
      })
    : undefined;
  return { ...tokenResponse(at, refreshToken), ...(idToken ? { id_token: idToken } : {}) };
}
