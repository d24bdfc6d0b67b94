/**
 * Refresh tokens: opaque values carrying 256 random bits, stored only as SHA-256 digests,
 * grouped in a RefreshTokenFamily per login. Every use rotates the token; presenting a token
 * of the family that is not its current one revokes the whole family (RFC 9700 section
 * 4.14.2, refresh token rotation).
 *
 * A token is `lkr_<family id: 22 base64url chars><secret: 43 base64url chars>`. Carrying the
 * family id lets a refresh cost one read and one conditional write (no per-token records):
 * only holders of one of the family's tokens know its id, so a token that names the family
 * but is not the current one is a spent (or stolen) token, and the family is revoked.
 *
 * Item (single table): `RTFAM#<familyId>` / `FAMILY`: sub, aud, scope, currentDigest, uses,
 * expiresAt, revoked, ttl. Expiry is enforced on read; DynamoDB TTL only cleans up, lazily.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { Config } from "../config.js";
import type { AwsClients } from "../storage/aws.js";
import { isConditionalCheckFailed, nowSeconds } from "../storage/dynamo.js";
import { InvalidGrant } from "../errors.js";
import { log } from "../log.js";

export interface RefreshTokenFamily {
  familyId: string;
  sub: string;
  aud: string;
  scope: string[];
  clientId?: string;
  currentDigest: string;
  uses: number;
  createdAt: number;
  expiresAt: number;
  revoked: boolean;
}

export interface Grant {
  sub: string;
  aud: string;
  scope: string[];
  clientId?: string;
}

/** `lkr_` (so secret scanners can spot them) + family id + secret. */
const SHAPE = /^lkr_([A-Za-z0-9_-]{22})([A-Za-z0-9_-]{43})$/;

export function digestOf(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}

export class RefreshTokens {
  constructor(
    private readonly config: Config,
    private readonly aws: AwsClients,
  ) {}

  /** Starts a new family (at login) and returns its first refresh token. */
  async start(grant: Grant): Promise<string> {
    const now = nowSeconds();
    const familyId = randomBytes(16).toString("base64url");
    const token = newToken(familyId);
    const expiresAt = now + this.config.refreshFamilyTtlSeconds;
    await this.aws.ddb.send(
      new PutCommand({
        TableName: this.config.table,
        Item: {
          pk: `RTFAM#${familyId}`,
          sk: "FAMILY",
          familyId,
          ...grant,
          currentDigest: digestOf(token),
          uses: 0,
          createdAt: now,
          expiresAt,
          revoked: false,
          ttl: expiresAt,
        },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
    return token;
  }

  /**
   * Exchanges a refresh token for its successor. Exactly one of any number of concurrent
   * exchanges of the same token succeeds (conditional write on currentDigest).
   */
  async rotate(
    token: string,
    /** Runs before the token is spent; throw to refuse without rotating. */
    check?: (family: RefreshTokenFamily) => void,
  ): Promise<{ token: string; family: RefreshTokenFamily }> {
    const familyId = familyIdOf(token);
    if (!familyId) throw new InvalidGrant("refresh token is invalid or expired");
    const family = await this.#family(familyId);
    if (!family || family.revoked || family.expiresAt <= nowSeconds()) {
      throw new InvalidGrant("refresh token is invalid, expired or revoked");
    }
    const digest = digestOf(token);
    if (!sameDigest(family.currentDigest, digest)) {
      // A token of this family that is not the current one: someone holds a spent copy.
      await this.#revokeFamily(familyId);
      log.warn("refresh token reuse detected; family revoked", { familyId, sub: family.sub });
      throw new InvalidGrant("refresh token has already been used; the session has been revoked");
    }
    if (family.uses >= this.config.refreshMaxUses) {
      throw new InvalidGrant("refresh token family reached its maximum number of uses; log in again");
    }
    check?.(family);
    const next = newToken(familyId);
    const nextDigest = digestOf(next);
    try {
      await this.aws.ddb.send(
        new UpdateCommand({
          TableName: this.config.table,
          Key: { pk: `RTFAM#${familyId}`, sk: "FAMILY" },
          UpdateExpression: "SET currentDigest = :next, uses = uses + :one",
          ConditionExpression: "currentDigest = :current AND revoked = :false AND expiresAt > :now",
          ExpressionAttributeValues: { ":next": nextDigest, ":current": digest, ":one": 1, ":false": false, ":now": nowSeconds() },
        }),
      );
    } catch (err) {
      // A concurrent exchange of the same token won: this one is a replay of a spent token.
      if (isConditionalCheckFailed(err)) throw new InvalidGrant("refresh token has already been used");
      throw err;
    }
    return { token: next, family: { ...family, currentDigest: nextDigest, uses: family.uses + 1 } };
  }

  /** RFC 7009: revokes the family a refresh token belongs to; unknown tokens are ignored. */
  async revoke(token: string): Promise<boolean> {
    const familyId = familyIdOf(token);
    if (!familyId) return false;
    // Holding any token of the family (current or spent) is enough to end the session.
    return this.#revokeFamily(familyId);
  }

  async #family(familyId: string): Promise<RefreshTokenFamily | undefined> {
    const out = await this.aws.ddb.send(
      new GetCommand({ TableName: this.config.table, Key: { pk: `RTFAM#${familyId}`, sk: "FAMILY" }, ConsistentRead: true }),
    );
    return out.Item as RefreshTokenFamily | undefined;
  }

  async #revokeFamily(familyId: string): Promise<boolean> {
    try {
      await this.aws.ddb.send(
        new UpdateCommand({
          TableName: this.config.table,
          Key: { pk: `RTFAM#${familyId}`, sk: "FAMILY" },
          UpdateExpression: "SET revoked = :true, revokedAt = :now",
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeValues: { ":true": true, ":now": nowSeconds() },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw err;
    }
  }
}

function newToken(familyId: string): string {
  return `lkr_${familyId}${randomBytes(32).toString("base64url")}`;
}

function familyIdOf(token: string): string | undefined {
  return SHAPE.exec(token)?.[1];
}

function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
