/** The verifier's `checkRevocation` option against the real local server (RFC 7662 introspection). */
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { latchkeyAuth, verifyAccessToken } from "../../functions/sdk/index.js";
import { clearRevocationCache } from "../../functions/sdk/revocation.js";
import { GOOD_PASSWORD, post, skipIntegration, startTestIssuer, uniqueName, type TestIssuer } from "../support/issuer.js";

describe.skipIf(skipIntegration)("verifier checkRevocation", () => {
  let t: TestIssuer;
  let credentials: { clientId: string; clientSecret: string };
  beforeAll(async () => {
    t = await startTestIssuer({ LATCHKEY_REVOCATION_CACHE_SECONDS: "1" });
    const { client, clientSecret } = await t.issuer.clients.create({ name: "api", audiences: ["orders"] });
    credentials = { clientId: client.clientId, clientSecret: clientSecret! };
  });
  afterAll(() => t?.close());

  async function userToken(): Promise<string> {
    const username = uniqueName();
    await post(`${t.url}/register`, { username, password: GOOD_PASSWORD });
    return (await post(`${t.url}/login`, { username, password: GOOD_PASSWORD })).json.access_token as string;
  }
  const revoke = (token: string) => post(`${t.url}/revoke`, { token });

  it("is off by default: a revoked token still verifies by signature alone", async () => {
    const token = await userToken();
    await revoke(token);
    await expect(verifyAccessToken(token, { issuer: t.url, audience: "latchkey" })).resolves.toMatchObject({ iss: t.url });
  });

  it("refuses a revoked token with invalid_token, and passes an active one", async () => {
    clearRevocationCache();
    const token = await userToken();
    const options = { issuer: t.url, audience: "latchkey", checkRevocation: credentials };
    await expect(verifyAccessToken(token, options)).resolves.toMatchObject({ iss: t.url });
    await revoke(token);
    await expect(verifyAccessToken(token, options)).rejects.toMatchObject({ code: "invalid_token", status: 401, reason: "revoked", message: expect.stringMatching(/revoked/) });
  });

  it("honours cacheSeconds: a revocation reaches the verifier within it", async () => {
    clearRevocationCache();
    const token = await userToken();
    const options = { issuer: t.url, audience: "latchkey", checkRevocation: { ...credentials, cacheSeconds: 2 } };
    await verifyAccessToken(token, options);
    const revokedAt = Date.now();
    await revoke(token);
    await expect(verifyAccessToken(token, options)).resolves.toBeTruthy(); // still the cached answer
    let refusedAfter = Infinity;
    while (Date.now() - revokedAt < 5000) {
      try {
        await verifyAccessToken(token, options);
      } catch {
        refusedAfter = Date.now() - revokedAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(refusedAfter).toBeLessThanOrEqual(2000 + 500);
  });

  it("fails closed with invalid_client when the issuer refuses the credentials", async () => {
    clearRevocationCache();
    const token = await userToken();
    const options = { issuer: t.url, audience: "latchkey", checkRevocation: { clientId: credentials.clientId, clientSecret: "lks_" + "x".repeat(43) } };
    await expect(verifyAccessToken(token, options)).rejects.toMatchObject({ code: "invalid_client" });
  });

  it("the middleware passes it through: 401 for a revoked token", async () => {
    clearRevocationCache();
    const token = await userToken();
    const app = new Hono();
    app.use("/me", latchkeyAuth({ issuer: t.url, audience: "latchkey", checkRevocation: credentials }));
    app.get("/me", (c) => c.text("ok"));
    expect((await app.request("/me", { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    await revoke(token);
    const refused = await app.request("/me", { headers: { authorization: `Bearer ${token}` } });
    expect(refused.status).toBe(401);
  });
});
