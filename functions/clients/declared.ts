/**
 * Service clients declared in stack config. The Pulumi program invokes the rotation function
 * with `{"action":"ensure-client","client":{...}}` per declared client at deploy time; this
 * converges the client on its declaration and hands its credentials to the owning service
 * through AWS Secrets Manager (secret `{stack}/{client name}`), never through stack outputs.
 *
 * Idempotent: a second deploy leaves the secret alone unless the Secrets Manager secret has
 * no value yet, in which case a fresh secret is issued and stored (the old one stops at once:
 * nobody could have read it).
 */
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { DescribeSecretCommand, PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { z } from "zod";
import type { Issuer } from "../issuer.js";
import { isConditionalCheckFailed } from "../storage/dynamo.js";

export const DeclaredClient = z
  .object({
    name: z.string().min(1).max(128),
    scopes: z.array(z.string()).default([]),
    audiences: z.array(z.string()).default([]),
    accessTokenTtl: z.number().int().positive().optional(),
    maySign: z.boolean().default(false),
    /** Authorization claims it may set at /sign (tokens/sign-claims.ts). */
    signClaims: z.array(z.string()).default([]),
    /** Secrets Manager secret (ARN or name) that receives `{client_id, client_secret, ...}`. */
    secretId: z.string().min(1),
  })
  .strict();

export type DeclaredClient = z.infer<typeof DeclaredClient>;

export interface EnsureClientResult {
  clientId: string;
  created: boolean;
  secretWritten: boolean;
}

export async function ensureDeclaredClient(issuer: Issuer, input: unknown): Promise<EnsureClientResult> {
  const declared = DeclaredClient.parse(input);
  const { config, aws, clients } = issuer;
  const nameKey = { pk: `CLIENTNAME#${declared.name}`, sk: "CLIENTNAME" };
  const settings = {
    scopes: declared.scopes,
    audiences: declared.audiences,
    maySign: declared.maySign,
    signClaims: declared.signClaims,
    ...(declared.accessTokenTtl !== undefined ? { accessTokenTtl: declared.accessTokenTtl } : {}),
  };

  const indexed = (await aws.ddb.send(new GetCommand({ TableName: config.table, Key: nameKey, ConsistentRead: true }))).Item;
  let clientId = indexed?.clientId as string | undefined;
  let freshSecret: string | undefined;
  let created = false;
  if (!clientId || !(await clients.read(clientId))) {
    const made = await clients.create({ name: declared.name, auth: "secret", ...settings });
    clientId = made.client.clientId;
    freshSecret = made.clientSecret;
    created = true;
    try {
      await aws.ddb.send(
        new PutCommand({
          TableName: config.table,
          Item: { ...nameKey, clientId },
          ...(indexed ? { ConditionExpression: "clientId = :old", ExpressionAttributeValues: { ":old": indexed.clientId } } : { ConditionExpression: "attribute_not_exists(pk)" }),
        }),
      );
    } catch (err) {
      if (isConditionalCheckFailed(err)) {
        await clients.setEnabled(clientId, false); // a concurrent deploy won; ours must not linger
        throw new Error(`client ${declared.name} was created concurrently; run the deploy again`);
      }
      throw err;
    }
  } else {
    await clients.configure(clientId, settings);
  }

  const sm = aws.secretsManager();
  const described = await sm.send(new DescribeSecretCommand({ SecretId: declared.secretId }));
  const hasValue = Object.values(described.VersionIdsToStages ?? {}).some((stages) => stages.includes("AWSCURRENT"));
  if (hasValue && !freshSecret) return { clientId, created, secretWritten: false };
  const secret = freshSecret ?? (await clients.rotateSecret(clientId, 0)).clientSecret;
  await sm.send(
    new PutSecretValueCommand({
      SecretId: declared.secretId,
      SecretString: JSON.stringify({
        client_id: clientId,
        client_secret: secret,
        issuer: config.issuer,
        token_endpoint: `${config.issuer}/token`,
      }),
    }),
  );
  return { clientId, created, secretWritten: true };
}
