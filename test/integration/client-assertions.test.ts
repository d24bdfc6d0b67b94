/**
 * private_key_jwt assertions: the audience rules of draft-ietf-oauth-rfc7523bis (one string,
 * the issuer or the token endpoint) and iat not in the future. Each refused case differs from an
 * accepted one in the claim under test only, so the refusal is that rule's doing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from "jose";
import { post, skipIntegration, startTestIssuer, type TestIssuer } from "../support/issuer.js";

const API = "https://api.example.com";
const BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

describe.skipIf(skipIntegration)("client assertion claims", () => {
  let t: TestIssuer;
  let privateKey: CryptoKey;
  let publicJwk: JWK;
  let clientId: string;

  beforeAll(async () => {
    t = await startTestIssuer();
    const pair = await generateKeyPair("ES256", { extractable: true });
    privateKey = pair.privateKey;
    publicJwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256", use: "sig" };
    ({ client: { clientId } } = await t.issuer.clients.create({
      name: "jwt",
      auth: "private_key_jwt",
      scopes: ["read"],
      audiences: [API],
      jwks: { keys: [publicJwk] },
    }));
  });
  afterAll(() => t?.close());

  async function tokenWith(claims: Record<string, unknown>) {
    const now = Math.floor(Date.now() / 1000);
    const payload = { iss: clientId, sub: clientId, aud: `${t.url}/token`, iat: now, exp: now + 60, jti: crypto.randomUUID(), ...claims };
    const assertion = await new SignJWT(payload).setProtectedHeader({ alg: "ES256", kid: "k1" }).sign(privateKey);
    const body = new URLSearchParams({ grant_type: "client_credentials", client_assertion_type: BEARER_ASSERTION, client_assertion: assertion });
    return post(`${t.url}/token`, body.toString(), { "content-type": "application/x-www-form-urlencoded" });
  }

  it.each([
    ["the issuer identifier", (url: string) => url],
    ["the token endpoint", (url: string) => `${url}/token`],
  ])("accepts aud = %s as a single string", async (_label, aud) => {
    const res = await tokenWith({ aud: aud(t.url) });
    expect(res.status).toBe(200);
  });

  it.each([
    ["a one-element array", (url: string) => [`${url}/token`]],
    ["an array with another audience", (url: string) => [`${url}/token`, "https://other-server.example/token"]],
    ["an array of the issuer and the token endpoint", (url: string) => [url, `${url}/token`]],
    ["the /sign URL", (url: string) => `${url}/sign`],
    ["another server's token endpoint", () => "https://other-server.example/token"],
    ["the issuer with a trailing slash", (url: string) => `${url}/`],
  ])("refuses aud = %s", async (_label, aud) => {
    const res = await tokenWith({ aud: aud(t.url) });
    expect(res.status).toBe(401);
    expect(res.json.error).toBe("invalid_client");
  });

  it("refuses an iat beyond the clock skew in the future, accepts one within it", async () => {
    const now = Math.floor(Date.now() / 1000);
    const future = await tokenWith({ iat: now + 120, exp: now + 180 });
    expect(future.status).toBe(401);
    expect(future.json.error).toBe("invalid_client");
    expect((await tokenWith({ iat: now + 10, exp: now + 70 })).status).toBe(200);
  });
});
