/**
 * Verifies this issuer's own access tokens, for the routes that accept them (/validate,
 * /introspect, /revoke, /account/*): RS256 against the published key set (next, current and
 * previous), `typ: at+jwt` (RFC 9068 section 4), this issuer, a lifetime, and then the
 * revocation state. One place, so every route refuses the same tokens.
 *
 * @example
 *   const claims = await verifier.verifyActive(token); // throws InvalidToken
 */
import { createLocalJWKSet, jwtVerify, type JWTPayload } from "jose";
import type { Config } from "../config.js";
import type { KeyStore } from "../keys/key-store.js";
import type { Revocations } from "../revocations/revocations.js";
import { InvalidToken } from "../errors.js";

export interface AccessTokenClaims extends JWTPayload {
  iss: string;
  sub: string;
  exp: number;
  iat: number;
  jti?: string;
  sid?: string;
  client_id?: string;
  scope?: string;
}

/** The shape of a compact JWS; anything else is not an access token. */
export const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export class AccessTokenVerifier {
  #keySet: { body: string; keys: ReturnType<typeof createLocalJWKSet> } | undefined;

  constructor(
    private readonly config: Config,
    private readonly keys: KeyStore,
    private readonly revocations: Revocations,
  ) {}

  /** Signature, issuer, type and lifetime; not revocation. Throws InvalidToken. */
  async verify(token: string): Promise<AccessTokenClaims> {
    if (!JWT_SHAPE.test(token)) throw new InvalidToken("the token is invalid");
    const keys = await this.#localKeys(); // 503 when no key set can be loaded
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: this.config.issuer,
        algorithms: ["RS256"],
        typ: "at+jwt",
        requiredClaims: ["exp", "iat", "sub"],
      }));
    } catch (err) {
      throw new InvalidToken((err as { code?: string }).code === "ERR_JWT_EXPIRED" ? "the token has expired" : "the token is invalid");
    }
    for (const claim of ["jti", "sid", "client_id", "scope"] as const) {
      if (payload[claim] !== undefined && typeof payload[claim] !== "string") throw new InvalidToken("the token is invalid");
    }
    return payload as AccessTokenClaims;
  }

  /** `verify`, then the revocation state: a revoked token is as invalid as a forged one. */
  async verifyActive(token: string): Promise<AccessTokenClaims> {
    const claims = await this.verify(token);
    if (await this.revocations.check(claims)) throw new InvalidToken("the token has been revoked");
    return claims;
  }

  async #localKeys(): Promise<ReturnType<typeof createLocalJWKSet>> {
    const { body } = await this.keys.jwks();
    if (this.#keySet?.body !== body) this.#keySet = { body, keys: createLocalJWKSet(JSON.parse(body)) };
    return this.#keySet.keys;
  }
}
