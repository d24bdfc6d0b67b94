/**
 * ID tokens (OpenID Connect Core 1.0 section 2): RS256 with the same keys as access tokens,
 * header `typ: JWT`. Claims: iss, sub (the access token's), aud = client_id, exp, iat,
 * auth_time, nonce (when the request had one), azp (section 2: when aud differs from the
 * client, which never happens here with a single audience, so it is set only then), at_hash
 * (section 3.3.2.11, the left half of SHA-256 of the access token), sid (Front-Channel Logout
 * section 3 names the session) and preferred_username with the `profile` scope (section 5.4).
 *
 * @example
 *   const idToken = await issueIdToken(keys, config, { clientId, sub, sid, authTime, accessToken, scope, username });
 */
import { createHash } from "node:crypto";
import type { Config } from "../config.js";
import type { KeyStore } from "../keys/key-store.js";
import { signJws } from "./access-token.js";

export interface IdTokenRequest {
  clientId: string;
  sub: string;
  sid: string;
  authTime: number;
  username: string;
  scope: string[];
  accessToken: string;
  nonce?: string | undefined;
}

export async function issueIdToken(keys: KeyStore, config: Config, req: IdTokenRequest): Promise<string> {
  const key = await keys.signingKey();
  const now = Math.floor(Date.now() / 1000);
  const header = Buffer.from(JSON.stringify({ alg: "RS256", typ: "JWT", kid: key.kid })).toString("base64url");
  const payload: Record<string, unknown> = {
    iss: config.issuer,
    sub: req.sub,
    aud: req.clientId,
    exp: now + config.accessTokenTtlSeconds,
    iat: now,
    auth_time: req.authTime,
    ...(req.nonce !== undefined ? { nonce: req.nonce } : {}),
    at_hash: atHash(req.accessToken),
    sid: req.sid,
    ...(req.scope.includes("profile") ? { preferred_username: req.username } : {}),
  };
  return signJws(header, payload, key.privateKey);
}

/** OIDC Core 3.1.3.6: base64url of the left-most half of the SHA-256 hash of the access token. */
export function atHash(accessToken: string): string {
  return createHash("sha256").update(accessToken, "ascii").digest().subarray(0, 16).toString("base64url");
}
