/**
 * Service clients declared in stack config: the deploy-time ensure-client event creates the
 * client and hands its credentials over through Secrets Manager; a second deploy converges
 * settings without replacing the secret. Needs a Secrets Manager endpoint: the run's backend
 * when it has one (moto, LocalStack, AWS_ENDPOINT_URL), else a private moto_server.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { backend, post, skipIntegration, startTestIssuer, type TestIssuer } from "../support/issuer.js";
import { motoAvailable, startMoto, type Backend } from "../support/backend.js";
import { ensureDeclaredClient, handleDeclaredClientEvent, lifecycleAction, retireDeclaredClient } from "../../functions/clients/declared.js";
import { EMULATOR_CREDENTIALS } from "../../functions/storage/aws.js";

const backendHasSecrets = backend.name !== "embedded";
const canRun = !skipIntegration && (backendHasSecrets || motoAvailable());
if (!canRun) console.warn("[latchkey] declared-client tests skipped: no Secrets Manager emulator (install moto_server)");

describe.skipIf(!canRun)("declared service clients (ensure-client)", () => {
  let t: TestIssuer;
  let moto: Backend | undefined;
  let sm: SecretsManagerClient;

  beforeAll(async () => {
    let endpoint = backend.dynamodbEndpoint;
    if (!backendHasSecrets) {
      moto = await startMoto();
      endpoint = moto.info.dynamodbEndpoint;
    }
    t = await startTestIssuer({ LATCHKEY_SECRETSMANAGER_ENDPOINT: endpoint!, LATCHKEY_CLIENT_CACHE_SECONDS: "0" });
    sm = new SecretsManagerClient({ region: backend.region, endpoint, credentials: EMULATOR_CREDENTIALS });
  });
  afterAll(async () => {
    await t?.close();
    await moto?.stop();
  });

  async function newSecretId(name: string) {
    const out = await sm.send(new CreateSecretCommand({ Name: `dev/${name}-${crypto.randomUUID().slice(0, 6)}` }));
    return out.ARN!;
  }
  const readSecret = async (id: string) => JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: id }))).SecretString!);

  it("creates the client, stores working credentials in Secrets Manager, and converges on redeploy", async () => {
    const secretId = await newSecretId("billing");
    const name = `billing-${crypto.randomUUID().slice(0, 6)}`;
    const first = await ensureDeclaredClient(t.issuer, { name, scopes: ["invoices:read"], audiences: ["https://api.example.com"], secretId });
    expect(first).toMatchObject({ created: true, secretWritten: true });
    const creds = await readSecret(secretId);
    expect(creds).toMatchObject({ client_id: first.clientId, issuer: t.url, token_endpoint: `${t.url}/token` });
    expect(creds.client_secret).toMatch(/^lks_/);

    const basic = { authorization: `Basic ${Buffer.from(`${creds.client_id}:${creds.client_secret}`).toString("base64")}` };
    const token = await post(`${t.url}/token`, "grant_type=client_credentials", { "content-type": "application/x-www-form-urlencoded", ...basic });
    expect(token.status).toBe(200);
    expect(token.json.scope).toBe("invoices:read");

    // Redeploy with a wider scope: same client, same secret, new settings.
    const second = await ensureDeclaredClient(t.issuer, { name, scopes: ["invoices:read", "invoices:write"], audiences: ["https://api.example.com"], secretId });
    expect(second).toEqual({ clientId: first.clientId, created: false, secretWritten: false });
    expect((await readSecret(secretId)).client_secret).toBe(creds.client_secret);
    const again = await post(`${t.url}/token`, "grant_type=client_credentials", { "content-type": "application/x-www-form-urlencoded", ...basic });
    expect(again.json.scope).toBe("invoices:read invoices:write");
  });

  it("issues a fresh secret when the Secrets Manager secret lost its value (a new secret resource)", async () => {
    const name = `jobs-${crypto.randomUUID().slice(0, 6)}`;
    const first = await ensureDeclaredClient(t.issuer, { name, scopes: [], audiences: ["a"], secretId: await newSecretId("jobs") });
    const replacement = await newSecretId("jobs2");
    const second = await ensureDeclaredClient(t.issuer, { name, scopes: [], audiences: ["a"], secretId: replacement });
    expect(second).toMatchObject({ clientId: first.clientId, created: false, secretWritten: true });
    expect((await readSecret(replacement)).client_id).toBe(first.clientId);
  });

  it("retires a client removed from config (the CRUD invocation's delete): disabled, its secret refused, its name free", async () => {
    const name = `reports-${crypto.randomUUID().slice(0, 6)}`;
    const client = { name, scopes: ["reports:read"], audiences: ["a"], secretId: await newSecretId("reports") };
    const created = await ensureDeclaredClient(t.issuer, client);
    const creds = await readSecret(client.secretId);
    const basic = { authorization: `Basic ${Buffer.from(`${creds.client_id}:${creds.client_secret}`).toString("base64")}` };
    const form = { "content-type": "application/x-www-form-urlencoded", ...basic };
    expect((await post(`${t.url}/token`, "grant_type=client_credentials", form)).status).toBe(200);

    // What the AWS provider sends when the Invocation is deleted (lifecycle_scope CRUD).
    const input = { action: "ensure-client", client };
    const deleteEvent = { ...input, tf: { action: "delete", prev_input: input } };
    expect(lifecycleAction(deleteEvent)).toBe("delete");
    const retired = await handleDeclaredClientEvent(t.issuer, deleteEvent);
    expect(retired).toEqual({ action: "retire-client", clientId: created.clientId, disabled: true });
    expect((await t.issuer.clients.read(created.clientId))?.enabled).toBe(false);
    const refused = await post(`${t.url}/token`, "grant_type=client_credentials", form);
    expect(refused.status).toBe(401);
    expect(refused.json.error).toBe("invalid_client");

    // Idempotent: a second delete (a retried destroy) changes nothing.
    expect(await retireDeclaredClient(t.issuer, client)).toEqual({ clientId: undefined, disabled: false });
    // Declared again later: a new client, not the retired one woken up.
    const again = await ensureDeclaredClient(t.issuer, { ...client, secretId: await newSecretId("reports2") });
    expect(again.created).toBe(true);
    expect(again.clientId).not.toBe(created.clientId);
    expect((await t.issuer.clients.read(created.clientId))?.enabled).toBe(false);
  });

  it("converges on the provider's create and update events (CRUD scope), as without a lifecycle", async () => {
    const name = `audit-${crypto.randomUUID().slice(0, 6)}`;
    const client = { name, scopes: [], audiences: ["a"], secretId: await newSecretId("audit") };
    const created = await handleDeclaredClientEvent(t.issuer, { client, tf: { action: "create", prev_input: null } });
    expect(created).toMatchObject({ action: "ensure-client", created: true });
    const updated = await handleDeclaredClientEvent(t.issuer, { client: { ...client, scopes: ["audit:read"] }, tf: { action: "update", prev_input: { client } } });
    expect(updated).toMatchObject({ action: "ensure-client", created: false, clientId: (created as { clientId: string }).clientId });
    expect((await t.issuer.clients.read((created as { clientId: string }).clientId))?.scopes).toEqual(["audit:read"]);
  });

  it("tells the provider's lifecycle actions apart, and refuses an unknown one", () => {
    expect(lifecycleAction({ action: "ensure-client", client: {} })).toBeUndefined();
    expect(lifecycleAction({ tf: { action: "create", prev_input: null } })).toBe("create");
    expect(lifecycleAction({ tf: { action: "update", prev_input: {} } })).toBe("update");
    expect(() => lifecycleAction({ tf: { action: "destroy" } })).toThrow(/unknown lifecycle action/);
  });

  it("declares a public app that signs people in: client_id in the secret, no client_secret", async () => {
    const secretId = await newSecretId("spa");
    const name = `spa-${crypto.randomUUID().slice(0, 6)}`;
    const declared = { name, auth: "none", redirectUris: ["https://app.example.com/cb"], postLogoutRedirectUris: ["https://app.example.com/"], secretId };
    const first = await ensureDeclaredClient(t.issuer, declared);
    const creds = await readSecret(secretId);
    expect(creds).toMatchObject({ client_id: first.clientId, authorization_endpoint: `${t.url}/authorize` });
    expect(creds.client_secret).toBeUndefined();
    expect(await t.issuer.clients.read(first.clientId)).toMatchObject({ auth: "none", redirectUris: ["https://app.example.com/cb"], scopes: ["openid", "profile"] });
    await ensureDeclaredClient(t.issuer, { ...declared, redirectUris: ["https://app.example.com/cb", "https://app.example.com/cb2"] });
    expect((await t.issuer.clients.read(first.clientId))!.redirectUris).toHaveLength(2);
    await expect(ensureDeclaredClient(t.issuer, { ...declared, auth: "secret" })).rejects.toThrow(/new client/);
    await expect(ensureDeclaredClient(t.issuer, { ...declared, name: `${name}-bad`, redirectUris: ["http://app.example.com/cb"] })).rejects.toThrow(/loopback only/);
  });

  it("refuses a malformed declaration", async () => {
    await expect(ensureDeclaredClient(t.issuer, { name: "", secretId: "x" })).rejects.toThrow();
    await expect(ensureDeclaredClient(t.issuer, { name: "ok", secretId: "x", admin: true })).rejects.toThrow();
  });
});
