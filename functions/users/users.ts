/**
 * People: the user aggregate. Registration, password login, and the account state that
 * decides whether a person's sessions still count. Passwords are hashed with argon2id at
 * OWASP's parameters (m=19456 KiB, t=2, p=1), through a per-process admission gate (see
 * password-hashing.ts) so password traffic cannot starve token signing. Unknown users are verified against a dummy hash
 * so an unknown username, a wrong password and a disabled account cost the same time and give
 * the same answer.
 *
 * Items (single table):
 * - `USER#<username key>` / `USER`: sub, username, passwordHash, createdAt, disabled,
 *   passwordChangedAtMs, sessionsRevokedAt (+ survivingSid): every session (refresh-token
 *   family, browser session) created at or before `sessionsRevokedAt`, except `survivingSid`,
 *   is over (rules in functions/revocations/rules.ts);
 * - `SUB#<sub>` / `SUB`: the username key, so a token's `sub` finds its account. An index
 *   item that points at a user with another sub (deleted, name registered again) is stale and
 *   ignored.
 * - `SKELETON#<sha256(skeleton)>` / `SKELETON`: the key and sub holding a UTS #39 confusable
 *   skeleton, so a lookalike of an existing name is refused like a case variant. It is claimed
 *   with a conditional write before the user is written and released if that write fails (a
 *   single TransactWriteItems would be tidier, but dynalite, which local mode and the default
 *   test backend run on, has no transactions). A claim whose user is missing (a crash between
 *   the writes, or a removed account) is taken over by the next registration once it is older
 *   than a minute.
 */
