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
import { ensureDeclaredClient } from "../../functions/clients/declared.js";
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

  it("refuses a malformed declaration", async () => {
    await expect(ensureDeclaredClient(t.issuer, { name: "", secretId: "x" })).rejects.toThrow();
    await expect(ensureDeclaredClient(t.issuer, { name: "ok", secretId: "x", admin: true })).rejects.toThrow();
  });
});
