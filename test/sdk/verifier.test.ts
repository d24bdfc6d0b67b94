/** verifyAccessToken and the middleware against the real local server, including rotation. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { generateKeyPairSync } from "node:crypto";
import { Hono } from "hono";
import { SignJWT, type JWTPayload } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUserSession, latchkeyAuth, requireAccessToken, verifyAccessToken, type RequestWithClaims } from "../../functions/sdk/index.js";
import { GOOD_PASSWORD, post, skipIntegration, startTestIssuer, uniqueName, type TestIssuer } from "../support/issuer.js";

describe.skipIf(skipIntegration)("verifier and middleware", () => {
  let t: TestIssuer;
  let token: string;
  beforeAll(async () => {
    t = await startTestIssuer({ LATCHKEY_KEY_CACHE_SECONDS: "1" });
    const { client, clientSecret } = await t.issuer.clients.create({ name: "v", scopes: ["orders:read", "orders:write"], audiences: ["orders"] });
    const res = await post(`${t.url}/token`, "grant_type=client_credentials&scope=orders:read", {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${Buffer.from(`${client.clientId}:${clientSecret}`).toString("base64")}`,
    });
    token = res.json.access_token;
  });
  afterAll(() => t?.close());

  it("verifies a token and enforces audience and scopes", async () => {
    const claims = await verifyAccessToken(token, { issuer: t.url, audience: "orders", requiredScopes: ["orders:read"] });
    expect(claims.scope).toBe("orders:read");
    await expect(verifyAccessToken(token, { issuer: t.url, audience: "billing" })).rejects.toMatchObject({ code: "invalid_token", status: 401 });
    await expect(verifyAccessToken(token, { issuer: t.url, audience: "orders", requiredScopes: ["orders:write"] })).rejects.toMatchObject({ code: "insufficient_scope", status: 403 });
    await expect(verifyAccessToken(token.slice(0, -4) + "AAAA", { issuer: t.url, audience: "orders" })).rejects.toMatchObject({ code: "invalid_token" });
  });

  it("says why a token is refused: a stable reason on the error and first in the challenge's description", async () => {
    const { kid, privateKey } = await t.issuer.keys.signingKey();
    const now = Math.floor(Date.now() / 1000);
    const base: JWTPayload = { iss: t.url, aud: "orders", sub: "svc", iat: now, exp: now + 300, scope: "orders:read" };
    const sign = (claims: JWTPayload, key: Parameters<SignJWT["sign"]>[0] = privateKey, alg = "RS256") =>
      new SignJWT(claims).setProtectedHeader({ alg, kid, typ: "at+jwt" }).sign(key);
    const { sub: _sub, ...noSub } = base;
    const stranger = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    const cases: [string, string, string[]?][] = [
      [await sign(base), "ok"],
      [await sign({ ...base, iat: now - 600, exp: now - 300 }), "expired"],
      [await sign({ ...base, nbf: now + 600 }), "not_yet_valid"],
      [await sign({ ...base, aud: "billing" }), "audience"],
      [await sign({ ...base, iss: "https://issuer.example" }), "issuer"],
      [await sign(base, stranger), "signature"],
      [await sign(base, new TextEncoder().encode("x".repeat(32)), "HS256"), "signature"],
      [await sign(noSub), "malformed"],
      ["a.b.c", "malformed"],
      [await sign(base), "scope", ["orders:write"]],
    ];
    for (const [token, reason, requiredScopes] of cases) {
      const options = { issuer: t.url, audience: "orders", ...(requiredScopes ? { requiredScopes } : {}) };
      const outcome = await verifyAccessToken(token, options).then(() => "ok", (e: { reason?: string; code: string }) => e);
      if (reason === "ok") {
        expect(outcome).toBe("ok");
        continue;
      }
      expect(outcome, reason).toMatchObject({ code: reason === "scope" ? "insufficient_scope" : "invalid_token", reason });
      const app = new Hono();
      app.use("/", latchkeyAuth(options));
      const res = await app.request("/", { headers: { authorization: `Bearer ${token}` } });
      const challenge = res.headers.get("www-authenticate")!;
      expect(challenge, reason).toMatch(new RegExp(`error_description="${reason}: `));
      // Nothing of the token, nor the values the API expects, is echoed back.
      expect(challenge, reason).not.toContain(token.split(".")[1] || "b");
      expect(challenge, reason).not.toContain("billing");
      expect(challenge, reason).not.toContain("issuer.example");
      expect((await res.json()) as object, reason).toMatchObject({ error_description: expect.stringMatching(new RegExp(`^${reason}: `)) });
    }
    await expect(verifyAccessToken(await sign(base), { issuer: t.url, audience: "orders" })).resolves.toMatchObject({ sub: "svc" });
  });

  it("picks up a key that appears after rotation (new kid triggers a refetch)", async () => {
    await verifyAccessToken(token, { issuer: t.url, audience: "orders" }); // JWKS now cached
    // Revoke the current key: the next token is signed by a key the verifier has not seen.
    const kid = JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString()).kid;
    await t.issuer.keys.revoke(kid);
    const username = uniqueName();
    await post(`${t.url}/register`, { username, password: GOOD_PASSWORD });
    const fresh = (await post(`${t.url}/login`, { username, password: GOOD_PASSWORD })).json.access_token as string;
    expect(JSON.parse(Buffer.from(fresh.split(".")[0]!, "base64url").toString()).kid).not.toBe(kid);
    const claims = await verifyAccessToken(fresh, { issuer: t.url, audience: "latchkey" });
    expect(claims.sub).toBeTruthy();
  });

  it("Hono middleware: 401 with a challenge, 403 for scope, claims for the handler", async () => {
    const session = await freshToken();
    const app = new Hono<{ Variables: { latchkeyClaims: { sub: string } } }>();
    app.use("/me", latchkeyAuth({ issuer: t.url, audience: "latchkey", requiredScopes: ["openid"] }));
    app.get("/me", (c) => c.json({ sub: c.get("latchkeyClaims").sub }));
    app.use("/admin", latchkeyAuth({ issuer: t.url, audience: "latchkey", requiredScopes: ["admin"] }));
    app.get("/admin", (c) => c.text("no"));
    const none = await app.request("/me");
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe('Bearer realm="api"');
    const bad = await app.request("/me", { headers: { authorization: "Bearer a.b.c" } });
    expect(bad.status).toBe(401);
    expect(bad.headers.get("www-authenticate")).toMatch(/error="invalid_token"/);
    const ok = await app.request("/me", { headers: { authorization: `Bearer ${session.token}` } });
    expect(await ok.json()).toEqual({ sub: session.sub });
    const forbidden = await app.request("/admin", { headers: { authorization: `Bearer ${session.token}` } });
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get("www-authenticate")).toMatch(/error="insufficient_scope", .*scope="admin"/);
  });

  it("node:http middleware", async () => {
    const session = await freshToken();
    const guard = requireAccessToken({ issuer: t.url, audience: "latchkey" });
    const server: Server = createServer((req, res) =>
      guard(req as RequestWithClaims, res, () => res.end(JSON.stringify({ sub: (req as RequestWithClaims).latchkeyClaims!.sub }))),
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      expect((await fetch(url)).status).toBe(401);
      const ok = await fetch(url, { headers: { authorization: `Bearer ${session.token}` } });
      expect(await ok.json()).toEqual({ sub: session.sub });
    } finally {
      server.close();
    }
  });

  async function freshToken() {
    const username = uniqueName();
    const reg = await post(`${t.url}/register`, { username, password: GOOD_PASSWORD });
    const login = await post(`${t.url}/login`, { username, password: GOOD_PASSWORD });
    return { token: login.json.access_token as string, sub: reg.json.sub as string };
  }
});

describe.skipIf(skipIntegration)("createUserSession", () => {
  let t: TestIssuer;
  beforeAll(async () => {
    t = await startTestIssuer({ LATCHKEY_ACCESS_TOKEN_TTL: "2", LATCHKEY_MAX_ACCESS_TOKEN_TTL: "60" });
  });
  afterAll(() => t?.close());

  async function user() {
    const username = uniqueName();
    await post(`${t.url}/register`, { username, password: GOOD_PASSWORD });
    return username;
  }

  it("logs in, refreshes before expiry, and logs out (revoking the session)", async () => {
    const session = createUserSession({ issuer: t.url, refreshSkewSeconds: 1 });
    await session.login(await user(), GOOD_PASSWORD);
    const first = await session.getAccessToken();
    await new Promise((r) => setTimeout(r, 1100));
    const second = await session.getAccessToken();
    expect(second).not.toBe(first);
    await session.logout();
    expect(session.loggedIn).toBe(false);
    await expect(session.getAccessToken()).rejects.toMatchObject({ code: "logged_out" });
  });

  it("a revoked family reports logged out once, without looping", async () => {
    let loggedOut = 0;
    const requests: string[] = [];
    const f: typeof fetch = (input, init) => {
      requests.push(String(input));
      return fetch(input, init);
    };
    const session = createUserSession({ issuer: t.url, refreshSkewSeconds: 1, fetch: f, onLoggedOut: () => loggedOut++ });
    await session.login(await user(), GOOD_PASSWORD);
    await new Promise((r) => setTimeout(r, 1100));
    await session.getAccessToken(); // one refresh (the refresh token rotates)
    expect(requests.filter((u) => u.endsWith("/token")).length).toBe(1);
    // Someone else ends the session (an admin, or reuse detection elsewhere).
    await revokeEverySession();
    await new Promise((r) => setTimeout(r, 1100));
    const results = await Promise.allSettled([session.getAccessToken(), session.getAccessToken(), session.getAccessToken()]);
    for (const r of results) expect(r).toMatchObject({ status: "rejected", reason: { code: "logged_out" } });
    expect(loggedOut).toBe(1);
    expect(requests.filter((u) => u.endsWith("/token")).length).toBe(2); // one failed refresh, no loop
    await expect(session.getAccessToken()).rejects.toMatchObject({ code: "logged_out" });
  });

  it("a wrong password is invalid_grant and leaves the session logged out", async () => {
    const session = createUserSession({ issuer: t.url });
    await expect(session.login(await user(), "not the right password!!")).rejects.toMatchObject({ code: "invalid_grant", status: 401 });
    expect(session.loggedIn).toBe(false);
  });

  /** Revokes every refresh-token family in this issuer's table, as an admin would. */
  async function revokeEverySession() {
    const { ScanCommand, UpdateCommand } = await import("@aws-sdk/lib-dynamodb");
    const out = await t.issuer.aws.ddb.send(new ScanCommand({ TableName: t.config.table }));
    for (const item of out.Items ?? []) {
      if (!String(item.pk).startsWith("RTFAM#")) continue;
      await t.issuer.aws.ddb.send(new UpdateCommand({ TableName: t.config.table, Key: { pk: item.pk, sk: item.sk }, UpdateExpression: "SET revoked = :t", ExpressionAttributeValues: { ":t": true } }));
    }
  }
});
