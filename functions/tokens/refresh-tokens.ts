/**
 * Refresh tokens: opaque values carrying 256 random bits, stored only as SHA-256 digests,
 * grouped in a RefreshTokenFamily per login. Every use rotates the token; presenting a token
 * the family issued that is not its current one revokes the whole family (RFC 9700 section
 * 4.14.2, refresh token rotation).
 *
 * A token is `lkr_<family id: 22><nonce: 43><tag: 22>` (base64url). The family id lets a
 * refresh cost one read and one conditional write (no per-token records). The tag is an
 * HMAC-SHA-256 (truncated to 128 bits) of family id and nonce under the family's own random
 * `tokenKey`, so the family can tell a token it issued (current or spent) from one made up
 * around a family id that leaked: only an issued token counts as reuse at /refresh or revokes
 * the family at /revoke (RFC 7009 section 2.2: an invalid token is ignored). A table reader
 * learns the key but still not the current token: its nonce is random and stored only as part
 * of a digest. Logs carry `familyRef` (a short hash), never the family id itself.
 *
 * Item (single table): `RTFAM#<familyId>` / `FAMILY`: sub, user, sid, aud, scope, tokenKey,
 * currentDigest, uses, expiresAt, revoked, ttl. Expiry is enforced on read; DynamoDB TTL only
 * cleans up, lazily.
 *
 * `sid` is the session id access tokens carry: 128 random bits of its own, not derived from
 * the family id, so neither a token nor a log line reveals the family id (which, with the
 * family record, is what a refresh presents). Revoking a family also revokes its `sid` in the
 * revocation state, so its access tokens stop passing at /validate and /introspect.
 */
