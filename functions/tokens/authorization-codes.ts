/**
 * Authorization codes (RFC 6749 section 4.1.2, OIDC Core 3.1.2.5): single use, short-lived
 * (LATCHKEY_AUTHORIZATION_CODE_TTL, at most 60 s), bound to the client, the redirect_uri and
 * the PKCE challenge (RFC 7636 section 4.4). A code is `lkac_` + 43 base64url characters
 * (256 random bits); only its SHA-256 digest is stored.
 *
 * Item (single table): `CODE#<digest>` / `CODE`: the grant it carries, expiresAt, ttl; once
 * redeemed also redeemedAt and familyId (the refresh-token family issued from it, chosen in the
 * same conditional write that spends the code, so a replay can revoke it even mid-flight).
 *
 * @example
 *   const code = await codes.issue({ clientId, redirectUri, codeChallenge, sub, ... });
 *   const { grant, familyId } = await codes.redeem(code, (grant) => checkBinding(grant));
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { Config } from "../config.js";
import type { AwsClients } from "../storage/aws.js";
import { isConditionalCheckFailed, nowSeconds } from "../storage/dynamo.js";
import { InvalidGrant } from "../errors.js";
import { audit } from "../observability/audit.js";
import type { RequestContext } from "../log.js";
import { newFamilyId, type RefreshTokens } from "./refresh-tokens.js";
import type { Revocations } from "../revocations/revocations.js";

/** What a code stands for: everything the token endpoint needs, decided at /authorize. */
export interface CodeGrant {
  clientId: string;
  redirectUri: string;
  /** RFC 7636 S256 code_challenge. */
  codeChallenge: string;
  sub: string;
  username: string;
  /** The username key, for the account checks at refresh (Users.requireLiveSession). */
  user: string;
  sid: string;
  scope: string[];
  aud: string;
  authTime: number;
  nonce?: string;
}

const SHAPE = /^lkac_[A-Za-z0-9_-]{43}$/;

export class AuthorizationCodes {
  constructor(
    private readonly config: Config,
    private readonly aws: AwsClients,
    private readonly refreshTokens: RefreshTokens,
    private readonly revocations: Pick<Revocations, "revokeToken">,
  ) {}

  async issue(grant: CodeGrant): Promise<string> {
    const code = "lkac_" + randomBytes(32).toString("base64url");
    const expiresAt = nowSeconds() + this.config.authorizationCodeTtlSeconds;
    await this.aws.ddb.send(
      new PutCommand({
        TableName: this.config.table,
        Item: { pk: `CODE#${digestOf(code)}`, sk: "CODE", ...grant, expiresAt, ttl: expiresAt + 3600 },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
    return code;
  }

  /**
   * Spends a code. `check` runs first (client, redirect_uri and PKCE binding) and may throw to
   * refuse without spending. Exactly one redemption succeeds; any other presentation of the
   * code is a replay: invalid_grant, and the refresh-token family and the access token issued from it are revoked
   * (RFC 6749 section 4.1.2: "SHOULD revoke all tokens previously issued based on that code").
   */
  async redeem(code: string, check: (grant: CodeGrant) => void, context?: RequestContext): Promise<{ grant: CodeGrant; familyId: string; jti: string }> {
    if (!SHAPE.test(code)) throw new InvalidGrant("the authorization code is invalid or expired");
    const key = { pk: `CODE#${digestOf(code)}`, sk: "CODE" };
    const item = (await this.aws.ddb.send(new GetCommand({ TableName: this.config.table, Key: key, ConsistentRead: true }))).Item;
    if (!item) throw new InvalidGrant("the authorization code is invalid or expired");
    // Any presentation of a spent code is a replay, even one that would fail the binding checks.
    if (item.redeemedAt !== undefined) return this.#replayed(item, context);
    const { pk: _pk, sk: _sk, ttl: _ttl, expiresAt: _e, ...grant } = item;
    check(grant as CodeGrant);
    const familyId = newFamilyId();
    // The access token's id, fixed here with the family so a replay can revoke both; it expires
    // no later than the longest access-token lifetime from now.
    const jti = randomUUID();
    const jtiExpiresAt = nowSeconds() + this.config.maxAccessTokenTtlSeconds;
    try {
      await this.aws.ddb.send(
        new UpdateCommand({
          TableName: this.config.table,
          Key: key,
          UpdateExpression: "SET redeemedAt = :now, familyId = :family, jti = :jti, jtiExpiresAt = :jtiExp",
          ConditionExpression: "attribute_exists(pk) AND attribute_not_exists(redeemedAt) AND expiresAt > :now",
          ExpressionAttributeValues: { ":now": nowSeconds(), ":family": familyId, ":jti": jti, ":jtiExp": jtiExpiresAt },
        }),
      );
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      // Expired (the condition checks it), or a concurrent redemption won: that one is a replay.
      const now = (await this.aws.ddb.send(new GetCommand({ TableName: this.config.table, Key: key, ConsistentRead: true }))).Item;
      if (now?.redeemedAt !== undefined) return this.#replayed(now, context);
      throw new InvalidGrant("the authorization code has expired");
    }
    return { grant: grant as CodeGrant, familyId, jti };
  }

  async #replayed(item: Record<string, unknown>, context: RequestContext | undefined): Promise<never> {
    if (typeof item.familyId === "string") await this.refreshTokens.revokeFamily(item.familyId);
    if (typeof item.jti === "string" && typeof item.jtiExpiresAt === "number") {
      await this.revocations.revokeToken(item.jti, item.jtiExpiresAt);
    }
    audit("authorization_code.reuse_detected", { sub: item.sub as string, clientId: item.clientId as string }, context);
    throw new InvalidGrant("the authorization code has already been used; tokens issued from it are revoked");
  }
}

function digestOf(code: string): string {
  return createHash("sha256").update(code).digest("base64url");
}
