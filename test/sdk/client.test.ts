/** The client SDK against the real local server (no mocks): caching, refresh, retry, errors. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportJWK, generateKeyPair } from "jose";
import { createClient, LatchkeyError } from "../../functions/sdk/index.js";
import { clearDiscoveryCache } from "../../functions/sdk/discovery.js";
import { skipIntegration, startTestIssuer, type TestIssuer } from "../support/issuer.js";

/** A fetch that counts token-endpoint calls (requests still go over real HTTP). */
function countingFetch() {
  const calls = { token: 0, discovery: 0 };
  const f: typeof fetch = (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    if (url.endsWith("/token")) calls.token++;
    if (url.includes("/.well-known/openid-configuration")) calls.discovery++;
    return fetch(input, init);
  };
  return { f, calls };
}

describe.skipIf(skipIntegration)("createClient", () => {
  let t: TestIssuer;
  let short: TestIssuer;
  let resource: Server;
  let resourceUrl: string;
  let rejectNext = 0;

  beforeAll(async () => {
    t = await startTestIssuer();
    short = await startTestIssuer({ LATCHKEY_ACCESS_TOKEN_TTL: "2", LATCHKEY_MAX_ACCESS_TOKEN_TTL: "60" });
    // A resource server that echoes the bearer token, and can be told to answer 401 once.
    resource = createServer((req, res) => {
      if (rejectNext > 0) {
        rejectNext--;
        res.writeHead(401, { "www-authenticate": 'Bearer error="invalid_token"' }).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ auth: req.headers.authorization }));
    });
    await new Promise<void>((r) => resource.listen(0, "127.0.0.1", () => r()));
    resourceUrl = `http://127.0.0.1:${(resource.address() as AddressInfo).port}/thing`;
  });
  afterAll(async () => {
    resource?.close();
    await t?.close();
    await short?.close();
  });

  const secretClient = async (issuer: TestIssuer) => {
    const { client, clientSecret } = await issuer.issuer.clients.create({ name: "sdk", scopes: ["read", "write"], audiences: ["api"] });
    return { clientId: client.clientId, clientSecret: clientSecret! };
  };

  it("makes one token request for many concurrent and sequential calls", async () => {
    const creds = await secretClient(t);
    const { f, calls } = countingFetch();
    const client = createClient({ issuer: t.url, ...creds, scope: "read", fetch: f });
    const tokens = await Promise.all(Array.from({ length: 20 }, () => client.getToken()));
    expect(new Set(tokens).size).toBe(1);
    for (let i = 0; i < 5; i++) await client.fetch(resourceUrl);
    expect(calls.token).toBe(1);
    const res = await client.fetch(resourceUrl);
    expect((await res.json()).auth).toBe(`Bearer ${tokens[0]}`);
  });

  it("refreshes shortly before expiry", async () => {
    const creds = await secretClient(short);
    const { f, calls } = countingFetch();
    const client = createClient({ issuer: short.url, ...creds, fetch: f, refreshSkewSeconds: 1 });
    const first = await client.getToken();
    expect(await client.getToken()).toBe(first);
    await new Promise((r) => setTimeout(r, 1100)); // 2 s lifetime, refresh 1 s before
    const second = await client.getToken();
    expect(second).not.toBe(first);
    expect(calls.token).toBe(2);
  });

  it("on a 401 from the resource server fetches a fresh token once and retries once", async () => {
    const creds = await secretClient(t);
    const { f, calls } = countingFetch();
    const client = createClient({ issuer: t.url, ...creds, fetch: f });
    await client.getToken();
    rejectNext = 1;
    const ok = await client.fetch(resourceUrl, { method: "POST", body: "payload" });
    expect(ok.status).toBe(200);
    expect(calls.token).toBe(2);
    rejectNext = 5; // still 401 after the retry: returned as is, no loop
    const still = await client.fetch(resourceUrl);
    expect(still.status).toBe(401);
    expect(calls.token).toBe(3);
    rejectNext = 0;
  });

  it("authenticates with private_key_jwt", async () => {
    const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: "sdk-1", alg: "ES256" };
    const { client } = await t.issuer.clients.create({ name: "sdk-jwt", auth: "private_key_jwt", scopes: ["read"], audiences: ["api"], jwks: { keys: [jwk] } });
    const sdk = createClient({ issuer: t.url, clientId: client.clientId, privateKey, privateKeyAlg: "ES256", privateKeyId: "sdk-1" });
    const token = await sdk.getToken();
    expect(JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()).client_id).toBe(client.clientId);
  });

  it("reports invalid_client without the secret in the message", async () => {
    const creds = await secretClient(t);
    const wrong = "lks_" + "Z".repeat(43);
    const client = createClient({ issuer: t.url, clientId: creds.clientId, clientSecret: wrong });
    const err = (await client.getToken().catch((e: unknown) => e)) as LatchkeyError;
    expect(err).toBeInstanceOf(LatchkeyError);
    expect(err.code).toBe("invalid_client");
    expect(err.status).toBe(401);
    expect(`${err.message} ${err.stack}`).not.toContain(wrong);
  });

  it("reports invalid_scope and discovery and network failures with stable codes", async () => {
    const creds = await secretClient(t);
    await expect(createClient({ issuer: t.url, ...creds, scope: "admin" }).getToken()).rejects.toMatchObject({ code: "invalid_scope" });
    clearDiscoveryCache();
    const nothing = "http://127.0.0.1:9"; // discard port: nothing listens
    await expect(createClient({ issuer: nothing, ...creds }).getToken()).rejects.toMatchObject({ code: "discovery_failed" });
    // Discovery succeeds, then the token endpoint is unreachable.
    let n = 0;
    const flaky: typeof fetch = (input, init) => (n++ === 0 ? fetch(input, init) : Promise.reject(new TypeError("fetch failed")));
    clearDiscoveryCache();
    const err = (await createClient({ issuer: t.url, ...creds, fetch: flaky }).getToken().catch((e: unknown) => e)) as LatchkeyError;
    expect(err.code).toBe("network_error");
    expect(err.message).not.toContain(creds.clientSecret);
    clearDiscoveryCache();
  });
});
