/**
 * Service clients declared in stack config. The Pulumi program invokes the rotation function
 * with `{"action":"ensure-client","client":{...}}` per declared client at deploy time; this
 * converges the client on its declaration and hands its credentials to the owning service
 * through AWS Secrets Manager (secret `{stack}/{client name}`), never through stack outputs.
 *
 * Idempotent: a second deploy leaves the secret alone unless the Secrets Manager secret has
 * no value yet, in which case a fresh secret is issued and stored (the old one stops at once:
 * nobody could have read it).
 *
 * The invocation runs with the CRUD lifecycle scope, so the AWS provider also invokes it when
 * the client leaves config (or the stack is destroyed), adding `{"tf": {"action": "delete",
 * "prev_input": {...}}}` to the input (terraform-provider-aws, lambda invocation buildInput).
 * Then the client is retired: disabled at once, and its name released so declaring it again
 * later creates a new client rather than waking the old one.
 */
import { DeleteCommand, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
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

/** The input key the AWS provider's CRUD-scoped Invocation adds (its `terraformKey`, default "tf"). */
export const LIFECYCLE_KEY = "tf";

export type LifecycleAction = "create" | "update" | "delete";

/** What Pulumi is doing with the deploy-time invocation; undefined for a plain (CREATE_ONLY) invocation. */
export function lifecycleAction(event: unknown): LifecycleAction | undefined {
  const lifecycle = (event as Record<string, unknown> | null)?.[LIFECYCLE_KEY] as { action?: unknown } | undefined;
  const action = lifecycle?.action;
  if (action === undefined) return undefined;
  if (action === "create" || action === "update" || action === "delete") return action;
  throw new Error(`unknown lifecycle action ${JSON.stringify(action)}`);
}

const nameKey = (name: string) => ({ pk: `CLIENTNAME#${name}`, sk: "CLIENTNAME" });

/**
 * The deploy-time event for one declared client: converge it on create and update, retire it
 * on delete (using the declaration as last applied, `prev_input`, when the provider sends it).
 */
export async function handleDeclaredClientEvent(
  issuer: Issuer,
  event: { client?: unknown; [LIFECYCLE_KEY]?: { action?: string; prev_input?: { client?: unknown } | null } },
): Promise<({ action: "ensure-client" } & EnsureClientResult) | ({ action: "retire-client" } & RetireClientResult)> {
  if (lifecycleAction(event) === "delete") {
    const declaration = event[LIFECYCLE_KEY]?.prev_input?.client ?? event.client;
    return { action: "retire-client", ...(await retireDeclaredClient(issuer, declaration)) };
  }
  return { action: "ensure-client", ...(await ensureDeclaredClient(issuer, event.client)) };
}

export interface RetireClientResult {
  clientId: string | undefined;
  disabled: boolean;
}

/**
 * The declaration left config: disable the client (its secret stops working within the
 * client cache, `LATCHKEY_CLIENT_CACHE_SECONDS`) and release its name. Idempotent: a client
 * already retired, or never created, is left as it is.
 */
export async function retireDeclaredClient(issuer: Issuer, input: unknown): Promise<RetireClientResult> {
  const { name } = DeclaredClient.pick({ name: true }).parse({ name: (input as { name?: unknown } | null)?.name });
  const { config, aws, clients } = issuer;
  const indexed = (await aws.ddb.send(new GetCommand({ TableName: config.table, Key: nameKey(name), ConsistentRead: true }))).Item;
  const clientId = indexed?.clientId as string | undefined;
  if (!clientId) return { clientId: undefined, disabled: false };
  const client = await clients.read(clientId);
  if (client?.enabled) await clients.setEnabled(clientId, false);
  await aws.ddb.send(
    new DeleteCommand({
      TableName: config.table,
      Key: nameKey(name),
      ConditionExpression: "clientId = :id",
      ExpressionAttributeValues: { ":id": clientId },
    }),
  ).catch((err: unknown) => {
    // Declared again meanwhile (a concurrent deploy): the new client keeps the name.
    if (!isConditionalCheckFailed(err)) throw err;
  });
  return { clientId, disabled: Boolean(client?.enabled) };
}

export interface EnsureClientResult {
  clientId: string;
  created: boolean;
  secretWritten: boolean;
}

export async function ensureDeclaredClient(issuer: Issuer, input: unknown): Promise<EnsureClientResult> {
  const declared = DeclaredClient.parse(input);
  const { config, aws, clients } = issuer;
  const key = nameKey(declared.name);
  const settings = {
    scopes: declared.scopes,
    audiences: declared.audiences,
    maySign: declared.maySign,
    signClaims: declared.signClaims,
    ...(declared.accessTokenTtl !== undefined ? { accessTokenTtl: declared.accessTokenTtl } : {}),
  };

  const indexed = (await aws.ddb.send(new GetCommand({ TableName: config.table, Key: key, ConsistentRead: true }))).Item;
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
          Item: { ...key, clientId },
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
