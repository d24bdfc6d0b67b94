/**
 * Throttles password guessing per username: at most `maxFailures` password checks per
 * `lockoutSeconds` window, however many requests arrive at once. Each login reserves its
 * attempt before the password is verified, with a conditional write on one DynamoDB item per
 * name; a write is atomic and always evaluated against the item's latest version (DynamoDB
 * Developer Guide, "Best practices for handling concurrent updates"), so concurrent logins
 * cannot all see room in the window. Once the window is spent, logins get 429 with
 * Retry-After until it ends; a successful login resets the count. TTL only cleans up.
 */
import { createHash } from "node:crypto";
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { Config } from "../config.js";
import type { AwsClients } from "../storage/aws.js";
import { isConditionalCheckFailed, nowSeconds } from "../storage/dynamo.js";
import { TooManyRequests } from "../errors.js";

/** A reserved attempt; `last` when it took the window's final slot (its failure locks the name). */
export interface LoginAttempt {
  last: boolean;
}

export class LoginThrottle {
  constructor(
    private readonly config: Config,
    private readonly aws: AwsClients,
    private readonly now: () => number = nowSeconds,
  ) {}

  #key(name: string) {
    // Hash the name so throttle items do not copy usernames around.
    return { pk: `THROTTLE#login#${createHash("sha256").update(name).digest("base64url")}`, sk: "THROTTLE" };
  }

  /**
   * Reserves one password check for this name, or throws 429 when the window has none left.
   * Call it before verifying the password, and `reset` after a success.
   */
  async reserve(name: string): Promise<LoginAttempt> {
    const max = this.config.loginThrottle.maxFailures;
    // Two writers racing to open a window: the loser retries and counts in the winner's window.
    for (let round = 0; round < 3; round++) {
      const now = this.now();
      try {
        const out = await this.aws.ddb.send(
          new UpdateCommand({
            TableName: this.config.table,
            Key: this.#key(name),
            UpdateExpression: "ADD attempts :one",
            ConditionExpression: "windowEnds > :now AND attempts < :max",
            ExpressionAttributeValues: { ":one": 1, ":now": now, ":max": max },
            ReturnValues: "UPDATED_NEW",
          }),
        );
        return { last: out.Attributes?.attempts === max };
      } catch (err) {
        if (!isConditionalCheckFailed(err)) throw err;
      }
      const windowEnds = now + this.config.loginThrottle.lockoutSeconds;
      try {
        await this.aws.ddb.send(
          new PutCommand({
            TableName: this.config.table,
            Item: { ...this.#key(name), attempts: 1, windowEnds, ttl: windowEnds },
            // Only where no window is open: never overwrite a window that is filling up.
            ConditionExpression: "attribute_not_exists(pk) OR windowEnds <= :now",
            ExpressionAttributeValues: { ":now": now },
          }),
        );
        return { last: max === 1 };
      } catch (err) {
        if (!isConditionalCheckFailed(err)) throw err;
      }
      const item = (await this.aws.ddb.send(new GetCommand({ TableName: this.config.table, Key: this.#key(name), ConsistentRead: true }))).Item;
      const ends = item?.windowEnds as number | undefined;
      if (ends !== undefined && ends > now && (item!.attempts as number) >= max) throw this.#locked(ends - now);
    }
    // Still contended after three rounds: refuse rather than check a password unthrottled.
    throw this.#locked(1);
  }

  /** After a successful login: the name starts afresh. */
  async reset(name: string): Promise<void> {
    await this.aws.ddb.send(new DeleteCommand({ TableName: this.config.table, Key: this.#key(name) }));
  }

  #locked(retryAfterSeconds: number): TooManyRequests {
    return new TooManyRequests("too many failed logins for this username; try again later", retryAfterSeconds);
  }
}
