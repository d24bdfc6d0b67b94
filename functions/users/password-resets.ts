/**
 * One-time password-reset links an operator hands to a person (`latchkey users reset-password`).
 * A link carries 256 random bits (`lkp_…`), is valid for 15 minutes, and is stored only as its
 * SHA-256 digest (a high-entropy secret needs no slow hash; a table reader cannot use it).
 * Using it deletes it with a conditional write, so exactly one use succeeds; a later password
 * change or reset of the same account makes every earlier link void (`issuedAtMs` is checked
 * against the account's `passwordChangedAtMs`).
 *
 * Item (single table): `RESET#<digest>` / `RESET`: user (username key), sub, issuedAtMs,
 * expiresAt, ttl.
 */
import { createHash, randomBytes } from "node:crypto";
import { DeleteCommand, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { Config } from "../config.js";
import type { AwsClients } from "../storage/aws.js";
import { isConditionalCheckFailed, nowSeconds } from "../storage/dynamo.js";

/** How long a reset link works. */
export const RESET_LINK_SECONDS = 15 * 60;
const SHAPE = /^lkp_[A-Za-z0-9_-]{43}$/;

export interface PasswordReset {
  user: string;
  sub: string;
  issuedAtMs: number;
  expiresAt: number;
}

export class PasswordResets {
  constructor(
    private readonly config: Config,
    private readonly aws: AwsClients,
    private readonly now: () => number = nowSeconds,
  ) {}

  /** A new reset secret for the account; returned once, stored as a digest. */
  async issue(account: { key: string; sub: string }): Promise<{ secret: string; expiresAt: number }> {
    const secret = "lkp_" + randomBytes(32).toString("base64url");
    const expiresAt = this.now() + RESET_LINK_SECONDS;
    await this.aws.ddb.send(
      new PutCommand({
        TableName: this.config.table,
        Item: { ...keyOf(secret), user: account.key, sub: account.sub, issuedAtMs: Date.now(), expiresAt, ttl: expiresAt },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
    return { secret, expiresAt };
  }

  /** The reset a secret names while it is unused and unexpired (no side effects: the page's GET). */
  async peek(secret: string): Promise<PasswordReset | undefined> {
    if (!SHAPE.test(secret)) return undefined;
    const out = await this.aws.ddb.send(new GetCommand({ TableName: this.config.table, Key: keyOf(secret), ConsistentRead: true }));
    const item = out.Item;
    return item && (item.expiresAt as number) > this.now() ? resetOf(item) : undefined;
  }

  /** Uses the secret up: exactly one caller gets the reset, and only before it expires. */
  async consume(secret: string): Promise<PasswordReset | undefined> {
    if (!SHAPE.test(secret)) return undefined;
    try {
      const out = await this.aws.ddb.send(
        new DeleteCommand({
          TableName: this.config.table,
          Key: keyOf(secret),
          // False for a missing (used) item too: exactly one use, and only before expiry.
          ConditionExpression: "expiresAt > :now",
          ExpressionAttributeValues: { ":now": this.now() },
          ReturnValues: "ALL_OLD",
        }),
      );
      return out.Attributes ? resetOf(out.Attributes) : undefined;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return undefined;
      throw err;
    }
  }
}

function keyOf(secret: string): { pk: string; sk: string } {
  return { pk: `RESET#${createHash("sha256").update(secret).digest("base64url")}`, sk: "RESET" };
}

function resetOf(item: Record<string, unknown>): PasswordReset {
  return { user: item.user as string, sub: item.sub as string, issuedAtMs: item.issuedAtMs as number, expiresAt: item.expiresAt as number };
}
