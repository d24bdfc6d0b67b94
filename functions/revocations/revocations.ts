/**
 * The revocation state resource servers can see: what /validate, /introspect and the SDK
 * verifier's `checkRevocation` refuse. One aggregate, one module: it owns these items' key
 * format and conditions; functions/revocations/rules.ts decides what a set of marks means.
 *
 * Items (single table), each with a DynamoDB TTL past the last moment it can matter (the
 * longest access-token lifetime after the revocation, plus clock skew):
 * - `REVOKED#jti#<jti>`       a revoked access token (RFC 7009), until the token's `exp`;
 * - `REVOKED#sid#<sid>`       a revoked session (logout, refresh-token reuse);
 * - `REVOKED#sub#<sub>`       `before` (+ `exceptSid`): the subject's tokens issued up to then;
 * - `REVOKED#client#<id>`     `before`: a disabled client's tokens issued up to then.
 *
 * Each warm instance caches what it read for `revocationCacheSeconds` (a miss as much as a
 * hit), so a revocation written anywhere is seen everywhere within that bound; a revocation
 * written by this instance is seen by it at once. Reads are strongly consistent.
 */
import { BatchGetCommand, GetCommand, PutCommand, type BatchGetCommandOutput } from "@aws-sdk/lib-dynamodb";
import type { Config } from "../config.js";
import type { AwsClients } from "../storage/aws.js";
import { isConditionalCheckFailed, nowSeconds } from "../storage/dynamo.js";
import { laterMark, revocationOf, type RevocableClaims, type RevocationMarks, type RevocationReason, type RevokedBefore } from "./rules.js";

/** Seconds of clock skew the marks outlive the tokens they concern by. */
const SKEW = 60;
const SK = "REVOKED";
/** Entries an instance keeps at most (each checked token adds up to four). */
const MAX_CACHED = 20_000;

type Kind = "jti" | "sid" | "sub" | "client";
type Item = Record<string, unknown>;

function keyOf(kind: Kind, id: string): { pk: string; sk: string } {
  return { pk: `REVOKED#${kind}#${id}`, sk: SK };
}

export class Revocations {
  #cache = new Map<string, { item: Item | undefined; loadedAt: number }>();

