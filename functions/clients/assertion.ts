/**
 * private_key_jwt client authentication (RFC 7523 section 3, RFC 7521 section 4.2, OIDC Core
 * section 9): a JWT signed with the client's key, iss = sub = client_id, a short exp, and a jti
 * that can be used once.
 *
 * Audience, per draft-ietf-oauth-rfc7523bis (which updates RFC 7523 section 3 after the
 * audience-injection attacks): `aud` must be a single JSON string, not an array, and must be
 * exactly this issuer's identifier or its token endpoint URL (simple string comparison, RFC 3986
 * section 6.2.1). An assertion minted for another endpoint or another server, or one that lists
 * several audiences, could have been obtained by that other party and is refused. An `iat` later
 * than now plus the clock skew is refused too: nothing honest is issued in the future.
 */
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  jwtVerify,
  type JWTVerifyGetKey,
} from "jose";
import type { Config } from "../config.js";
import type { AwsClients } from "../storage/aws.js";
import { isConditionalCheckFailed, nowSeconds } from "../storage/dynamo.js";
import { InvalidClient } from "../errors.js";
import type { Client } from "./clients.js";
import { jwksFetch } from "./jwks-uri.js";

export const JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
export const ASSERTION_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];
const CLOCK_SKEW = 30;

/** The client_id an assertion claims to come from (unverified: only to find the client). */
export function assertionClientId(assertion: string): string | undefined {
  try {
    const claims = decodeJwt(assertion);
    return typeof claims.iss === "string" && claims.iss === claims.sub ? claims.iss : undefined;
  } catch {
    return undefined;
  }
}

export class AssertionVerifier {
  #remote = new Map<string, JWTVerifyGetKey>();
  #fetch: ReturnType<typeof jwksFetch>;

  constructor(
    private readonly config: Config,
    private readonly aws: AwsClients,
  ) {
    this.#fetch = jwksFetch(config.jwksUri);
  }

  /** Verifies the assertion for this client and burns its jti; throws InvalidClient. */
  async verify(assertion: string, client: Client): Promise<void> {
    const keys = this.#keysOf(client);
    if (!keys) throw new InvalidClient("client has no keys for private_key_jwt");
    const iss = this.config.issuer;
    let payload;
    try {
      ({ payload } = await jwtVerify(assertion, keys, {
        issuer: client.clientId,
        subject: client.clientId,
        audience: [iss, `${iss}/token`],
        algorithms: ASSERTION_ALGORITHMS,
        clockTolerance: CLOCK_SKEW,
        requiredClaims: ["exp", "jti"],
      }));
    } catch (err) {
      throw new InvalidClient(`client assertion rejected: ${describe(err)}`);
    }
    if (typeof payload.aud !== "string") {
      throw new InvalidClient("client assertion aud must be one string: the issuer identifier or the token endpoint");
    }
    const now = nowSeconds();
    if (payload.iat !== undefined && payload.iat > now + CLOCK_SKEW) {
      throw new InvalidClient("client assertion iat is in the future");
    }
    const exp = payload.exp!;
    if (exp - now > this.config.assertionMaxAgeSeconds) {
      throw new InvalidClient(`client assertion must expire within ${this.config.assertionMaxAgeSeconds}s`);
    }
    if (payload.iat !== undefined && now - payload.iat > this.config.assertionMaxAgeSeconds + CLOCK_SKEW) {
      throw new InvalidClient("client assertion is too old");
    }
    const jti = payload.jti!;
    if (typeof jti !== "string" || jti.length === 0 || jti.length > 256) throw new InvalidClient("client assertion jti is invalid");
    // One use per jti (RFC 7523 3, item 7): the record outlives the assertion, then TTL removes it.
    const expiresAt = exp + CLOCK_SKEW;
    try {
      await this.aws.ddb.send(
        new PutCommand({
          TableName: this.config.table,
          Item: { pk: `JTI#${client.clientId}#${jti}`, sk: "JTI", ttl: expiresAt },
          // An expired record that TTL has not removed yet does not block (it cannot be replayed: exp passed).
          ConditionExpression: "attribute_not_exists(pk) OR #ttl < :now",
          ExpressionAttributeNames: { "#ttl": "ttl" },
          ExpressionAttributeValues: { ":now": now },
        }),
      );
    } catch (err) {
      if (isConditionalCheckFailed(err)) throw new InvalidClient("client assertion has already been used");
      throw err;
    }
  }

  #keysOf(client: Client): JWTVerifyGetKey | undefined {
    if (client.jwks) return createLocalJWKSet(client.jwks);
    if (!client.jwksUri) return undefined;
    let remote = this.#remote.get(client.jwksUri);
    if (!remote) {
      // Fetched only through jwksFetch: https to public addresses, 64 KiB at most (jwks-uri.ts).
      remote = createRemoteJWKSet(new URL(client.jwksUri), {
        timeoutDuration: 2000,
        cooldownDuration: 30_000,
        cacheMaxAge: 600_000,
        [customFetch]: this.#fetch,
      });
      this.#remote.set(client.jwksUri, remote);
    }
    return remote;
  }
}

function describe(err: unknown): string {
  const code = (err as { code?: string }).code;
  switch (code) {
    case "ERR_JWT_EXPIRED":
      return "expired";
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      return `claim ${(err as { claim?: string }).claim ?? ""} is invalid`.trim();
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return "signature does not verify";
    case "ERR_JWKS_NO_MATCHING_KEY":
      return "no matching key";
    case "ERR_JOSE_ALG_NOT_ALLOWED":
      return "algorithm not allowed";
    case "ERR_JWKS_URI_REFUSED":
    case "ERR_JWKS_TIMEOUT":
    case "ERR_JOSE_GENERIC":
      return "client keys could not be fetched";
    default:
      return "malformed";
  }
}
