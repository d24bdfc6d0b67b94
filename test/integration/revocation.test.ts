/**
 * Revocation that resource servers can see, end to end against the local server: /introspect
 * (RFC 7662) with every client authentication method, /revoke for access tokens, refresh
 * reuse and logout ending a session's access tokens, disabled clients, and the propagation
 * bound README states (LATCHKEY_REVOCATION_CACHE_SECONDS) across two instances.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SignJWT, decodeJwt, exportJWK, generateKeyPair, type CryptoKey, type JWK } from "jose";
import { sign } from "node:crypto";
import { loadConfig } from "../../functions/config.js";
import { createIssuer } from "../../functions/issuer.js";
import { listen, freePort } from "../../functions/local/server.js";
import { newSessionId } from "../../functions/tokens/refresh-tokens.js";
import { GOOD_PASSWORD, post, skipIntegration, startTestIssuer, uniqueName, type TestIssuer } from "../support/issuer.js";

const API = "https://api.example.com";
const BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const CACHE_SECONDS = 2;

describe.skipIf(skipIntegration)("revocation resource servers can see", () => {
  let t: TestIssuer;
  let privateKey: CryptoKey;
  let publicJwk: JWK;
  let introspector: { clientId: string; secret: string };

  beforeAll(async () => {
    t = await startTestIssuer({ LATCHKEY_CLIENT_CACHE_SECONDS: "0", LATCHKEY_REVOCATION_CACHE_SECONDS: String(CACHE_SECONDS) });
    const pair = await generateKeyPair("ES256", { extractable: true });
    privateKey = pair.privateKey;
    publicJwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256", use: "sig" };
    const { client, clientSecret } = await t.issuer.clients.create({ name: "rs", scopes: ["read"], audiences: [API] });
    introspector = { clientId: client.clientId, secret: clientSecret! };
  });
  afterAll(() => t?.close());

  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`;
  const form = (path: string, params: Record<string, string>, headers: Record<string, string> = {}, base = t.url) =>
    post(`${base}${path}`, new URLSearchParams(params).toString(), { "content-type": "application/x-www-form-urlencoded", ...headers });
  const introspect = (token: string, base = t.url) =>
    form("/introspect", { token }, { authorization: basic(introspector.clientId, introspector.secret) }, base);
  const validate = (token: string, base = t.url) =>
    fetch(`${base}/validate?audience=${encodeURIComponent(String(decodeJwt(token).aud))}`, { headers: { authorization: `Bearer ${token}` } });

  async function login(name = uniqueName()) {
    await post(`${t.url}/register`, { username: name, password: GOOD_PASSWORD });
    const res = await post(`${t.url}/login`, { username: name, password: GOOD_PASSWORD });
    expect(res.status).toBe(200);
    return { name, accessToken: res.json.access_token as string, refreshToken: res.json.refresh_token as string };
  }

  async function assertion(clientId: string) {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: clientId, sub: clientId, aud: t.url, iat: now, exp: now + 60, jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .sign(privateKey);
  }

  describe("access tokens", () => {
    it("carry sid, an opaque session id that is not the refresh token's family id", async () => {
      const { accessToken, refreshToken } = await login();
      const claims = decodeJwt(accessToken);
      expect(claims.sid).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(refreshToken).not.toContain(claims.sid as string);
      const refreshed = await post(`${t.url}/refresh`, { refresh_token: refreshToken });
      expect(decodeJwt(refreshed.json.access_token).sid).toBe(claims.sid);
    });

    it("/sign cannot set sid: only the issuer names sessions", async () => {
      const { client, clientSecret } = await t.issuer.clients.create({ name: "signer", audiences: [API], maySign: true });
      const res = await post(`${t.url}/sign`, { claims: { sid: "forged" } }, { authorization: basic(client.clientId, clientSecret!) });
      expect(res.status).toBe(400);
      expect(res.json.error_description).toMatch(/sid/);
    });
  });

  describe("POST /introspect", () => {
    it("describes an active access token with exactly the RFC 7662 fields", async () => {
      const { accessToken } = await login();
      const claims = decodeJwt(accessToken);
      const res = await introspect(accessToken);
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(res.json).toEqual({
        active: true,
        sub: claims.sub,
        scope: claims.scope,
        aud: claims.aud,
        iss: t.url,
        exp: claims.exp,
        iat: claims.iat,
        token_type: "Bearer",
        sid: claims.sid,
      });
    });

    it("authenticates the caller with client_secret_basic, client_secret_post, private_key_jwt and both", async () => {
      const { accessToken } = await login();
      const post_ = await form("/introspect", { token: accessToken, client_id: introspector.clientId, client_secret: introspector.secret });
      expect(post_.json.active).toBe(true);
      const jwtClient = (await t.issuer.clients.create({ name: "jwt", auth: "private_key_jwt", audiences: [API], jwks: { keys: [publicJwk] } })).client;
      const viaJwt = await form("/introspect", { token: accessToken, client_assertion_type: BEARER_ASSERTION, client_assertion: await assertion(jwtClient.clientId) });
      expect(viaJwt.status).toBe(200);
      expect(viaJwt.json.active).toBe(true);
      const both = await t.issuer.clients.create({ name: "both", auth: "both", audiences: [API], jwks: { keys: [publicJwk] } });
      const onlySecret = await form("/introspect", { token: accessToken }, { authorization: basic(both.client.clientId, both.clientSecret!) });
      expect(onlySecret.status).toBe(401);
      const viaBoth = await form(
        "/introspect",
        { token: accessToken, client_assertion_type: BEARER_ASSERTION, client_assertion: await assertion(both.client.clientId) },
        { authorization: basic(both.client.clientId, both.clientSecret!) },
      );
      expect(viaBoth.json.active).toBe(true);
    });

    it("answers 401 invalid_client to unauthenticated and wrongly authenticated callers", async () => {
      const { accessToken } = await login();
      const none = await form("/introspect", { token: accessToken });
      expect(none.status).toBe(401);
      expect(none.json.error).toBe("invalid_client");
      expect(none.headers.get("www-authenticate")).toMatch(/^Basic/);
      const wrong = await form("/introspect", { token: accessToken }, { authorization: basic(introspector.clientId, "lks_" + "x".repeat(43)) });
      expect(wrong.status).toBe(401);
    });

    it("says only {active:false} for garbage, a forged signature, an expired token and another issuer's token", async () => {
      const key = await t.issuer.keys.signingKey();
      const now = Math.floor(Date.now() / 1000);
      const mint = (claims: Record<string, unknown>) => {
        const input = `${key.encodedHeader}.${Buffer.from(JSON.stringify({ iss: t.url, sub: "u", aud: API, iat: now - 100, nbf: now - 100, exp: now + 100, jti: "x", ...claims })).toString("base64url")}`;
        return `${input}.${sign("sha256", Buffer.from(input), key.privateKey).toString("base64url")}`;
      };
      const valid = mint({});
      expect((await introspect(valid)).json.active).toBe(true); // the minting is right, so the refusals below mean something
      const forged = valid.slice(0, -4) + (valid.endsWith("AAAA") ? "BBBB" : "AAAA");
      for (const token of ["garbage", "a.b.c", forged, mint({ exp: now - 10 }), mint({ iss: "https://other.example" }), mint({ sid: 5 }), mint({ jti: ["x"] }), "lkr_" + "A".repeat(65)]) {
        const res = await introspect(token);
        expect(res.status, token).toBe(200);
        expect(res.json, token).toEqual({ active: false });
      }
    });

    it("never calls a /login refresh token active: it was issued to no client", async () => {
      const { refreshToken } = await login();
      expect((await introspect(refreshToken)).json).toEqual({ active: false });
    });

    it("calls a refresh token active only for the client it was issued to", async () => {
      // Families issued to a client come from the browser sign-in flow; started here directly.
      const name = uniqueName();
      const user = await t.issuer.users.register(name, GOOD_PASSWORD);
      const account = (await t.issuer.users.byName(name))!;
      const sid = newSessionId();
      const token = await t.issuer.refreshTokens.start({ sub: user.sub, user: account.key, sid, aud: API, scope: ["read"], clientId: introspector.clientId });
      const res = await introspect(token);
      expect(res.json).toMatchObject({ active: true, sub: user.sub, client_id: introspector.clientId, scope: "read", aud: API, iss: t.url, token_type: "refresh_token", sid });
      const other = await t.issuer.clients.create({ name: "other", audiences: [API] });
      const byOther = await form("/introspect", { token }, { authorization: basic(other.client.clientId, other.clientSecret!) });
      expect(byOther.json).toEqual({ active: false });
    });

    it("is listed in both discovery documents", async () => {
      for (const path of ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"]) {
        const meta = (await (await fetch(`${t.url}${path}`)).json()) as Record<string, unknown>;
        expect(meta.introspection_endpoint).toBe(`${t.url}/introspect`);
      }
    });
  });

  describe("what revokes an access token", () => {
    it("POST /revoke with the access token (hinted or detected): inactive at /introspect and /validate", async () => {
      for (const hint of [{ token_type_hint: "access_token" }, {}, { token_type_hint: "refresh_token" }] as Record<string, string>[]) {
        const { accessToken } = await login();
        expect((await validate(accessToken)).status).toBe(200);
        const res = await form("/revoke", { token: accessToken, ...hint });
        expect(res.status).toBe(200);
        expect((await introspect(accessToken)).json).toEqual({ active: false });
        expect((await validate(accessToken)).status).toBe(401);
      }
    });

    it("revoking one access token leaves the session's other tokens alone", async () => {
      const { accessToken, refreshToken } = await login();
      const second = (await post(`${t.url}/refresh`, { refresh_token: refreshToken })).json.access_token as string;
      await form("/revoke", { token: accessToken });
      expect((await introspect(second)).json.active).toBe(true);
    });

    it("logout (/revoke of the refresh token) ends the session's access tokens", async () => {
      const { accessToken, refreshToken } = await login();
      await form("/revoke", { token: refreshToken });
      expect((await introspect(accessToken)).json).toEqual({ active: false });
      expect((await validate(accessToken)).status).toBe(401);
    });

    it("refresh-token reuse ends the session's access tokens, the newest one included", async () => {
      const { refreshToken } = await login();
      const next = await post(`${t.url}/refresh`, { refresh_token: refreshToken });
      expect((await introspect(next.json.access_token)).json.active).toBe(true);
      const reuse = await post(`${t.url}/refresh`, { refresh_token: refreshToken });
      expect(reuse.json.error).toBe("invalid_grant");
      expect((await introspect(next.json.access_token)).json).toEqual({ active: false });
    });

    it("a disabled client's tokens are inactive; enabling it again lets new tokens pass, not the old ones", async () => {
      const { client, clientSecret } = await t.issuer.clients.create({ name: "svc", scopes: ["read"], audiences: [API] });
      const auth = { authorization: basic(client.clientId, clientSecret!) };
      const old = (await form("/token", { grant_type: "client_credentials" }, auth)).json.access_token as string;
      expect((await introspect(old)).json.active).toBe(true);
      await t.issuer.clients.setEnabled(client.clientId, false);
      expect((await introspect(old)).json).toEqual({ active: false });
      expect((await validate(old)).status).toBe(401);
      await t.issuer.clients.setEnabled(client.clientId, true);
      await new Promise((r) => setTimeout(r, 1100)); // a new token's iat must be past the mark's second
      const fresh = (await form("/token", { grant_type: "client_credentials" }, auth)).json.access_token as string;
      expect((await introspect(fresh)).json.active).toBe(true);
      expect((await introspect(old)).json.active).toBe(false);
    });
  });

  it(`another instance sees a revocation within LATCHKEY_REVOCATION_CACHE_SECONDS (${CACHE_SECONDS} s here)`, async () => {
    // A second instance on the same table, as a second warm Lambda would be.
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const other = createIssuer(loadConfig({ ...t.env }));
    const server = await listen(other, port);
    try {
      const { accessToken } = await login();
      // The other instance reads (and caches) "not revoked"...
      expect((await validate(accessToken, url)).status).toBe(200);
      expect((await introspect(accessToken, url)).json.active).toBe(true);
      // ...then this instance revokes it.
      const revokedAt = Date.now();
      await form("/revoke", { token: accessToken });
      let inactiveAfter: number | undefined;
      while (Date.now() - revokedAt < (CACHE_SECONDS + 3) * 1000) {
        const [v, i] = await Promise.all([validate(accessToken, url), introspect(accessToken, url)]);
        if (v.status === 401 && i.json.active === false) {
          inactiveAfter = Date.now() - revokedAt;
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(inactiveAfter).toBeDefined();
      expect(inactiveAfter!).toBeLessThanOrEqual(CACHE_SECONDS * 1000 + 500);
    } finally {
      await server.close();
    }
  });
});