  constructor(
    private readonly config: Config,
    private readonly aws: AwsClients,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** Why this (verified) token is revoked, or undefined when it is not. */
  async check(claims: RevocableClaims): Promise<RevocationReason | undefined> {
    return revocationOf(claims, await this.marksFor(claims));
  }

  /** RFC 7009: one access token, until it expires. */
  async revokeToken(jti: string, exp: number): Promise<void> {
    await this.#put("jti", jti, { ttl: exp + SKEW });
  }

  /** One session's access tokens (a refresh-token family or a browser session). */
  async revokeSession(sid: string): Promise<void> {
    await this.#put("sid", sid, { ttl: nowSeconds() + this.config.maxAccessTokenTtlSeconds + SKEW });
  }

  /** Every token of `sub` issued at or before `mark.before`, except those of `mark.exceptSid`. */
  async revokeSubject(sub: string, mark: RevokedBefore): Promise<void> {
    await this.#raise("sub", sub, mark);
  }

  /** Every token a client obtained at or before `before` (the client was disabled). */
  async revokeClient(clientId: string, before: number): Promise<void> {
    await this.#raise("client", clientId, { before });
  }

  /**
   * A client enabled again: tokens it gets from now on are valid, those from before it was
   * disabled stay revoked (the mark is pulled back to `now - 1`, never below `disabledAt`).
   */
  async reinstateClient(clientId: string): Promise<void> {
    const key = keyOf("client", clientId);
    const now = nowSeconds();
    for (let attempt = 0; attempt < 5; attempt++) {
      const stored = await this.#read(key);
      if (!stored || (stored.before as number) < now) return;
      const before = Math.max(stored.disabledAt as number, now - 1);
      if (await this.#conditionalPut(key, { ...stored, before, version: (stored.version as number) + 1 }, stored.version as number)) return;
    }
    throw new Error("revocation mark kept changing; try again");
  }

  /** The marks that concern this token: one batched, consistent read of the uncached keys. */
  async marksFor(claims: RevocableClaims): Promise<RevocationMarks> {
    const wanted: [keyof RevocationMarks, { pk: string; sk: string }][] = [["subject", keyOf("sub", claims.sub)]];
    if (claims.jti !== undefined) wanted.push(["jti", keyOf("jti", claims.jti)]);
    if (claims.sid !== undefined) wanted.push(["sid", keyOf("sid", claims.sid)]);
    if (claims.client_id !== undefined) wanted.push(["client", keyOf("client", claims.client_id)]);
    const items = await this.#items(wanted.map(([, key]) => key));
    const marks: RevocationMarks = {};
    for (const [name, key] of wanted) {
      const item = items.get(key.pk);
      if (!item) continue;
      if (name === "jti" || name === "sid") marks[name] = true;
      else marks[name] = { before: item.before as number, ...(typeof item.exceptSid === "string" ? { exceptSid: item.exceptSid } : {}) };
    }
    return marks;
  }

  async #items(keys: { pk: string; sk: string }[]): Promise<Map<string, Item | undefined>> {
    const found = new Map<string, Item | undefined>();
    const now = this.nowMs();
    const maxAge = this.config.revocationCacheSeconds * 1000;
    if (this.#cache.size > MAX_CACHED) this.#evict(now, maxAge);
    let missing = keys.filter((k) => {
      const cached = this.#cache.get(k.pk);
      if (cached && now - cached.loadedAt < maxAge) {
        found.set(k.pk, cached.item);
        return false;
      }
      return true;
    });
    if (missing.length === 0) return found; // every key from the cache: the usual warm check
    // What the cache held for each key before asking: a mark this instance writes while the
    // read is in flight replaces that entry, and the read (which may predate the write) must
    // not then put the older state back over it.
    const before = new Map(missing.map((k) => [k.pk, this.#cache.get(k.pk)]));
    for (let attempt = 0; missing.length > 0; attempt++) {
      if (attempt === 5) throw Object.assign(new Error("revocation state could not be read"), { name: "ProvisionedThroughputExceededException" });
      const out: BatchGetCommandOutput = await this.aws.ddb.send(
        new BatchGetCommand({ RequestItems: { [this.config.table]: { Keys: missing, ConsistentRead: true } } }),
      );
      for (const item of out.Responses?.[this.config.table] ?? []) found.set(item.pk as string, item);
      const unprocessed = (out.UnprocessedKeys?.[this.config.table]?.Keys ?? []) as { pk: string; sk: string }[];
      const pending = new Set(unprocessed.map((k) => k.pk));
      for (const k of missing) {
        if (pending.has(k.pk)) continue;
        const item = found.get(k.pk);
        // An item TTL has not removed yet is as good as gone.
        const live = item && !(typeof item.ttl === "number" && item.ttl < nowSeconds()) ? item : undefined;
        found.set(k.pk, live);
        if (this.#cache.get(k.pk) === before.get(k.pk)) this.#cache.set(k.pk, { item: live, loadedAt: now });
      }
      missing = unprocessed;
      if (missing.length) await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
    }
    return found;
  }

  /** Drops what has gone stale; if that is not enough (a burst of distinct tokens), everything. */
  #evict(now: number, maxAge: number): void {
    for (const [key, entry] of this.#cache) if (now - entry.loadedAt >= maxAge) this.#cache.delete(key);
    if (this.#cache.size > MAX_CACHED) this.#cache.clear();
  }

  async #put(kind: Kind, id: string, fields: Item): Promise<void> {
    const key = keyOf(kind, id);
    const item = { ...key, ...fields, revokedAt: nowSeconds() };
    await this.aws.ddb.send(new PutCommand({ TableName: this.config.table, Item: item }));
    this.#cache.set(key.pk, { item, loadedAt: this.nowMs() });
  }

  /** Moves a "revoked before" mark forward (never back), with a version check against races. */
  async #raise(kind: "sub" | "client", id: string, mark: RevokedBefore): Promise<void> {
    const key = keyOf(kind, id);
    for (let attempt = 0; attempt < 5; attempt++) {
      const stored = await this.#read(key);
      const current = stored ? { before: stored.before as number, ...(typeof stored.exceptSid === "string" ? { exceptSid: stored.exceptSid } : {}) } : undefined;
      const next = laterMark(current, mark);
      if (current && next === current) return;
      const version = stored ? (stored.version as number) : 0;
      const item: Item = {
        ...key,
        before: next.before,
        ...(next.exceptSid !== undefined ? { exceptSid: next.exceptSid } : {}),
        ...(kind === "client" ? { disabledAt: nowSeconds() } : {}),
        version: version + 1,
        ttl: next.before + this.config.maxAccessTokenTtlSeconds + SKEW,
      };
      if (await this.#conditionalPut(key, item, stored ? version : undefined)) return;
    }
    throw new Error("revocation mark kept changing; try again");
  }

  async #read(key: { pk: string; sk: string }): Promise<Item | undefined> {
    const out = await this.aws.ddb.send(new GetCommand({ TableName: this.config.table, Key: key, ConsistentRead: true }));
    return out.Item;
  }

  /** Writes `item` if the stored version is still `version` (undefined: if none is stored). */
  async #conditionalPut(key: { pk: string; sk: string }, item: Item, version: number | undefined): Promise<boolean> {
    try {
      await this.aws.ddb.send(
        new PutCommand({
          TableName: this.config.table,
          Item: { ...item, ...key },
          ...(version === undefined
            ? { ConditionExpression: "attribute_not_exists(pk)" }
            : { ConditionExpression: "version = :v", ExpressionAttributeValues: { ":v": version } }),
        }),
      );
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw err;
    }
    this.#cache.set(key.pk, { item: { ...item, ...key }, loadedAt: this.nowMs() });
    return true;
  }
}