import { createHash, randomUUID } from "node:crypto";
import { DeleteCommand, GetCommand, PutCommand, ScanCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { Config } from "../config.js";
import type { AwsClients } from "../storage/aws.js";
import { isConditionalCheckFailed, nowSeconds } from "../storage/dynamo.js";
import { Conflict, InvalidCredentials, InvalidGrant, InvalidRequest, UsernameTaken } from "../errors.js";
import { coveredBy, secondsToWait } from "../revocations/rules.js";
import { checkPassword } from "./password-policy.js";
import { normalizeUsername, checkNewUsername, type Username } from "./usernames.js";
import { skeleton } from "./confusables.js";
import type { LoginThrottle } from "./login-throttle.js";
import { audit } from "../observability/audit.js";
import type { RequestContext } from "../log.js";
import { metrics } from "../observability/metrics.js";
import { PasswordHashing, type HashingPlace } from "./password-hashing.js";

/** How long a skeleton claim without its user is presumed in flight rather than abandoned. */
const CLAIM_GRACE_SECONDS = 60;

export interface User {
  sub: string;
  username: string;
}

/** A user as stored (never leaves the service as is: it holds the password hash). */
export interface Account extends User {
  /** The username key (lower-cased NFKC), the item's key. */
  key: string;
  passwordHash: string;
  createdAt: number;
  disabled: boolean;
  passwordChangedAtMs?: number | undefined;
  sessionsRevokedAt?: number | undefined;
  survivingSid?: string | undefined;
}

/** A session as far as the account state is concerned. */
export interface SessionRef {
  sid?: string | undefined;
  /** Whole seconds. */
  createdAt: number;
}

const SUB_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** True when a session of this account has been ended by the account's state (pure). */
export function sessionEnded(account: Pick<Account, "disabled" | "sessionsRevokedAt" | "survivingSid">, session: SessionRef): boolean {
  if (account.disabled) return true;
  if (account.sessionsRevokedAt === undefined) return false;
  return coveredBy({ before: account.sessionsRevokedAt, exceptSid: account.survivingSid }, session.createdAt, session.sid);
}

export class Users {
  #dummyHash: Promise<string> | undefined;
  readonly hashing: PasswordHashing;

  constructor(
    private readonly config: Config,
    private readonly aws: AwsClients,
    private readonly throttle: LoginThrottle,
  ) {
    this.hashing = new PasswordHashing(config.passwordHashing);
  }

  /** Creates a user; 400 for a broken rule, 409 when the name, a case variant or a lookalike is taken. */
  async register(rawUsername: string, password: string, context?: RequestContext): Promise<User> {
    const username = normalizeUsername(rawUsername);
    const skeleton = await checkNewUsername(username);
    await checkPassword(password, username.display, this.config.password);
    const hash = await this.hashPassword(password);
    const user: User = { sub: randomUUID(), username: username.display };
    await this.#claimSkeleton(skeleton, username.key, user.sub);
    // The index first: a user is never visible without it (a failed put leaves a stale index, which lookups ignore).
    await this.#index(user.sub, username.key);
    try {
      await this.aws.ddb.send(
        new PutCommand({
          TableName: this.config.table,
          Item: { pk: `USER#${username.key}`, sk: "USER", ...user, passwordHash: hash, createdAt: nowSeconds(), indexed: true },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
    } catch (err) {
      await this.#unindex(user.sub).catch(() => undefined);
      await this.#releaseSkeleton(skeleton, user.sub).catch(() => undefined); // else reclaimed after the grace period
      if (isConditionalCheckFailed(err)) throw new UsernameTaken("that username is already taken");
      throw err;
    }
    audit("user.registered", { sub: user.sub, username: user.username }, context);
    return user;
  }

  /** Claims a skeleton for `sub`; 409 when a user (or a registration in flight) holds it. */
  async #claimSkeleton(skeleton: string, key: string, sub: string): Promise<void> {
    const itemKey = skeletonKey(skeleton);
    const now = nowSeconds();
    const claim = (condition: { ConditionExpression: string; ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Record<string, unknown> }) =>
      this.aws.ddb.send(new PutCommand({ TableName: this.config.table, Item: { ...itemKey, key, sub, createdAt: now }, ...condition }));
    try {
      await claim({ ConditionExpression: "attribute_not_exists(pk)" });
      return;
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
    }
    const taken = new UsernameTaken("that username, or one that looks the same, is already taken");
    const held = (await this.aws.ddb.send(new GetCommand({ TableName: this.config.table, Key: itemKey, ConsistentRead: true }))).Item;
    if (!held) throw taken; // released a moment ago by a registration that lost; let the caller retry
    const holder = await this.aws.ddb.send(
      new GetCommand({ TableName: this.config.table, Key: { pk: `USER#${held.key as string}`, sk: "USER" }, ConsistentRead: true }),
    );
    if (holder.Item || now - (held.createdAt as number) < CLAIM_GRACE_SECONDS) throw taken;
    try {
      // Only the abandoned claim we inspected is replaced, never one written meanwhile.
      await claim({ ConditionExpression: "#sub = :held", ExpressionAttributeNames: { "#sub": "sub" }, ExpressionAttributeValues: { ":held": held.sub } });
    } catch (err) {
      if (isConditionalCheckFailed(err)) throw taken;
      throw err;
    }
  }

  async #releaseSkeleton(skeleton: string, sub: string): Promise<void> {
    await this.aws.ddb.send(
      new DeleteCommand({
        TableName: this.config.table,
        Key: skeletonKey(skeleton),
        ConditionExpression: "#sub = :sub",
        ExpressionAttributeNames: { "#sub": "sub" },
        ExpressionAttributeValues: { ":sub": sub },
      }),
    );
  }

  /**
   * Verifies a username and password; throttled per username; one 401 for every failure
   * (unknown user, wrong password, disabled account).
   */
  async authenticate(
    rawUsername: string,
    password: string,
    purpose: "login" | "password_check" = "login",
    context?: RequestContext,
  ): Promise<Account> {
    // A place at the hashing gate before any storage work: a login refused for capacity (503)
    // has read nothing and reserved no attempt against the username's lockout.
    const place = this.hashing.enter();
    try {
      return await this.#authenticate(place, rawUsername, password, purpose, context);
    } finally {
      place.release();
    }
  }

  async #authenticate(
    place: HashingPlace,
    rawUsername: string,
    password: string,
    purpose: "login" | "password_check",
    context: RequestContext | undefined,
  ): Promise<Account> {
    let username: Username | undefined;
    try {
      username = normalizeUsername(rawUsername);
    } catch {
      username = undefined; // a name that cannot exist is handled exactly like an unknown one
    }
    const throttleKey = username?.key ?? rawUsername.slice(0, 128).toLowerCase();
    // The attempt is reserved before the password is checked: concurrent guesses cannot overrun the limit.
    const attempt = await this.throttle.reserve(throttleKey);
    const item = username ? await this.#item(username.key) : undefined;
    const hash = (item?.passwordHash as string | undefined) ?? (await this.dummyHash());
    const ok = await this.hashing.verify(hash, password.normalize("NFKC"), place);
    // A disabled account fails exactly like a wrong password (same answer, same lockout).
    if (!item || !ok || item.disabled === true) {
      // Only a name that exists is recorded: an unknown "username" may be a mistyped password.
      const who = { ...(item ? { sub: item.sub as string, username: item.username as string } : {}), ...(purpose === "login" ? {} : { purpose }) };
      audit("user.login_failed", { ...who, reason: !item ? "unknown_user" : !ok ? "wrong_password" : "disabled" }, context);
      if (attempt.last) {
        audit("user.locked", { ...who, lockoutSeconds: this.config.loginThrottle.lockoutSeconds }, context);
        metrics.lockout();
      }
      throw new InvalidCredentials();
    }
    await this.throttle.reset(throttleKey);
    audit("user.login_succeeded", { sub: item.sub as string, username: item.username as string, ...(purpose === "login" ? {} : { purpose }) }, context);
    if (item.indexed !== true) await this.#backfillIndex(item);
    const account = accountOf(item);
    // A token issued in the second its sessions were revoked would fall under that mark: wait it out.
    const wait = secondsToWait(account.sessionsRevokedAt, Date.now());
    if (wait > 0) await new Promise((r) => setTimeout(r, wait * 1000 + 5));
    return account;
  }

  /** Checks an account's password through the same per-username lockout as /login. */
  async verifyPassword(account: Account, password: string, context?: RequestContext): Promise<void> {
    const checked = await this.authenticate(account.username, password, "password_check", context);
    if (checked.sub !== account.sub) throw new InvalidCredentials();
  }

  /** The account with this username, or undefined. */
  async byName(rawUsername: string): Promise<Account | undefined> {
    let username: Username;
    try {
      username = normalizeUsername(rawUsername);
    } catch {
      return undefined;
    }
    const item = await this.#item(username.key);
    return item ? accountOf(item) : undefined;
  }

  /** The account stored under a username key (as sessions and reset links record it). */
  async byKey(key: string): Promise<Account | undefined> {
    const item = await this.#item(key);
    return item ? accountOf(item) : undefined;
  }

  /** The account a token's `sub` names, or undefined (unknown, deleted, or a client's sub). */
  async bySub(sub: string): Promise<Account | undefined> {
    if (!SUB_SHAPE.test(sub)) return undefined;
    const index = await this.aws.ddb.send(
      new GetCommand({ TableName: this.config.table, Key: { pk: `SUB#${sub}`, sk: "SUB" }, ConsistentRead: true }),
    );
    if (!index.Item) return undefined;
    const item = await this.#item(index.Item.user as string);
    return item && item.sub === sub ? accountOf(item) : undefined;
  }

  /** By sub when it looks like one, else by username (admin CLI). */
  async find(ref: string): Promise<Account | undefined> {
    return SUB_SHAPE.test(ref) ? ((await this.bySub(ref)) ?? (await this.byName(ref))) : this.byName(ref);
  }

  /**
   * The account behind a session, when that session still counts: the account exists with the
   * same sub, is enabled, and has not ended the session (refresh, browser sign-in).
   * Throws InvalidGrant otherwise.
   */
  async requireLiveSession(userKey: string | undefined, sub: string, session: SessionRef): Promise<Account> {
    // Sessions that do not record the username key (older families, other flows) go by sub.
    const item = userKey ? await this.#item(userKey) : undefined;
    const account = userKey ? (item && item.sub === sub ? accountOf(item) : undefined) : await this.bySub(sub);
    if (!account || sessionEnded(account, session)) throw new InvalidGrant("refresh token is invalid, expired or revoked");
    return account;
  }

  /** argon2id of a password, as stored. */
  hashPassword(password: string): Promise<string> {
    return this.hashing.hash(password.normalize("NFKC"));
  }

  /** Checks a new password against the rules for this account (400 naming the rule). */
  async checkNewPassword(account: Account, password: string): Promise<void> {
    await checkPassword(password, account.username, this.config.password);
  }

  /**
   * Stores a new password hash and ends the account's sessions up to `revokedAt` (except
   * `survivingSid`). Conditional on the account being the one read (same sub and hash).
   */
  async setPassword(account: Account, passwordHash: string, revokedAt: number, survivingSid?: string): Promise<void> {
    await this.#update(
      account,
      `SET passwordHash = :hash, passwordChangedAtMs = :ms, sessionsRevokedAt = :at${survivingSid ? ", survivingSid = :sid" : ""}` +
        (survivingSid ? "" : " REMOVE survivingSid"),
      { ":hash": passwordHash, ":ms": Date.now(), ":at": revokedAt, ...(survivingSid ? { ":sid": survivingSid } : {}), ":old": account.passwordHash },
      "passwordHash = :old",
    );
  }

  /** Ends every session of the account created up to `revokedAt`. */
  async endSessions(account: Account, revokedAt: number): Promise<void> {
    await this.#update(account, "SET sessionsRevokedAt = :at REMOVE survivingSid", { ":at": revokedAt });
  }

  /** Disables (and ends every session up to `revokedAt`) or enables the account. */
  async setDisabled(account: Account, disabled: boolean, revokedAt?: number): Promise<void> {
    if (disabled) {
      await this.#update(account, "SET disabled = :true, sessionsRevokedAt = :at REMOVE survivingSid", { ":true": true, ":at": revokedAt ?? nowSeconds() });
    } else {
      await this.#update(account, "SET disabled = :false", { ":false": false });
    }
  }

  /** Removes the account (and its index); the username is free again. */
  async remove(account: Account): Promise<void> {
    try {
      await this.aws.ddb.send(
        new DeleteCommand({
          TableName: this.config.table,
          Key: { pk: `USER#${account.key}`, sk: "USER" },
          ConditionExpression: "#sub = :sub",
          ExpressionAttributeNames: { "#sub": "sub" },
          ExpressionAttributeValues: { ":sub": account.sub },
        }),
      );
    } catch (err) {
      if (isConditionalCheckFailed(err)) throw new Conflict("the account changed concurrently; try again");
      throw err;
    }
    await this.#unindex(account.sub);
    // The name (and its lookalikes) is free again; a claim left behind is taken over anyway.
    await this.#releaseSkeleton(skeleton(account.key), account.sub).catch(() => undefined);
  }

  /**
   * A page of accounts (admin use: a scan, like clients), oldest key first within DynamoDB's
   * order. `cursor` is the opaque value the previous page returned.
   */
  async list(limit: number, cursor?: string): Promise<{ accounts: Account[]; cursor?: string }> {
    let start = cursor ? decodeCursor(cursor) : undefined;
    const accounts: Account[] = [];
    while (accounts.length < limit) {
      const page = await this.aws.ddb.send(
        new ScanCommand({
          TableName: this.config.table,
          FilterExpression: "begins_with(pk, :user) AND sk = :sk",
          ExpressionAttributeValues: { ":user": "USER#", ":sk": "USER" },
          Limit: Math.max(limit * 4, 25),
          ExclusiveStartKey: start,
        }),
      );
      const items = page.Items ?? [];
      for (let i = 0; i < items.length; i++) {
        accounts.push(accountOf(items[i]!));
        if (accounts.length === limit) {
          const more = i < items.length - 1 || page.LastEvaluatedKey !== undefined;
          return more ? { accounts, cursor: encodeCursor({ pk: items[i]!.pk, sk: items[i]!.sk }) } : { accounts };
        }
      }
      start = page.LastEvaluatedKey;
      if (!start) break;
    }
    return { accounts };
  }

  /** A real argon2id hash of a random password, made once per instance. */
  dummyHash(): Promise<string> {
    if (!this.#dummyHash) {
      this.#dummyHash = this.hashing.hashOnce(randomUUID() + randomUUID());
      this.#dummyHash.catch(() => (this.#dummyHash = undefined)); // a failure now must not poison later logins
    }
    return this.#dummyHash;
  }

  async #item(key: string): Promise<Record<string, unknown> | undefined> {
    const out = await this.aws.ddb.send(
      new GetCommand({ TableName: this.config.table, Key: { pk: `USER#${key}`, sk: "USER" }, ConsistentRead: true }),
    );
    return out.Item;
  }

  async #update(account: Account, expression: string, values: Record<string, unknown>, extraCondition?: string): Promise<void> {
    try {
      await this.aws.ddb.send(
        new UpdateCommand({
          TableName: this.config.table,
          Key: { pk: `USER#${account.key}`, sk: "USER" },
          UpdateExpression: expression,
          ConditionExpression: `#sub = :sub${extraCondition ? ` AND ${extraCondition}` : ""}`,
          ExpressionAttributeNames: { "#sub": "sub" },
          ExpressionAttributeValues: { ...values, ":sub": account.sub },
        }),
      );
    } catch (err) {
      if (isConditionalCheckFailed(err)) throw new Conflict("the account changed concurrently; try again");
      throw err;
    }
  }

  async #index(sub: string, key: string): Promise<void> {
    await this.aws.ddb.send(
      new PutCommand({
        TableName: this.config.table,
        Item: { pk: `SUB#${sub}`, sk: "SUB", user: key },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
  }

  async #unindex(sub: string): Promise<void> {
    await this.aws.ddb.send(new DeleteCommand({ TableName: this.config.table, Key: { pk: `SUB#${sub}`, sk: "SUB" } }));
  }

  /** Users registered before the index existed get it at their next login. */
  async #backfillIndex(item: Record<string, unknown>): Promise<void> {
    const key = (item.pk as string).slice("USER#".length);
    await this.aws.ddb
      .send(new PutCommand({ TableName: this.config.table, Item: { pk: `SUB#${item.sub as string}`, sk: "SUB", user: key } }))
      .then(() =>
        this.aws.ddb.send(
          new UpdateCommand({ TableName: this.config.table, Key: { pk: item.pk, sk: "USER" }, UpdateExpression: "SET #indexed = :true", ExpressionAttributeNames: { "#indexed": "indexed" }, ExpressionAttributeValues: { ":true": true } }), // INDEXED is a DynamoDB reserved word
        ),
      );
  }
}

function accountOf(item: Record<string, unknown>): Account {
  return {
    sub: item.sub as string,
    username: item.username as string,
    key: (item.pk as string).slice("USER#".length),
    passwordHash: item.passwordHash as string,
    createdAt: item.createdAt as number,
    disabled: item.disabled === true,
    passwordChangedAtMs: item.passwordChangedAtMs as number | undefined,
    sessionsRevokedAt: item.sessionsRevokedAt as number | undefined,
    survivingSid: item.survivingSid as string | undefined,
  };
}

function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

function decodeCursor(cursor: string): Record<string, unknown> {
  try {
    const key = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as Record<string, unknown>;
    if (typeof key.pk === "string" && key.pk.startsWith("USER#") && key.sk === "USER" && Object.keys(key).length === 2) return key;
  } catch {
    // fall through
  }
  throw new InvalidRequest("cursor is not one a previous page returned");
}

function skeletonKey(skeleton: string): { pk: string; sk: string } {
  return { pk: `SKELETON#${createHash("sha256").update(skeleton).digest("base64url")}`, sk: "SKELETON" };
}
