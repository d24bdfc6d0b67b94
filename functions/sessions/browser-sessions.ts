/**
 * Browser sessions: what the hosted sign-in page leaves behind, so a second /authorize signs
 * the person in without the form (single sign-on, OIDC Core 3.1.2.3), and what RP-initiated
 * logout ends (OIDC RP-Initiated Logout 1.0 section 2).
 *
 * The cookie carries `lkb_<sid: 22 base64url chars><secret: 43 base64url chars>`; only the
 * SHA-256 digest of the whole value is stored. `sid` alone names the session in ID tokens and
 * is not a credential.
 *
 * Items (single table), both with a DynamoDB TTL at the absolute expiry:
 * - `SESSION#<sid>` / `SESSION`: sub, username, authTime, createdAt, lastSeenAt, expiresAt,
 *   tokenDigest, ended, familyIds (refresh-token families issued under it).
 * - `SUBJECT#<sub>` / `SESSION#<sid>`: the index revokeAllForSubject reads.
 * Absolute and idle lifetimes are enforced on read; TTL only cleans up, lazily.
 *
 * @example
 *   const { session, cookie } = await sessions.start(user);
 *   const again = await sessions.resume(cookie); // the same session, or undefined once ended or expired
 */
import { createHash, randomBytes } from "node:crypto";
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { Config } from "../config.js";
import type { AwsClients } from "../storage/aws.js";
import { isConditionalCheckFailed, nowSeconds } from "../storage/dynamo.js";
import { constantTimeEqual } from "../security/constant-time.js";
import type { RefreshTokens } from "../tokens/refresh-tokens.js";
import type { Revocations } from "../revocations/revocations.js";
import type { User } from "../users/users.js";
import { normalizeUsername } from "../users/usernames.js";
import { audit } from "../observability/audit.js";
import type { RequestContext } from "../log.js";

export interface BrowserSession {
  sid: string;
  sub: string;
  username: string;
  /** The username key (functions/users/usernames.ts), for the account checks refresh tokens get. */
  user: string;
  /** When the person last entered their password (OIDC `auth_time`). */
  authTime: number;
  createdAt: number;
  lastSeenAt: number;
  /** Absolute expiry. */
  expiresAt: number;
  ended: boolean;
  familyIds?: Set<string>;
}

const SHAPE = /^lkb_([A-Za-z0-9_-]{22})([A-Za-z0-9_-]{43})$/;
/** Write lastSeenAt at most this often, so SSO on a busy session is not one write per request. */
const TOUCH_EVERY_SECONDS = 60;

export class BrowserSessions {
  constructor(
    private readonly config: Config,
    private readonly aws: AwsClients,
    private readonly refreshTokens: RefreshTokens,
    private readonly revocations: Revocations,
  ) {}

