/**
 * Tokens checked by an independent verifier the way an API Gateway HTTP API JWT authorizer
 * does: discovery from `{issuer}/.well-known/openid-configuration`, the JWKS it names, a kid
 * present in it, RSA/RS256, iss equal to the issuer, aud among the configured audiences,
 * exp/nbf/iat, and route scopes from the `scope` claim.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from "jose";
import { GOOD_PASSWORD, post, skipIntegration, startTestIssuer, uniqueName, type TestIssuer } from "../support/issuer.js";

/** What API Gateway does with an incoming bearer token, written out. */
async function authorize(issuer: string, audiences: string[], token: string, routeScopes: string[] = []): Promise<JWTPayload> {
  const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as { issuer: string; jwks_uri: string };
  if (discovery.issuer !== issuer) throw new Error("discovery issuer mismatch");
  const jwks = (await (await fetch(discovery.jwks_uri)).json()) as { keys: { kid: string; kty: string; alg?: string }[] };
  const header = decodeProtectedHeader(token);
  const key = jwks.keys.find((k) => k.kid === header.kid);
  if (!key) throw new Error("kid not in JWKS");
  if (key.kty !== "RSA" || header.alg !== "RS256") throw new Error("only RSA/RS256 is accepted");
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(discovery.jwks_uri)), {
    issuer,
    audience: audiences,
    algorithms: ["RS256"],
    requiredClaims: ["exp", "iat", "nbf"],
  });
  const granted = String(payload.scope ?? "").split(" ");
  if (routeScopes.length && !routeScopes.some((s) => granted.includes(s))) throw new Error("insufficient scope");
  return payload;
}

describe.skipIf(skipIntegration)("API Gateway JWT authorizer rules", () => {
  let t: TestIssuer;
  let shortLived: TestIssuer;
  beforeAll(async () => {
    t = await startTestIssuer({ LATCHKEY_USER_AUDIENCES: "https://api.example.com" });
    shortLived = await startTestIssuer({ LATCHKEY_ACCESS_TOKEN_TTL: "1", LATCHKEY_MAX_ACCESS_TOKEN_TTL: "60" });
  });
  afterAll(async () => {
    await t?.close();
    await shortLived?.close();
  });

  async function userToken(url: string) {
    const username = uniqueName();
    await post(`${url}/register`, { username, password: GOOD_PASSWORD });
    return (await post(`${url}/login`, { username, password: GOOD_PASSWORD, scope: "openid" })).json.access_token as string;
  }

  it("accepts user tokens with the right issuer, audience and route scope", async () => {
    const payload = await authorize(t.url, ["https://api.example.com"], await userToken(t.url), ["openid"]);
    expect(payload.iss).toBe(t.url);
  });

  it("accepts machine tokens and matches route scopes against the scope claim", async () => {
    const { client, clientSecret } = await t.issuer.clients.create({ name: "svc", scopes: ["orders:read", "orders:write"], audiences: ["https://api.example.com"] });
    const res = await post(`${t.url}/token`, `grant_type=client_credentials&scope=orders:read`, {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${Buffer.from(`${client.clientId}:${clientSecret}`).toString("base64")}`,
    });
    const token = res.json.access_token as string;
    expect((await authorize(t.url, ["https://api.example.com"], token, ["orders:read"])).client_id).toBe(client.clientId);
    await expect(authorize(t.url, ["https://api.example.com"], token, ["orders:write"])).rejects.toThrow(/insufficient scope/);
  });

  it("rejects a wrong audience, a tampered payload and a foreign issuer", async () => {
    const token = await userToken(t.url);
    await expect(authorize(t.url, ["https://other.example.com"], token)).rejects.toThrow(/aud/);
    const [h, p, s] = token.split(".");
    const claims = JSON.parse(Buffer.from(p!, "base64url").toString());
    const forged = [h, Buffer.from(JSON.stringify({ ...claims, sub: "admin" })).toString("base64url"), s].join(".");
    await expect(authorize(t.url, ["https://api.example.com"], forged)).rejects.toThrow(/signature/);
    // A token from another Latchkey stack does not pass this issuer's authorizer.
    await expect(authorize(t.url, ["latchkey"], await userToken(shortLived.url))).rejects.toThrow();
  });

  it("rejects an expired token", async () => {
    const token = await userToken(shortLived.url);
    await new Promise((r) => setTimeout(r, 2100));
    await expect(authorize(shortLived.url, ["latchkey"], token)).rejects.toThrow(/exp/);
  });
});
