/**
 * Throttles password guessing per username: after `maxFailures` failures within
 * `lockoutSeconds`, logins for that name get 429 with Retry-After until the window ends.
 * Counters are single DynamoDB items with an atomic ADD and a TTL for clean-up.
 */
import { createHash } from "node:crypto";
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { Config } from "../config.js";
import type { AwsClients } from "../storage/aws.js";
import { isConditionalCheckFailed, nowSeconds } from "../storage/dynamo.js";
import { TooManyRequests } from "../errors.js";

export class LoginThrottle {
  constructor(
    private readonly config: Config,
    private readonly aws: AwsClients,
  ) {}

  #key(name: string) {
    // Hash the name so throttle items do not copy usernames around.
    return { pk: `THROTTLE#login#${createHash("sha256").update(name).digest("base64url")}`, sk: "THROTTLE" };
  }

  async check(name: string): Promise<void> {
    const out = await this.aws.ddb.send(new GetCommand({ TableName: this.config.table, Key: this.#key(name) }));
    const item = out.Item;
    const now = nowSeconds();
    if (item && (item.windowEnds as number) > now && (item.failures as number) >= this.config.loginThrottle.maxFailures) {
      throw new TooManyRequests("too many failed logins for this username; try again later", (item.windowEnds as number) - now);
    }
  }

  /**
   * Counts a failure. `locked` is true for the one failure that reaches the limit (the atomic
   * ADD hands each concurrent failure its own count), so a lockout is reported once.
   */
  async recordFailure(name: string): Promise<{ locked: boolean }> {
    const now = nowSeconds();
    const windowEnds = now + this.config.loginThrottle.lockoutSeconds;
    const max = this.config.loginThrottle.maxFailures;
    try {
      const out = await this.aws.ddb.send(
        new UpdateCommand({
          TableName: this.config.table,
          Key: this.#key(name),
          UpdateExpression: "ADD failures :one",
          ConditionExpression: "windowEnds > :now",
          ExpressionAttributeValues: { ":one": 1, ":now": now },
          ReturnValues: "UPDATED_NEW",
        }),
      );
      return { locked: out.Attributes?.failures === max };
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      // No open window: start one. A concurrent starter may overwrite; both count as one.
      await this.aws.ddb.send(
        new PutCommand({
          TableName: this.config.table,
          Item: { ...this.#key(name), failures: 1, windowEnds, ttl: windowEnds },
        }),
      );
      return { locked: max === 1 };
    }
  }

  async reset(name: string): Promise<void> {
    await this.aws.ddb.send(new DeleteCommand({ TableName: this.config.table, Key: this.#key(name) }));
  }
}