  /** Starts a session for a person who has just proven their password; returns the cookie value. */
  async start(user: User): Promise<{ session: BrowserSession; cookie: string }> {
    const now = nowSeconds();
    const sid = randomBytes(16).toString("base64url");
    const cookie = `lkb_${sid}${randomBytes(32).toString("base64url")}`;
    const expiresAt = now + this.config.session.absoluteSeconds;
    const session: BrowserSession = { sid, sub: user.sub, username: user.username, user: normalizeUsername(user.username).key, authTime: now, createdAt: now, lastSeenAt: now, expiresAt, ended: false };
    await this.aws.ddb.send(
      new PutCommand({
        TableName: this.config.table,
        Item: { pk: `SUBJECT#${user.sub}`, sk: `SESSION#${sid}`, sid, ttl: expiresAt },
      }),
    );
    await this.aws.ddb.send(
      new PutCommand({
        TableName: this.config.table,
        Item: { pk: `SESSION#${sid}`, sk: "SESSION", ...session, tokenDigest: digestOf(cookie), ttl: expiresAt },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
    return { session, cookie };
  }

  /** The live session a cookie names, or undefined (unknown, wrong secret, ended, idle or past its absolute lifetime). */
  async resume(cookie: string | undefined): Promise<BrowserSession | undefined> {
    const sid = cookie ? SHAPE.exec(cookie)?.[1] : undefined;
    if (!sid) return undefined;
    const item = await this.#read(sid);
    if (!item || !constantTimeEqual(item.tokenDigest, digestOf(cookie!))) return undefined;
    const { tokenDigest: _d, ...session } = item;
    const now = nowSeconds();
    if (!isLive(session, now, this.config)) return undefined;
    if (now - session.lastSeenAt >= TOUCH_EVERY_SECONDS) {
      try {
        await this.aws.ddb.send(
          new UpdateCommand({
            TableName: this.config.table,
            Key: { pk: `SESSION#${sid}`, sk: "SESSION" },
            UpdateExpression: "SET lastSeenAt = :now",
            ConditionExpression: "ended = :false",
            ExpressionAttributeValues: { ":now": now, ":false": false },
          }),
        );
      } catch (err) {
        if (isConditionalCheckFailed(err)) return undefined; // ended meanwhile
        throw err;
      }
      session.lastSeenAt = now;
    }
    return session;
  }

  /**
   * The same person proved their password again (prompt=login, max_age): the session goes on
   * with a new auth_time. Undefined when it ended meanwhile.
   */
  async reauthenticate(session: BrowserSession): Promise<BrowserSession | undefined> {
    const now = nowSeconds();
    try {
      await this.aws.ddb.send(
        new UpdateCommand({
          TableName: this.config.table,
          Key: { pk: `SESSION#${session.sid}`, sk: "SESSION" },
          UpdateExpression: "SET authTime = :now, lastSeenAt = :now",
          ConditionExpression: "ended = :false",
          ExpressionAttributeValues: { ":now": now, ":false": false },
        }),
      );
    } catch (err) {
      if (isConditionalCheckFailed(err)) return undefined;
      throw err;
    }
    return { ...session, authTime: now, lastSeenAt: now };
  }

  /** A session by its id (from an ID token's `sid`), live or not. */
  async get(sid: string): Promise<BrowserSession | undefined> {
    if (!/^[A-Za-z0-9_-]{22}$/.test(sid)) return undefined;
    const item = await this.#read(sid);
    if (!item) return undefined;
    const { tokenDigest: _d, ...session } = item;
    return session;
  }

  /**
   * Records a refresh-token family issued under the session, so ending the session revokes it.
   * Returns false when the session has ended meanwhile (the caller must not hand the family out).
   */
  async attachFamily(sid: string, familyId: string): Promise<boolean> {
    try {
      await this.aws.ddb.send(
        new UpdateCommand({
          TableName: this.config.table,
          Key: { pk: `SESSION#${sid}`, sk: "SESSION" },
          UpdateExpression: "ADD familyIds :family",
          ConditionExpression: "attribute_exists(pk) AND ended = :false",
          ExpressionAttributeValues: { ":family": new Set([familyId]), ":false": false },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw err;
    }
  }

  /**
   * Ends a session and revokes every refresh-token family issued under it. Idempotent (the
   * audit record is written once, by the call that ended it). `reason`: logout, signed_in_again,
   * revoked (revokeAllForSubject).
   */
  async end(sid: string, reason = "logout", context?: RequestContext): Promise<void> {
    let families: Set<string> | undefined;
    let sub: string | undefined;
    let wasLive = false;
    try {
      const out = await this.aws.ddb.send(
        new UpdateCommand({
          TableName: this.config.table,
          Key: { pk: `SESSION#${sid}`, sk: "SESSION" },
          UpdateExpression: "SET ended = :true, endedAt = if_not_exists(endedAt, :now)",
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeValues: { ":true": true, ":now": nowSeconds() },
          ReturnValues: "ALL_OLD",
        }),
      );
      families = out.Attributes?.familyIds as Set<string> | undefined;
      sub = out.Attributes?.sub as string | undefined;
      wasLive = out.Attributes?.ended === false;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return;
      throw err;
    }
    if (wasLive) audit("session.ended", { sub, sid, reason }, context);
    // Families attached after this point are refused by attachFamily's condition. The access
    // tokens issued under the session carry its sid: /validate and /introspect refuse them now.
    for (const familyId of families ?? []) await this.refreshTokens.revokeFamily(familyId);
    await this.revocations.revokeSession(sid);
    if (sub) {
      await this.aws.ddb.send(new DeleteCommand({ TableName: this.config.table, Key: { pk: `SUBJECT#${sub}`, sk: `SESSION#${sid}` } }));
    }
  }

  /**
   * Ends every session of a person (account deletion, disable, reset, "sign out everywhere"),
   * or every one but `exceptSid` (a password change keeps the caller's session).
   */
  async revokeAllForSubject(sub: string, options: { exceptSid?: string | undefined; context?: RequestContext | undefined } = {}): Promise<number> {
    let ended = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.aws.ddb.send(
        new QueryCommand({
          TableName: this.config.table,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :session)",
          ExpressionAttributeValues: { ":pk": `SUBJECT#${sub}`, ":session": "SESSION#" },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        if (item.sid === options.exceptSid) continue; // a password change keeps the caller's session
        await this.end(item.sid as string, "revoked", options.context);
        ended++;
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return ended;
  }

  async #read(sid: string): Promise<(BrowserSession & { tokenDigest: string }) | undefined> {
    const out = await this.aws.ddb.send(
      new GetCommand({ TableName: this.config.table, Key: { pk: `SESSION#${sid}`, sk: "SESSION" }, ConsistentRead: true }),
    );
    if (!out.Item) return undefined;
    const { pk: _pk, sk: _sk, ttl: _ttl, endedAt: _e, ...rest } = out.Item;
    return rest as BrowserSession & { tokenDigest: string };
  }
}

/** Live: not ended, within its absolute lifetime, and used within the idle lifetime. */
export function isLive(session: BrowserSession, now: number, config: Pick<Config, "session">): boolean {
  return !session.ended && session.expiresAt > now && session.lastSeenAt + config.session.idleSeconds > now;
}

function digestOf(value: string): string {
  return createHash("sha256").update(value).digest("base64url");
}
