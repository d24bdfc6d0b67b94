/**
 * Token introspection (RFC 7662) for an authenticated client. An active access token is
 * described by its claims; a refresh token only to the client it was issued to (RFC 7662
 * section 2.2 lets the server decide what a caller may learn, and a refresh token is a
 * credential of that one client). Everything else — expired, forged, garbage, revoked by any
 * mark in the revocation state, a spent or revoked refresh token, another client's refresh
 * token — is `{active: false}` and nothing more (section 2.2).
 *
 * @example
 *   await introspect(issuer, client, { token }); // { active: true, sub, client_id, scope, aud, iss, exp, iat, token_type, sid }
 */
import type { Issuer } from "../issuer.js";
import type { Client } from "../clients/clients.js";
import { InvalidGrant, InvalidToken } from "../errors.js";
import { JWT_SHAPE } from "./verify-access-token.js";

export interface IntrospectionResponse {
  active: boolean;
  sub?: string;
  client_id?: string;
  scope?: string;
  aud?: string | string[];
  iss?: string;
  exp?: number;
  iat?: number;
  token_type?: string;
  sid?: string;
}

const INACTIVE: IntrospectionResponse = { active: false };

export async function introspect(issuer: Issuer, client: Client, params: { token: string; token_type_hint?: string | undefined }): Promise<IntrospectionResponse> {
  // The hint only orders the search (RFC 7662 section 2.1); the token's shape decides here.
  if (JWT_SHAPE.test(params.token)) return accessToken(issuer, params.token);
  return refreshToken(issuer, client, params.token);
}

async function accessToken(issuer: Issuer, token: string): Promise<IntrospectionResponse> {
  let claims;
  try {
    claims = await issuer.accessTokens.verifyActive(token);
  } catch (err) {
    if (err instanceof InvalidToken) return INACTIVE;
    throw err; // storage trouble is a 503, never a false "inactive" or "active"
  }
  return {
    active: true,
    sub: claims.sub,
    ...(claims.client_id !== undefined ? { client_id: claims.client_id } : {}),
    ...(claims.scope ? { scope: claims.scope } : {}),
    ...(claims.aud !== undefined ? { aud: claims.aud } : {}),
    iss: claims.iss,
    exp: claims.exp,
    iat: claims.iat,
    token_type: "Bearer",
    ...(claims.sid !== undefined ? { sid: claims.sid } : {}),
  };
}

async function refreshToken(issuer: Issuer, client: Client, token: string): Promise<IntrospectionResponse> {
  const family = await issuer.refreshTokens.current(token);
  if (!family || family.clientId !== client.clientId) return INACTIVE;
  try {
    await issuer.users.requireLiveSession(family.user, family.sub, family);
  } catch (err) {
    if (err instanceof InvalidGrant) return INACTIVE;
    throw err;
  }
  return {
    active: true,
    sub: family.sub,
    client_id: family.clientId,
    ...(family.scope.length ? { scope: family.scope.join(" ") } : {}),
    aud: family.aud,
    iss: issuer.config.issuer,
    exp: family.expiresAt,
    iat: family.createdAt,
    token_type: "refresh_token",
    ...(family.sid !== undefined ? { sid: family.sid } : {}),
  };
}
