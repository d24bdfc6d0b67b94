/**
 * Refresh tokens: opaque 256-bit random values, stored only as SHA-256 digests, grouped in a
 * RefreshTokenFamily per login. Every use rotates the token; presenting a token that was
 * already rotated revokes the whole family (RFC 9700 section 4.14.2, refresh token rotation).
 *
 * Items (single table):
 * - `RTFAM#<familyId>` / `FAMILY`: sub, aud, scope, currentDigest, uses, expiresAt, revoked, ttl
 * - `RT#<digest>` / `RT`: familyId, ttl (one per token ever issued, so reuse can be recognised)
 *
 * Expiry is enforced on read; DynamoDB TTL only cleans up, lazily.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
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

/** Refresh tokens look like `lkr_<43 base64url chars>` so secret scanners can spot them. */
const PREFIX = "lkr_";
const SHAPE = /^lkr_[A-Za-z0-9_-]{43}$/;

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
    const familyId = randomUUID();
    const token = newToken();
    const digest = digestOf(token);
    const expiresAt = now + this.config.refreshFamilyTtlSeconds;
    await this.#putTokenRecord(digest, familyId, expiresAt);
    await this.aws.ddb.send(
      new PutCommand({
        TableName: this.config.table,
        Item: {
          pk: `RTFAM#${familyId}`,
          sk: "FAMILY",
          familyId,
          ...grant,
          currentDigest: digest,
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
    const family = await this.#familyOf(token);
    const digest = digestOf(token);
    if (family.currentDigest !== digest) {
      // A rotated token came back: someone holds a copy. Revoke every token of the family.
      await this.#revokeFamily(family.familyId);
      log.warn("refresh token reuse detected; family revoked", { familyId: family.familyId, sub: family.sub });
      throw new InvalidGrant("refresh token has already been used; the session has been revoked");
    }
    if (family.uses >= this.config.refreshMaxUses) {
      throw new InvalidGrant("refresh token family reached its maximum number of uses; log in again");
    }
    check?.(family);
    const next = newToken();
    const nextDigest = digestOf(next);
    // Record the successor first: if the swap below fails, the record points at a family whose
    // currentDigest is not this digest, so the orphan can never be used.
    await this.#putTokenRecord(nextDigest, family.familyId, family.expiresAt);
    try {
      await this.aws.ddb.send(
        new UpdateCommand({
          TableName: this.config.table,
          Key: { pk: `RTFAM#${family.familyId}`, sk: "FAMILY" },
          UpdateExpression: "SET currentDigest = :next, uses = uses + :one",
          ConditionExpression: "currentDigest = :current AND revoked = :false AND expiresAt > :now",
          ExpressionAttributeValues: {
            ":next": nextDigest,
            ":current": digest,
            ":one": 1,
            ":false": false,
            ":now": nowSeconds(),
          },
        }),
      );
    } catch (err) {
      if (isConditionalCheckFailed(err)) throw new InvalidGrant("refresh token has already been used");
      throw err;
    }
    return { token: next, family: { ...family, currentDigest: nextDigest, uses: family.uses + 1 } };
  }

  /** RFC 7009: revokes the family of a refresh token; unknown tokens are silently ignored. */
  async revoke(token: string): Promise<boolean> {
    const familyId = await this.#familyIdOf(token);
    if (!familyId) return false;
    await this.#revokeFamily(familyId);
    return true;
  }

  async #familyIdOf(token: string): Promise<string | undefined> {
    if (!SHAPE.test(token)) return undefined;
    const out = await this.aws.ddb.send(
      new GetCommand({ TableName: this.config.table, Key: { pk: `RT#${digestOf(token)}`, sk: "RT" } }),
    );
    const item = out.Item;
    if (!item || (item.ttl as number) <= nowSeconds()) return undefined;
    return item.familyId as string;
  }

  async #familyOf(token: string): Promise<RefreshTokenFamily> {
    const familyId = await this.#familyIdOf(token);
    if (!familyId) throw new InvalidGrant("refresh token is invalid or expired");
    const out = await this.aws.ddb.send(
      new GetCommand({
        TableName: this.config.table,
        Key: { pk: `RTFAM#${familyId}`, sk: "FAMILY" },
        ConsistentRead: true,
      }),
    );
    const family = out.Item as (RefreshTokenFamily & { pk: string }) | undefined;
    if (!family || family.revoked || family.expiresAt <= nowSeconds()) {
      throw new InvalidGrant("refresh token is invalid, expired or revoked");
    }
    return family;
  }

  async #putTokenRecord(digest: string, familyId: string, expiresAt: number): Promise<void> {
    await this.aws.ddb.send(
      new PutCommand({
        TableName: this.config.table,
        Item: { pk: `RT#${digest}`, sk: "RT", familyId, ttl: expiresAt },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
  }

  async #revokeFamily(familyId: string): Promise<void> {
    await this.aws.ddb.send(
      new UpdateCommand({
        TableName: this.config.table,
        Key: { pk: `RTFAM#${familyId}`, sk: "FAMILY" },
        UpdateExpression: "SET revoked = :true, revokedAt = :now",
        ConditionExpression: "attribute_exists(pk)",
        ExpressionAttributeValues: { ":true": true, ":now": nowSeconds() },
      }),
    ).catch((err: unknown) => {
      if (!isConditionalCheckFailed(err)) throw err;
    });
  }
}

function newToken(): string {
  return PREFIX + randomBytes(32).toString("base64url");
}
