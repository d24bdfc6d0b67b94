/**
 * Machine clients end to end: a real third-party OAuth client (openid-client) gets tokens with
 * every auth method, and every misuse gets the right error.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as oidc from "openid-client";
import { SignJWT, createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify, decodeJwt, type CryptoKey, type JWK } from "jose";
import { post, skipIntegration, startTestIssuer, type TestIssuer } from "../support/issuer.js";
import { captureLogs } from "../support/logs.js";
import { createIssuer } from "../../functions/issuer.js";
import { loadConfig } from "../../functions/config.js";

const API = "https://api.example.com";
const BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

describe.skipIf(skipIntegration)("machine clients", () => {
  let t: TestIssuer;
  let privateKey: CryptoKey;
  let publicJwk: JWK;

  beforeAll(async () => {
    t = await startTestIssuer({ LATCHKEY_CLIENT_CACHE_SECONDS: "0" });
    const pair = await generateKeyPair("ES256", { extractable: true });
    privateKey = pair.privateKey;
    publicJwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256", use: "sig" };
  });
  afterAll(() => t?.close());

  const discover = (clientId: string, auth: oidc.ClientAuth) =>
    oidc.discovery(new URL(t.url), clientId, undefined, auth, { execute: [oidc.allowInsecureRequests] });

  async function verify(token: string, audience = API) {
    const jwks = createRemoteJWKSet(new URL(`${t.url}/.well-known/jwks.json`));
    return (await jwtVerify(token, jwks, { issuer: t.url, audience, algorithms: ["RS256"], typ: "at+jwt" })).payload;
  }

  const secretClient = (extra: Record<string, unknown> = {}) =>
    t.issuer.clients.create({ name: "svc", scopes: ["read", "write"], audiences: [API, "https://other.example.com"], ...extra });
  const jwtClient = (auth: "private_key_jwt" | "both" = "private_key_jwt") =>
    t.issuer.clients.create({ name: "jwt", auth, scopes: ["read"], audiences: [API], jwks: { keys: [publicJwk] } });

  async function assertion(clientId: string, claims: Record<string, unknown> = {}, key: CryptoKey = privateKey) {
    const now = Math.floor(Date.now() / 1000);
    const payload = { iss: clientId, sub: clientId, aud: `${t.url}/token`, iat: now, exp: now + 60, jti: crypto.randomUUID(), ...claims };
    return new SignJWT(payload).setProtectedHeader({ alg: "ES256", kid: "k1" }).sign(key);
  }

  const form = (params: Record<string, string>, headers: Record<string, string> = {}) =>
    post(`${t.url}/token`, new URLSearchParams(params).toString(), { "content-type": "application/x-www-form-urlencoded", ...headers });

  /** A refused client authentication: the one generic body, and the cause logged with the request id. */
  async function refusedFor(pending: Promise<{ status: number; headers: Headers; json: any }>): Promise<string> {
    const logs = captureLogs();
    let res;
    try {
      res = await pending;
    } finally {
      logs.stop();
    }
    expect(res.status).toBe(401);
    expect(res.json).toEqual({ error: "invalid_client", error_description: "client authentication failed" });
    return String(logs.find(res.headers.get("x-request-id"), "request refused")?.detail);
  }

  describe("with openid-client", () => {
    it("client_secret_basic: token carries client_id, scope and aud and verifies", async () => {
      const { client, clientSecret } = await secretClient();
      const config = await discover(client.clientId, oidc.ClientSecretBasic(clientSecret!));
      const tokens = await oidc.clientCredentialsGrant(config, { scope: "read", audience: API });
      expect(tokens.token_type).toBe("bearer");
      expect(tokens.refresh_token).toBeUndefined();
      const claims = await verify(tokens.access_token);
      expect(claims).toMatchObject({ sub: client.clientId, client_id: client.clientId, scope: "read", aud: API });
    });

    it("client_secret_post: no scope requested gives the client's default scopes", async () => {
      const { client, clientSecret } = await secretClient();
      const config = await discover(client.clientId, oidc.ClientSecretPost(clientSecret!));
      const tokens = await oidc.clientCredentialsGrant(config);
      const claims = await verify(tokens.access_token);
      expect(claims.scope).toBe("read write");
    });

    it("private_key_jwt (RFC 7523)", async () => {
      const { client, clientSecret } = await jwtClient();
      expect(clientSecret).toBeUndefined();
      const config = await discover(client.clientId, oidc.PrivateKeyJwt({ key: privateKey, kid: "k1" }));
      const tokens = await oidc.clientCredentialsGrant(config, { resource: API });
      const claims = await verify(tokens.access_token);
      expect(claims.client_id).toBe(client.clientId);
    });

    it("secret and assertion together for a client that requires both", async () => {
      const { client, clientSecret } = await jwtClient("both");
      const basic = oidc.ClientSecretBasic(clientSecret!);
      const pkjwt = oidc.PrivateKeyJwt({ key: privateKey, kid: "k1" });
      const both: oidc.ClientAuth = (as, c, body, headers) => {
        basic(as, c, body, headers);
        return pkjwt(as, c, body, headers);
      };
      const config = await discover(client.clientId, both);
      const tokens = await oidc.clientCredentialsGrant(config);
      expect((await verify(tokens.access_token)).sub).toBe(client.clientId);
    });

    it("a wrong secret surfaces as invalid_client in the library", async () => {
      const { client } = await secretClient();
      const config = await discover(client.clientId, oidc.ClientSecretBasic("lks_" + "x".repeat(43)));
      await expect(oidc.clientCredentialsGrant(config)).rejects.toMatchObject({
        status: 401,
        cause: [expect.objectContaining({ parameters: expect.objectContaining({ error: "invalid_client" }) })],
      });
    });
  });

  describe("failures", () => {
    const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}` });

    it("wrong secret, unknown client and no credentials: 401 invalid_client with WWW-Authenticate", async () => {
      const { client } = await secretClient();
      for (const headers of [basic(client.clientId, "lks_" + "A".repeat(43)), basic("lkc_" + "B".repeat(22), "lks_" + "A".repeat(43)), {}]) {
        const res = await form({ grant_type: "client_credentials" }, headers);
        expect(res.status).toBe(401);
        expect(res.json.error).toBe("invalid_client");
        expect(res.headers.get("www-authenticate")).toMatch(/^Basic /);
      }
    });

    it("a disabled client is refused (cache TTL 0 here)", async () => {
      const { client, clientSecret } = await secretClient();
      expect((await form({ grant_type: "client_credentials" }, basic(client.clientId, clientSecret!))).status).toBe(200);
      await t.issuer.clients.setEnabled(client.clientId, false);
      expect(await refusedFor(form({ grant_type: "client_credentials" }, basic(client.clientId, clientSecret!)))).toMatch(/disabled/);
    });

    it("scope and audience outside the allow-lists", async () => {
      const { client, clientSecret } = await secretClient();
      const scope = await form({ grant_type: "client_credentials", scope: "read admin" }, basic(client.clientId, clientSecret!));
      expect(scope.status).toBe(400);
      expect(scope.json.error).toBe("invalid_scope");
      const aud = await form({ grant_type: "client_credentials", audience: "https://evil.example" }, basic(client.clientId, clientSecret!));
      expect(aud.status).toBe(400);
      expect(aud.json.error).toBe("invalid_target");
      const res = await form({ grant_type: "client_credentials", resource: "https://evil.example" }, basic(client.clientId, clientSecret!));
      expect(res.json.error).toBe("invalid_target");
    });

    it("a replayed assertion is refused", async () => {
      const { client } = await jwtClient();
      const a = await assertion(client.clientId);
      const params = { grant_type: "client_credentials", client_assertion_type: BEARER_ASSERTION, client_assertion: a };
      expect((await form(params)).status).toBe(200);
      expect(await refusedFor(form(params))).toMatch(/already been used/);
    });

    it("expired, long-lived, wrong-audience and wrongly signed assertions are refused", async () => {
      const { client } = await jwtClient();
      const other = (await generateKeyPair("ES256")).privateKey;
      const now = Math.floor(Date.now() / 1000);
      const cases: [string, Promise<string>, RegExp][] = [
        ["expired", assertion(client.clientId, { exp: now - 120, iat: now - 180 }), /expired/],
        ["long-lived", assertion(client.clientId, { exp: now + 3600 }), /expire within/],
        ["wrong audience", assertion(client.clientId, { aud: "https://elsewhere.example/token" }), /claim aud/],
        ["wrong key", assertion(client.clientId, {}, other), /signature/],
      ];
      for (const [label, pending, message] of cases) {
        const assertionJwt = await pending;
        expect(await refusedFor(form({ grant_type: "client_credentials", client_assertion_type: BEARER_ASSERTION, client_assertion: assertionJwt })), label).toMatch(message);
      }
    });

    it("a 'both' client missing either factor is refused", async () => {
      const { client, clientSecret } = await jwtClient("both");
      expect(await refusedFor(form({ grant_type: "client_credentials" }, basic(client.clientId, clientSecret!)))).toMatch(/both/);
      const assertionJwt = await assertion(client.clientId);
      expect(await refusedFor(form({ grant_type: "client_credentials", client_assertion_type: BEARER_ASSERTION, client_assertion: assertionJwt }))).toMatch(/both/);
    });

    it("a private_key_jwt client cannot use a secret, and a secret client cannot use an assertion", async () => {
      const { client: pk } = await jwtClient();
      const r1 = await form({ grant_type: "client_credentials", client_id: pk.clientId, client_secret: "lks_" + "A".repeat(43) });
      expect(r1.status).toBe(401);
      const { client: sc } = await secretClient();
      const r2 = await form({ grant_type: "client_credentials", client_assertion_type: BEARER_ASSERTION, client_assertion: await assertion(sc.clientId) });
      expect(r2.status).toBe(401);
    });

    it("Basic and post credentials together are refused (RFC 6749 2.3)", async () => {
      const { client, clientSecret } = await secretClient();
      const res = await form({ grant_type: "client_credentials", client_id: client.clientId, client_secret: clientSecret! }, basic(client.clientId, clientSecret!));
      expect(res.status).toBe(400);
    });
  });

  describe("secret rotation", () => {
    it("keeps the old secret valid during the overlap and drops it after", async () => {
      const { client, clientSecret: oldSecret } = await secretClient();
      const { clientSecret: newSecret } = await t.issuer.clients.rotateSecret(client.clientId, 3600);
      const basicOf = (s: string) => ({ authorization: `Basic ${Buffer.from(`${client.clientId}:${s}`).toString("base64")}` });
      expect((await form({ grant_type: "client_credentials" }, basicOf(oldSecret!))).status).toBe(200);
      expect((await form({ grant_type: "client_credentials" }, basicOf(newSecret))).status).toBe(200);
      await t.issuer.clients.rotateSecret(client.clientId, 0);
      expect((await form({ grant_type: "client_credentials" }, basicOf(oldSecret!))).status).toBe(401);
      expect((await form({ grant_type: "client_credentials" }, basicOf(newSecret))).status).toBe(401);
    });

    it("stores only digests: no secret appears in the stored record", async () => {
      const { client, clientSecret } = await secretClient();
      const stored = JSON.stringify(await t.issuer.clients.read(client.clientId));
      expect(stored).not.toContain(clientSecret!);
      expect(stored).not.toContain(clientSecret!.slice(4));
    });
  });

  describe("POST /sign", () => {
    const auth = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}` });

    it("mints caller claims with server-set registered claims, bounded by the grant", async () => {
      const { client, clientSecret } = await secretClient({ maySign: true, accessTokenTtl: 600 });
      const res = await post(`${t.url}/sign`, { claims: { sub: "user-42", email: "a@example.com", scope: "read" }, audience: API, expires_in: 120 }, auth(client.clientId, clientSecret!));
      expect(res.status).toBe(200);
      const claims = await verify(res.json.access_token);
      expect(claims).toMatchObject({ sub: "user-42", email: "a@example.com", scope: "read", client_id: client.clientId, iss: t.url, aud: API });
      expect(claims.exp! - claims.iat!).toBe(120);
    });

    it("refuses clients without the grant, registered claims, out-of-grant scope, lifetime and audience, and oversized claims", async () => {
      const { client: plain, clientSecret: plainSecret } = await secretClient();
      const denied = await post(`${t.url}/sign`, { claims: {} }, auth(plain.clientId, plainSecret!));
      expect(denied.status).toBe(403);
      const { client, clientSecret } = await secretClient({ maySign: true, accessTokenTtl: 600 });
      const h = auth(client.clientId, clientSecret!);
      const cases: [unknown, number, string][] = [
        [{ claims: { iss: "https://evil" } }, 400, "invalid_request"],
        [{ claims: { exp: 9999999999 } }, 400, "invalid_request"],
        [{ claims: { scope: "admin" } }, 400, "invalid_scope"],
        [{ claims: {}, expires_in: 601 }, 400, "invalid_request"],
        [{ claims: {}, audience: "https://evil.example" }, 400, "invalid_target"],
        [{ claims: { blob: "x".repeat(5000) } }, 400, "invalid_request"],
      ];
      for (const [body, status, error] of cases) {
        const res = await post(`${t.url}/sign`, body, h);
        expect(res.status, JSON.stringify(body).slice(0, 60)).toBe(status);
        expect(res.json.error).toBe(error);
      }
      expect((await post(`${t.url}/sign`, { claims: {} })).status).toBe(401);
    });
  });

  describe("GET /validate", () => {
    it("answers 200 with identity headers, 403 for missing scope or audience, 401 for bad tokens", async () => {
      const { client, clientSecret } = await secretClient();
      const tok = await form({ grant_type: "client_credentials", scope: "read" }, { authorization: `Basic ${Buffer.from(`${client.clientId}:${clientSecret}`).toString("base64")}` });
      const bearer = { authorization: `Bearer ${tok.json.access_token}` };
      const ok = await fetch(`${t.url}/validate?scope=read&audience=${encodeURIComponent(API)}`, { headers: bearer });
      expect(ok.status).toBe(200);
      expect(ok.headers.get("x-auth-subject")).toBe(client.clientId);
      expect(ok.headers.get("x-auth-client-id")).toBe(client.clientId);
      expect(ok.headers.get("x-auth-scope")).toBe("read");
      const scope = await fetch(`${t.url}/validate?scope=write&audience=${encodeURIComponent(API)}`, { headers: bearer });
      expect(scope.status).toBe(403);
      expect(scope.headers.get("www-authenticate")).toMatch(/insufficient_scope/);
      const aud = await fetch(`${t.url}/validate?audience=https://other.example.com`, { headers: bearer });
      expect(aud.status).toBe(403);
      const tampered = tok.json.access_token.replace(/\.([^.]+)\./, (_m: string, p: string) => `.${p.slice(0, -2)}AA.`);
      const attempts: Record<string, string>[] = [{}, { authorization: "Bearer nope" }, { authorization: `Bearer ${tampered}` }];
      for (const headers of attempts) {
        const res = await fetch(`${t.url}/validate?audience=${encodeURIComponent(API)}`, { headers });
        expect(res.status).toBe(401);
        expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm="latchkey", error="invalid_token"/);
      }
      expect(decodeJwt(tok.json.access_token).client_id).toBe(client.clientId);
    });
  });

  it("discovery lists the grants and auth methods actually supported", async () => {
    const doc = await (await fetch(`${t.url}/.well-known/oauth-authorization-server`)).json();
    expect(doc.grant_types_supported).toEqual(expect.arrayContaining(["client_credentials", "refresh_token"]));
    expect(doc.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(["client_secret_basic", "client_secret_post", "private_key_jwt"]));
    expect(doc.token_endpoint_auth_signing_alg_values_supported).toContain("ES256");
  });
});

describe.skipIf(skipIntegration)("machine clients across instances", () => {
  it("a client disabled by another instance stops authenticating once this instance's client cache expires, not before", async () => {
    const t = await startTestIssuer({ LATCHKEY_CLIENT_CACHE_SECONDS: "2" });
    try {
      // Another instance on the same storage (the CLI, another Lambda instance).
      const other = createIssuer(loadConfig(t.env));
      const { client, clientSecret } = await other.clients.create({ name: "cached", scopes: ["read"], audiences: [API] });
      const token = () =>
        post(`${t.url}/token`, new URLSearchParams({ grant_type: "client_credentials", audience: API }).toString(), {
          "content-type": "application/x-www-form-urlencoded",
          authorization: "Basic " + Buffer.from(`${client.clientId}:${clientSecret}`).toString("base64"),
        });
      expect((await token()).status).toBe(200); // now cached here
      await other.clients.setEnabled(client.clientId, false);
      expect((await token()).status).toBe(200); // within the cache's 2 s: still the cached record
      await new Promise((r) => setTimeout(r, 2100));
      expect((await token()).status).toBe(401);
    } finally {
      await t.close();
    }
  });
});
