/**
 * Access tokens: RS256 JWTs per RFC 9068 (header `typ: at+jwt`), signed with Node's crypto and
 * a cached KeyObject. On a server the callback form of `crypto.sign` runs RSA on libuv's thread
 * pool, so signing uses both cores and does not block the event loop. A Lambda instance serves
 * one request at a time, so there it signs inline (`setSigningMode`): nothing waits on the loop,
 * and the pool's hand-off (queue, futex wake-ups, completion callback) is CPU for nothing.
 *
 * @example
 *   const { token, expiresIn } = await issueAccessToken(keys, config, { sub: "u1", aud: "api", scope: "read" });
 */
import { randomUUID, sign, type KeyObject } from "node:crypto";
import type { Config } from "../config.js";
import type { KeyStore } from "../keys/key-store.js";

export interface AccessTokenRequest {
  sub: string;
  aud: string | string[];
  scope: string[];
  clientId?: string;
  /** The session the token comes from (an opaque id, never a refresh-token family id). */
  sid?: string | undefined;
  /** Seconds; capped at config.maxAccessTokenTtlSeconds. */
  ttl?: number;
  /** A token id chosen in advance (the authorization code records it so a replay can revoke it). */
  jti?: string;
  /** Extra claims (never overriding iss, iat, exp, nbf, jti; `sid` overrides a claimed sid). */
  claims?: Record<string, unknown>;
}

export interface IssuedAccessToken {
  token: string;
  expiresIn: number;
  jti: string;
  scope: string;
}

const SERVER_SET = new Set(["iss", "iat", "exp", "nbf", "jti"]);

export async function issueAccessToken(
  keys: KeyStore,
  config: Config,
  req: AccessTokenRequest,
): Promise<IssuedAccessToken> {
  const key = keys.signingKeyIfReady() ?? (await keys.signingKey());
  const now = Math.floor(Date.now() / 1000);
  const expiresIn = Math.min(req.ttl ?? config.accessTokenTtlSeconds, config.maxAccessTokenTtlSeconds);
  const jti = req.jti ?? randomUUID();
  const scope = req.scope.join(" ");
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(req.claims ?? {})) if (!SERVER_SET.has(k)) extra[k] = v;
  const payload = {
    ...extra,
    iss: config.issuer,
    sub: req.sub,
    aud: req.aud,
    exp: now + expiresIn,
    iat: now,
    nbf: now,
    jti,
    ...(req.clientId ? { client_id: req.clientId } : {}),
    ...(req.sid ? { sid: req.sid } : {}),
    ...(scope ? { scope } : {}),
  };
  const signingInput = `${key.encodedHeader}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}`;
  const signature = await rs256(Buffer.from(signingInput), key.privateKey);
  return { token: `${signingInput}.${signature.toString("base64url")}`, expiresIn, jti, scope };
}

/** RS256 compact JWS of `payload` under an already-encoded header (ID tokens share the signer). */
export async function signJws(encodedHeader: string, payload: Record<string, unknown>, privateKey: KeyObject): Promise<string> {
  const signingInput = `${encodedHeader}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}`;
  const signature = await rs256(Buffer.from(signingInput), privateKey);
  return `${signingInput}.${signature.toString("base64url")}`;
}

/** RFC 6749 section 5.1 token response body. */
export function tokenResponse(at: IssuedAccessToken, refreshToken?: string): Record<string, unknown> {
  return {
    access_token: at.token,
    token_type: "Bearer",
    expires_in: at.expiresIn,
    ...(refreshToken ? { refresh_token: refreshToken } : {}),
    ...(at.scope ? { scope: at.scope } : {}),
  };
}

/** Where the RSA signature runs (see the module comment). */
export type SigningMode = "thread-pool" | "inline";
let signingMode: SigningMode = "thread-pool";

/** Process-wide: the Lambda entry sets "inline" (one request per instance at a time). */
export function setSigningMode(mode: SigningMode): void {
  signingMode = mode;
}

function rs256(input: Buffer, key: KeyObject): Promise<Buffer> {
  if (signingMode === "inline") return Promise.resolve(sign("sha256", input, key));
  return new Promise((resolve, reject) => sign("sha256", input, key, (err, sig) => (err ? reject(err) : resolve(sig))));
}
