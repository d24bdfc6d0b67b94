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
import * as z from "zod";
import type { Issuer } from "../issuer.js";
import { isConditionalCheckFailed } from "../storage/dynamo.js";

export const DeclaredClient = z
  .object({
    name: z.string().min(1).max(128),
    /** Default: none for a machine client, the user scopes (openid profile) for an app that signs people in. */
    scopes: z.array(z.string()).optional(),
    audiences: z.array(z.string()).default([]),
    accessTokenTtl: z.number().int().positive().optional(),
    maySign: z.boolean().default(false),
    /** Authorization claims it may set at /sign (tokens/sign-claims.ts). */
    signClaims: z.array(z.string()).default([]),
    /** "none": a public app (browser or native) that signs people in; it has no secret. */
    auth: z.enum(["secret", "none", "private_key_jwt"]).default("secret"),
    /** For apps that sign people in (authorization code flow); the rules of `clients create --redirect-uris`. */
    redirectUris: z.array(z.string()).optional(),
    postLogoutRedirectUris: z.array(z.string()).optional(),
    /** Public keys for private_key_jwt. */
    jwksUri: z.string().optional(),
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
    scopes: declared.scopes ?? (declared.redirectUris?.length ? config.userScopes : []),
    audiences: declared.audiences,
    maySign: declared.maySign,
    signClaims: declared.signClaims,
    ...(declared.accessTokenTtl !== undefined ? { accessTokenTtl: declared.accessTokenTtl } : {}),
    ...(declared.redirectUris ? { redirectUris: declared.redirectUris } : {}),
    ...(declared.postLogoutRedirectUris ? { postLogoutRedirectUris: declared.postLogoutRedirectUris } : {}),
  };

  const indexed = (await aws.ddb.send(new GetCommand({ TableName: config.table, Key: key, ConsistentRead: true }))).Item;
  let clientId = indexed?.clientId as string | undefined;
  let freshSecret: string | undefined;
  let created = false;
  const existing = clientId ? await clients.read(clientId) : undefined;
  if (existing && existing.auth !== declared.auth) {
    throw new Error(`client ${declared.name} authenticates with ${existing.auth}; declare a new client (another name) to change it to ${declared.auth}`);
  }
  if (!clientId || !existing) {
    const made = await clients.create({ name: declared.name, auth: declared.auth, ...(declared.jwksUri ? { jwksUri: declared.jwksUri } : {}), ...settings });
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

  // The deploy-time path alone uses Secrets Manager: its SDK is a bundle chunk loaded here.
  const [sm, { DescribeSecretCommand, PutSecretValueCommand }] = await Promise.all([aws.secretsManager(), import("@aws-sdk/client-secrets-manager")]);
  const described = await sm.send(new DescribeSecretCommand({ SecretId: declared.secretId }));
  const hasValue = Object.values(described.VersionIdsToStages ?? {}).some((stages) => stages.includes("AWSCURRENT"));
  if (hasValue && !created) return { clientId, created, secretWritten: false };
  // Public and private_key_jwt clients have no secret: the owning app still gets its client_id.
  const hasSecret = declared.auth === "secret";
  const secret = hasSecret ? (freshSecret ?? (await clients.rotateSecret(clientId, 0)).clientSecret) : undefined;
  await sm.send(
    new PutSecretValueCommand({
      SecretId: declared.secretId,
      SecretString: JSON.stringify({
        client_id: clientId,
        ...(secret ? { client_secret: secret } : {}),
        issuer: config.issuer,
        token_endpoint: `${config.issuer}/token`,
        ...(declared.redirectUris?.length ? { authorization_endpoint: `${config.issuer}/authorize` } : {}),
      }),
    }),
  );
  return { clientId, created, secretWritten: true };
}