import { createHash, createHmac, randomBytes } from "node:crypto";
import { GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { Config } from "../config.js";
import type { AwsClients } from "../storage/aws.js";
import { isConditionalCheckFailed, nowSeconds } from "../storage/dynamo.js";
import { InvalidGrant } from "../errors.js";
import { log, type RequestContext } from "../log.js";
import { constantTimeEqual } from "../security/constant-time.js";
import { audit } from "../observability/audit.js";
import { metrics } from "../observability/metrics.js";
import type { Revocations } from "../revocations/revocations.js";

export interface RefreshTokenFamily {
  familyId: string;
  sub: string;
  aud: string;
  scope: string[];
  clientId?: string;
  /** base64url of 32 random bytes: the key of the tags on this family's tokens. */
  tokenKey: string;
  /** The session id access tokens of this family carry (absent on families from before sids). */
  sid?: string;
  /** The username key of the person whose session this is (functions/users/usernames.ts). */
  user?: string;
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
  /** The session id its access tokens carry (`newSessionId()`). */
  sid?: string;
  user?: string;
}

/** `lkr_` (so secret scanners can spot them) + family id + nonce + tag. */
const SHAPE = /^lkr_([A-Za-z0-9_-]{22})([A-Za-z0-9_-]{43})([A-Za-z0-9_-]{22})$/;

export function digestOf(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}

/** What logs say instead of a family id: 12 base64url characters of its SHA-256 (72 bits). */
export function familyRef(familyId: string): string {
  return createHash("sha256").update(familyId).digest("base64url").slice(0, 12);
}

export class RefreshTokens {
  constructor(
    private readonly config: Config,
    private readonly aws: AwsClients,
    private readonly revocations: Pick<Revocations, "revokeSession">,
    private readonly now: () => number = nowSeconds,
  ) {}

  /**
   * Starts a new family (at login) and returns its first refresh token. A caller may choose the
   * family id in advance (see newFamilyId); a family revoked under that id before it started
   * (revokeFamily) can then never start: the conditional put fails with invalid_grant.
   */
  async start(grant: Grant, familyId = newFamilyId()): Promise<string> {
    const now = this.now();
    const tokenKey = randomBytes(32).toString("base64url");
    const token = newToken(familyId, tokenKey);
    const expiresAt = now + this.config.refreshFamilyTtlSeconds;
    await this.aws.ddb.send(
      new PutCommand({
        TableName: this.config.table,
        Item: {
          pk: `RTFAM#${familyId}`,
          sk: "FAMILY",
          familyId,
          ...grant,
          tokenKey,
          currentDigest: digestOf(token),
          uses: 0,
          createdAt: now,
          expiresAt,
          revoked: false,
          ttl: expiresAt,
        },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    ).catch((err: unknown) => {
      if (isConditionalCheckFailed(err)) throw new InvalidGrant("the grant has been revoked");
      throw err;
    });
    return token;
  }

  /**
   * Revokes a family by id, whether or not it has started yet: a revocation that arrives first
   * leaves a revoked record behind, so the family can never start (used when an authorization
   * code is replayed, RFC 6749 section 4.1.2, and when a browser session ends).
   */
  async revokeFamily(familyId: string): Promise<void> {
    const now = nowSeconds();
    await this.aws.ddb.send(
      new UpdateCommand({
        TableName: this.config.table,
        Key: { pk: `RTFAM#${familyId}`, sk: "FAMILY" },
        UpdateExpression: "SET revoked = :true, revokedAt = :now, #ttl = if_not_exists(#ttl, :ttl)",
        ExpressionAttributeNames: { "#ttl": "ttl" },
        ExpressionAttributeValues: { ":true": true, ":now": now, ":ttl": now + this.config.refreshFamilyTtlSeconds },
      }),
    );
  }

  /**
   * Exchanges a refresh token for its successor. Exactly one of any number of concurrent
   * exchanges of the same token succeeds (conditional write on currentDigest).
   */
  async rotate(
    token: string,
    /** Runs before the token is spent; throw to refuse without rotating. */
    check?: (family: RefreshTokenFamily) => void | Promise<void>,
    context?: RequestContext,
  ): Promise<{ token: string; family: RefreshTokenFamily }> {
    const parts = partsOf(token);
    if (!parts) throw new InvalidGrant("refresh token is invalid or expired");
    const { familyId } = parts;
    const family = await this.#family(familyId);
    // A made-up token around a real family id is just invalid: it must not end the session.
    if (!family || !issuedBy(family, parts) || family.revoked || family.expiresAt <= this.now()) {
      throw new InvalidGrant("refresh token is invalid, expired or revoked");
    }
    const digest = digestOf(token);
    if (!constantTimeEqual(digest, family.currentDigest)) {
      // A token this family issued that is not its current one: someone holds a spent copy.
      // Reported by the one request whose write revoked the family (never the id itself).
      if (await this.#revokeFamily(familyId)) {
        log.warn("refresh token reuse detected; family revoked", { familyRef: familyRef(familyId), sid: family.sid, sub: family.sub }, context);
        audit("refresh.reuse_detected", { sub: family.sub, ...(family.clientId ? { clientId: family.clientId } : {}) }, context);
        metrics.refreshReuseDetected();
      }
      throw new InvalidGrant("refresh token has already been used; the session has been revoked");
    }
    if (family.uses >= this.config.refreshMaxUses) {
      throw new InvalidGrant("refresh token family reached its maximum number of uses; log in again");
    }
    await check?.(family);
    const next = newToken(familyId, family.tokenKey);
    const nextDigest = digestOf(next);
    try {
      await this.aws.ddb.send(
        new UpdateCommand({
          TableName: this.config.table,
          Key: { pk: `RTFAM#${familyId}`, sk: "FAMILY" },
          UpdateExpression: "SET currentDigest = :next, uses = uses + :one",
          ConditionExpression: "currentDigest = :current AND revoked = :false AND expiresAt > :now",
          ExpressionAttributeValues: { ":next": nextDigest, ":current": digest, ":one": 1, ":false": false, ":now": this.now() },
        }),
      );
    } catch (err) {
      // A concurrent exchange of the same token won: this one is a replay of a spent token.
      if (isConditionalCheckFailed(err)) throw new InvalidGrant("refresh token has already been used");
      throw err;
    }
    return { token: next, family: { ...family, currentDigest: nextDigest, uses: family.uses + 1 } };
  }

  /**
   * The family whose current token this is, when it is live (issued by the family, not
   * revoked, not expired), for introspection: no side effects, so a spent token is just
   * inactive here.
   */
  async current(token: string): Promise<RefreshTokenFamily | undefined> {
    const parts = partsOf(token);
    if (!parts) return undefined;
    const family = await this.#family(parts.familyId);
    if (!family || !issuedBy(family, parts) || family.revoked || family.expiresAt <= this.now()) return undefined;
    return constantTimeEqual(digestOf(token), family.currentDigest) ? family : undefined;
  }

  /**
   * RFC 7009: revokes the family a refresh token belongs to. Holding any token the family
   * issued (current or spent) is enough to end the session; anything else is ignored.
   */
  async revoke(token: string): Promise<boolean> {
    const parts = partsOf(token);
    if (!parts) return false;
    const family = await this.#family(parts.familyId);
    if (!family || !issuedBy(family, parts)) return false;
    return this.#revokeFamily(parts.familyId);
  }

  async #family(familyId: string): Promise<RefreshTokenFamily | undefined> {
    const out = await this.aws.ddb.send(
      new GetCommand({ TableName: this.config.table, Key: { pk: `RTFAM#${familyId}`, sk: "FAMILY" }, ConsistentRead: true }),
    );
    return out.Item as RefreshTokenFamily | undefined;
  }

  /**
   * True for the one call that revoked the family; false if unknown or already revoked. That
   * call also revokes the family's session in the revocation state (its access tokens).
   */
  async #revokeFamily(familyId: string): Promise<boolean> {
    try {
      const out = await this.aws.ddb.send(
        new UpdateCommand({
          TableName: this.config.table,
          Key: { pk: `RTFAM#${familyId}`, sk: "FAMILY" },
          UpdateExpression: "SET revoked = :true, revokedAt = :now",
          ConditionExpression: "attribute_exists(pk) AND revoked = :false",
          ExpressionAttributeValues: { ":true": true, ":false": false, ":now": this.now() },
          ReturnValues: "ALL_NEW",
        }),
      );
      const sid = out.Attributes?.sid;
      if (typeof sid === "string") await this.revocations.revokeSession(sid);
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw err;
    }
  }
}

/** A new session id (`sid`): 128 random bits, base64url; unrelated to any family id. */
export function newSessionId(): string {
  return randomBytes(16).toString("base64url");
}

interface TokenParts {
  familyId: string;
  nonce: string;
  tag: string;
}

/** A fresh family id (128 random bits). */
export function newFamilyId(): string {
  return randomBytes(16).toString("base64url");
}

function newToken(familyId: string, tokenKey: string): string {
  const nonce = randomBytes(32).toString("base64url");
  return `lkr_${familyId}${nonce}${tagOf(tokenKey, familyId, nonce)}`;
}

function tagOf(tokenKey: string, familyId: string, nonce: string): string {
  return createHmac("sha256", Buffer.from(tokenKey, "base64url")).update(`${familyId}.${nonce}`).digest().subarray(0, 16).toString("base64url");
}

function partsOf(token: string): TokenParts | undefined {
  const m = SHAPE.exec(token);
  return m ? { familyId: m[1]!, nonce: m[2]!, tag: m[3]! } : undefined;
}

/** Whether this family issued the token: its tag verifies under the family's key. */
function issuedBy(family: RefreshTokenFamily, parts: TokenParts): boolean {
  if (typeof family.tokenKey !== "string") return false;
  return constantTimeEqual(parts.tag, tagOf(family.tokenKey, parts.familyId, parts.nonce));
}
