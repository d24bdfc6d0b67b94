/**
 * People: registration and password login. Passwords are hashed with argon2id at OWASP's
 * parameters (m=19456 KiB, t=2, p=1), through a per-process admission gate (see
 * password-hashing.ts) so password traffic cannot starve token signing. Unknown users are verified against a dummy hash so an
 * unknown username and a wrong password cost the same time and give the same answer.
 */
import { randomUUID } from "node:crypto";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { Config } from "../config.js";
import type { AwsClients } from "../storage/aws.js";
import { isConditionalCheckFailed, nowSeconds } from "../storage/dynamo.js";
import { InvalidCredentials, UsernameTaken } from "../errors.js";
import { checkPassword } from "./password-policy.js";
import { normalizeUsername, type Username } from "./usernames.js";
import type { LoginThrottle } from "./login-throttle.js";
import { audit } from "../observability/audit.js";
import { metrics } from "../observability/metrics.js";

import { PasswordHashing } from "./password-hashing.js";

export interface User {
  sub: string;
  username: string;
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

  /** Creates a user; 400 for a broken rule, 409 when the (case-insensitive) name is taken. */
  async register(rawUsername: string, password: string): Promise<User> {
    const username = normalizeUsername(rawUsername);
    checkPassword(password, username.display, this.config.password);
    const hash = await this.hashing.hash(password.normalize("NFKC"));
    const user: User = { sub: randomUUID(), username: username.display };
    try {
      await this.aws.ddb.send(
        new PutCommand({
          TableName: this.config.table,
          Item: { pk: `USER#${username.key}`, sk: "USER", ...user, passwordHash: hash, createdAt: nowSeconds() },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
    } catch (err) {
      if (isConditionalCheckFailed(err)) throw new UsernameTaken("that username is already taken");
      throw err;
    }
    audit("user.registered", { sub: user.sub, username: user.username });
    return user;
  }

  /** Verifies a username and password; throttled per username; one 401 for every failure. */
  async authenticate(rawUsername: string, password: string): Promise<User> {
    let username: Username | undefined;
    try {
      username = normalizeUsername(rawUsername);
    } catch {
      username = undefined; // a name that cannot exist is handled exactly like an unknown one
    }
    const throttleKey = username?.key ?? rawUsername.slice(0, 128).toLowerCase();
    await this.throttle.check(throttleKey);
    const item = username
      ? (
          await this.aws.ddb.send(
            new GetCommand({ TableName: this.config.table, Key: { pk: `USER#${username.key}`, sk: "USER" } }),
          )
        ).Item
      : undefined;
    const hash = (item?.passwordHash as string | undefined) ?? (await this.dummyHash());
    const ok = await this.hashing.verify(hash, password.normalize("NFKC"));
    if (!item || !ok) {
      const { locked } = await this.throttle.recordFailure(throttleKey);
      // Only a name that exists is recorded: an unknown "username" may be a mistyped password.
      const who = item ? { sub: item.sub as string, username: item.username as string } : {};
      audit("user.login_failed", { ...who, reason: item ? "wrong_password" : "unknown_user" });
      if (locked) {
        audit("user.locked", { ...who, lockoutSeconds: this.config.loginThrottle.lockoutSeconds });
        metrics.lockout();
      }
      throw new InvalidCredentials();
    }
    await this.throttle.reset(throttleKey);
    audit("user.login_succeeded", { sub: item.sub as string, username: item.username as string });
    return { sub: item.sub as string, username: item.username as string };
  }

  /** A real argon2id hash of a random password, made once per instance. */
  dummyHash(): Promise<string> {
    if (!this.#dummyHash) {
      this.#dummyHash = this.hashing.hash(randomUUID() + randomUUID());
      this.#dummyHash.catch(() => (this.#dummyHash = undefined)); // a 503 now must not poison later logins
    }
    return this.#dummyHash;
  }
}
