/**
 * The authorization code flow end to end over real HTTP, with a cookie-keeping test browser:
 * the hosted sign-in page, the session (SSO, prompt, max_age), codes and PKCE at /token, and
 * every error the issue lists (each asserted by what a wrong implementation would get wrong).
 */
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalJWKSet, decodeJwt, jwtVerify } from "jose";
import { GOOD_PASSWORD, post, skipIntegration, startTestIssuer, uniqueName, type TestIssuer } from "../support/issuer.js";
import { readForm, TestBrowser } from "../support/browser.js";
import { onLogLine } from "../../functions/log.js";

const REDIRECT = "https://app.example.com/callback";
const pkce = () => {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
};
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM = { "content-type": "application/x-www-form-urlencoded" };

describe.skipIf(skipIntegration)("authorization code flow with the hosted sign-in page", () => {
  let t: TestIssuer;
  let publicId: string;
  let confidential: { id: string; secret: string };
  let loopbackId: string;
  const username = uniqueName("alice");

  beforeAll(async () => {
    t = await startTestIssuer({ LATCHKEY_LOGIN_MAX_FAILURES: "3" });
    await t.issuer.users.register(username, GOOD_PASSWORD);
    publicId = (await t.issuer.clients.create({ name: "spa", auth: "none", redirectUris: [REDIRECT], postLogoutRedirectUris: ["https://app.example.com/"] })).client.clientId;
    const c = await t.issuer.clients.create({ name: "web", auth: "secret", redirectUris: [REDIRECT], scopes: ["openid", "profile"] });
    confidential = { id: c.client.clientId, secret: c.clientSecret! };
    loopbackId = (await t.issuer.clients.create({ name: "cli", auth: "none", redirectUris: ["http://127.0.0.1/cb"] })).client.clientId;
  });
  afterAll(async () => t?.close());

  const authorizeUrl = (params: Record<string, string | undefined>) => {
    const url = new URL(`${t.url}/authorize`);
    for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
    return url.toString();
  };
  const request = (clientId: string, challenge: string, extra: Record<string, string | undefined> = {}) =>
    authorizeUrl({
      response_type: "code",
      client_id: clientId,
      redirect_uri: REDIRECT,
      scope: "openid profile",
      state: "st-123",
      nonce: "n-456",
      code_challenge: challenge,
      code_challenge_method: "S256",
      ...extra,
    });

  /** Loads the sign-in page and submits it; returns the final response. */
  async function signIn(browser: TestBrowser, url: string, password = GOOD_PASSWORD, user = username) {
    const page = await browser.get(url);
    expect(page.status).toBe(200);
    const { action, hidden } = readForm(page.body);
    return browser.submit(t.url, action, { ...hidden, username: user, password });
  }
  const codeFrom = (location: string | null) => {
    const url = new URL(location!);
    expect(url.searchParams.get("error")).toBeNull();
    return url.searchParams.get("code")!;
  };
  const exchange = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
    post(`${t.url}/token`, form({ grant_type: "authorization_code", redirect_uri: REDIRECT, ...fields }), { ...FORM, ...headers });

  it("signs a person in through the form and exchanges the code for access, ID and refresh tokens", async () => {
    const browser = new TestBrowser();
    const { verifier, challenge } = pkce();
    const done = await signIn(browser, request(publicId, challenge));
    expect(done.status).toBe(303);
    const back = new URL(done.location!);
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT);
    expect(back.searchParams.get("state")).toBe("st-123");
    expect(back.searchParams.get("iss")).toBe(t.url); // RFC 9207
    expect(browser.jar.cookies.has("lk_session")).toBe(true);

    const res = await exchange({ code: back.searchParams.get("code")!, client_id: publicId, code_verifier: verifier });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.json).toMatchObject({ token_type: "Bearer", scope: "openid profile" });
    expect(res.json.refresh_token).toMatch(/^lkr_/);
    const jwks = createLocalJWKSet(await (await fetch(`${t.url}/.well-known/jwks.json`)).json());
    const { payload: id, protectedHeader } = await jwtVerify(res.json.id_token, jwks, { issuer: t.url, audience: publicId });
    expect(protectedHeader.typ).toBe("JWT");
    const at = decodeJwt(res.json.access_token);
    expect(id.sub).toBe(at.sub);
    expect(id).toMatchObject({ nonce: "n-456", preferred_username: username });
    expect(typeof id.auth_time).toBe("number");
    expect(id.sid).toBe(at.sid);
    expect(id.at_hash).toBe(createHash("sha256").update(res.json.access_token).digest().subarray(0, 16).toString("base64url"));
    expect(at).toMatchObject({ client_id: publicId, aud: "latchkey" });

    // The refresh token rotates, and only for its own client.
    const other = await post(`${t.url}/token`, form({ grant_type: "refresh_token", refresh_token: res.json.refresh_token, client_id: loopbackId }), FORM);
    expect(other.status).toBe(400);
    expect(other.json.error).toBe("invalid_grant");
    const refreshed = await post(`${t.url}/token`, form({ grant_type: "refresh_token", refresh_token: res.json.refresh_token, client_id: publicId }), FORM);
    expect(refreshed.status).toBe(200);
    expect(refreshed.json.refresh_token).not.toBe(res.json.refresh_token);
  });

  it("serves the sign-in page with labelled fields, a CSRF token and strict headers", async () => {
    const page = await new TestBrowser().get(request(publicId, pkce().challenge, { login_hint: "bob<script>" }));
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/<form method="post" action="\/authorize\?/);
    expect(page.body).toContain('<label for="username">');
    expect(page.body).toContain('<label for="password">');
    expect(page.body).toMatch(/name="csrf_token" value="[A-Za-z0-9_-]{43}"/);
    expect(page.body).toContain('value="bob&lt;script&gt;"'); // login_hint prefilled, escaped
    expect(page.body).not.toContain("<script");
    const csp = page.headers.get("content-security-policy")!;
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).not.toContain("script-src");
    expect(page.headers.get("cache-control")).toBe("no-store");
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    expect(page.body).toContain('href="/authorize/register?'); // registration is on by default
  });

  it("signs in again without the form while the session lives (SSO); prompt=login and max_age force the form", async () => {
    const browser = new TestBrowser();
    await signIn(browser, request(publicId, pkce().challenge));
    const sso = await browser.get(request(confidential.id, pkce().challenge, { state: "second" }));
    expect(sso.status).toBe(302);
    expect(new URL(sso.location!).searchParams.get("state")).toBe("second");
    expect(codeFrom(sso.location)).toMatch(/^lkac_/);

    const forced = await browser.get(request(publicId, pkce().challenge, { prompt: "login" }));
    expect(forced.status).toBe(200);
    expect(forced.body).toContain("<form");
    expect((await browser.get(request(publicId, pkce().challenge, { max_age: "3600" }))).status).toBe(302);
    await new Promise((r) => setTimeout(r, 1100));
    const stale = await browser.get(request(publicId, pkce().challenge, { max_age: "0" }));
    expect(stale.status).toBe(200);
    expect(stale.body).toContain("<form");
  });

  it("answers prompt=none without a session with login_required, by redirect with state and iss", async () => {
    const res = await new TestBrowser().get(request(publicId, pkce().challenge, { prompt: "none" }));
    expect(res.status).toBe(302);
    const back = new URL(res.location!);
    expect(back.searchParams.get("error")).toBe("login_required");
    expect(back.searchParams.get("state")).toBe("st-123");
    expect(back.searchParams.get("iss")).toBe(t.url);
  });

  it("shows a page, never a redirect, for an unknown client or an unregistered redirect_uri", async () => {
    const { challenge } = pkce();
    for (const url of [
      request("lkc_AAAAAAAAAAAAAAAAAAAAAA", challenge),
      request(publicId, challenge, { redirect_uri: "https://evil.example/callback" }),
      request(publicId, challenge, { redirect_uri: "https://app.example.com/callback/" }),
      request(publicId, challenge, { redirect_uri: undefined }),
    ]) {
      const res = await new TestBrowser().get(url);
      expect(res.status, url).toBe(400);
      expect(res.location).toBeNull();
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
      expect(res.body).toContain("invalid_request");
    }
  });

  it("redirects other request errors with error, error_description, state and iss", async () => {
    const { challenge } = pkce();
    const cases: [Record<string, string | undefined>, string][] = [
      [{ code_challenge: undefined }, "invalid_request: code_challenge is required"],
      [{ code_challenge_method: "plain" }, "invalid_request"],
      [{ code_challenge_method: undefined }, "invalid_request"],
      [{ response_type: "token" }, "unsupported_response_type"],
      [{ scope: "openid admin" }, "invalid_scope"],
      [{ audience: "https://not-allowed.example" }, "invalid_target"],
      [{ prompt: "consent" }, "invalid_request"],
      [{ prompt: "none login" }, "invalid_request: prompt=none cannot be combined"],
      [{ max_age: "soon" }, "invalid_request"],
      [{ request: "eyJ..." }, "request_not_supported"],
    ];
    for (const [extra, error] of cases) {
      const res = await new TestBrowser().get(request(publicId, challenge, extra));
      expect(res.status, JSON.stringify(extra)).toBe(302);
      const back = new URL(res.location!);
      expect(`${back.origin}${back.pathname}`).toBe(REDIRECT);
      const [code, description] = error.split(": ");
      expect(back.searchParams.get("error"), JSON.stringify(extra)).toBe(code);
      expect(back.searchParams.get("error_description")).toContain(description ?? "");
      expect(back.searchParams.get("state")).toBe("st-123");
      expect(back.searchParams.get("iss")).toBe(t.url);
    }
  });

  it("refuses a repeated parameter (RFC 6749 3.1): by redirect once the client is trusted, as a page before", async () => {
    const { challenge } = pkce();
    const twice = await new TestBrowser().get(`${request(publicId, challenge)}&scope=openid`);
    expect(new URL(twice.location!).searchParams.get("error_description")).toContain("scope is included more than once");
    const clientTwice = await new TestBrowser().get(`${request(publicId, challenge)}&client_id=${publicId}`);
    expect(clientTwice.status).toBe(400);
    expect(clientTwice.location).toBeNull();
  });

  it("lets a loopback redirect URI vary only its port (RFC 8252 7.3)", async () => {
    const { verifier, challenge } = pkce();
    const redirect = "http://127.0.0.1:49152/cb";
    const done = await signIn(new TestBrowser(), request(loopbackId, challenge, { redirect_uri: redirect }));
    expect(done.location!.startsWith(`${redirect}?`)).toBe(true);
    const code = codeFrom(done.location);
    const res = await exchange({ code, client_id: loopbackId, code_verifier: verifier, redirect_uri: redirect });
    expect(res.status).toBe(200);
    const path = await new TestBrowser().get(request(loopbackId, challenge, { redirect_uri: "http://127.0.0.1:49152/other" }));
    expect(path.status).toBe(400);
  });

  it("refuses a wrong verifier, another client or another redirect_uri without spending the code", async () => {
    const { verifier, challenge } = pkce();
    const code = codeFrom((await signIn(new TestBrowser(), request(publicId, challenge))).location);
    const wrong = await exchange({ code, client_id: publicId, code_verifier: pkce().verifier });
    expect(wrong.status).toBe(400);
    expect(wrong.json.error).toBe("invalid_grant");
    const missing = await exchange({ code, client_id: publicId });
    expect(missing.json.error).toBe("invalid_request");
    const otherClient = await exchange({ code, client_id: loopbackId, code_verifier: verifier });
    expect(otherClient.json.error).toBe("invalid_grant");
    const otherRedirect = await exchange({ code, client_id: publicId, code_verifier: verifier, redirect_uri: "https://app.example.com/other" });
    expect(otherRedirect.json.error).toBe("invalid_grant");
    expect((await exchange({ code, client_id: publicId, code_verifier: verifier })).status).toBe(200);
  });

  it("answers a replayed code with invalid_grant and revokes the refresh and access tokens issued from it", async () => {
    const { verifier, challenge } = pkce();
    const code = codeFrom((await signIn(new TestBrowser(), request(publicId, challenge))).location);
    const first = await exchange({ code, client_id: publicId, code_verifier: verifier });
    expect(first.status).toBe(200);
    // A replay revokes even when it would fail the binding checks (a thief has no verifier).
    const records: Record<string, unknown>[] = [];
    const stop = onLogLine((line) => records.push(JSON.parse(line)));
    const replay = await exchange({ code, client_id: publicId, code_verifier: pkce().verifier }).finally(stop);
    expect(replay.status).toBe(400);
    // Recorded once, as the replaying request's.
    expect(records.filter((r) => r.event === "authorization_code.reuse_detected")).toEqual([
      expect.objectContaining({ requestId: replay.headers.get("x-request-id"), route: "/token", clientId: publicId }),
    ]);
    expect(replay.json.error).toBe("invalid_grant");
    expect(replay.json.error_description).toMatch(/already been used/);
    const refresh = await post(`${t.url}/token`, form({ grant_type: "refresh_token", refresh_token: first.json.refresh_token, client_id: publicId }), FORM);
    expect(refresh.status).toBe(400);
    expect(refresh.json.error).toBe("invalid_grant");
    // RFC 6749 4.1.2: every token issued from the code, the access token too.
    const { aud } = decodeJwt(first.json.access_token);
    const validate = await fetch(`${t.url}/validate?audience=${encodeURIComponent(String(aud))}`, { headers: { authorization: `Bearer ${first.json.access_token}` } });
    expect(validate.status).toBe(401);
  });

  it("authenticates a confidential client at the token endpoint", async () => {
    const { verifier, challenge } = pkce();
    const code = codeFrom((await signIn(new TestBrowser(), request(confidential.id, challenge))).location);
    const anonymous = await exchange({ code, client_id: confidential.id, code_verifier: verifier });
    expect(anonymous.status).toBe(401);
    expect(anonymous.json.error).toBe("invalid_client");
    const basic = "Basic " + Buffer.from(`${confidential.id}:${confidential.secret}`).toString("base64");
    const ok = await exchange({ code, code_verifier: verifier }, { authorization: basic });
    expect(ok.status).toBe(200);
    expect(decodeJwt(ok.json.id_token).aud).toBe(confidential.id);
  });

  it("registers public clients only with redirect URIs", async () => {
    await expect(t.issuer.clients.create({ name: "nowhere", auth: "none" })).rejects.toThrow(/needs redirect URIs/);
    await expect(t.issuer.clients.create({ name: "bad", auth: "none", redirectUris: ["http://app.example.com/cb"] })).rejects.toThrow(/loopback only/);
  });

  it("does not let a public client use client_credentials", async () => {
    const res = await post(`${t.url}/token`, form({ grant_type: "client_credentials", client_id: publicId }), FORM);
    expect(res.status).toBe(400);
    expect(res.json.error).toBe("unauthorized_client");
  });

  it("refuses the form without the CSRF token bound to the browser", async () => {
    const browser = new TestBrowser();
    const url = request(publicId, pkce().challenge);
    const { action, hidden } = readForm((await browser.get(url)).body);
    const noToken = await browser.submit(t.url, action, { username, password: GOOD_PASSWORD });
    expect(noToken.status).toBe(403);
    expect(noToken.body).toContain("invalid_csrf_token");
    // A token from another browser does not match this browser's cookie.
    const other = readForm((await new TestBrowser().get(url)).body).hidden.csrf_token!;
    const stranger = await browser.submit(t.url, action, { csrf_token: other, username, password: GOOD_PASSWORD });
    expect(stranger.status).toBe(403);
    expect((await browser.submit(t.url, action, { ...hidden, username, password: GOOD_PASSWORD })).status).toBe(303);
  });

  it("says the same for an unknown user and a wrong password, and locks the username out after repeated failures", async () => {
    const url = request(publicId, pkce().challenge);
    const victim = uniqueName("victim");
    await t.issuer.users.register(victim, GOOD_PASSWORD);
    const wrong = await signIn(new TestBrowser(), url, "not the password at all", victim);
    const unknown = await signIn(new TestBrowser(), url, "not the password at all", uniqueName("nobody"));
    await signIn(new TestBrowser(), url, "again not the password", victim);
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const message = (p: { body: string }) => /<p class="error" role="alert">([^<]*)<\/p>/.exec(p.body)?.[1];
    expect(message(wrong)).toBe("The username or password is incorrect.");
    expect(message(unknown)).toBe(message(wrong));
    await signIn(new TestBrowser(), url, "still not the password", victim); // third failure: the limit
    const locked = await signIn(new TestBrowser(), url, GOOD_PASSWORD, victim); // the right password, but locked
    expect(locked.status).toBe(429);
    expect(locked.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(locked.location).toBeNull();
  });

  it("registers through the hosted form with the rules of /register, then signs in", async () => {
    const browser = new TestBrowser();
    const page = await browser.get(request(publicId, pkce().challenge).replace("/authorize?", "/authorize/register?"));
    expect(page.status).toBe(200);
    const { action, hidden } = readForm(page.body);
    const weak = await browser.submit(t.url, action, { ...hidden, username: uniqueName("carol"), password: "short" });
    expect(weak.status).toBe(400);
    const api = await post(`${t.url}/register`, { username: uniqueName("dave"), password: "short" });
    expect(weak.body).toContain(api.json.error_description);
    const taken = await browser.submit(t.url, action, { ...hidden, username, password: GOOD_PASSWORD });
    expect(taken.status).toBe(409);
    const made = await browser.submit(t.url, action, { ...hidden, username: uniqueName("erin"), password: GOOD_PASSWORD });
    expect(made.status).toBe(303);
    expect(codeFrom(made.location)).toMatch(/^lkac_/);
  });
});

describe.skipIf(skipIntegration)("authorization codes expire", () => {
  let t: TestIssuer;
  beforeAll(async () => {
    t = await startTestIssuer({ LATCHKEY_AUTHORIZATION_CODE_TTL: "1", LATCHKEY_REGISTRATION_ENABLED: "false" });
  });
  afterAll(async () => t?.close());

  it("refuses a code after its lifetime, and hides registration when it is off", async () => {
    const user = uniqueName("frank");
    await t.issuer.users.register(user, GOOD_PASSWORD);
    const clientId = (await t.issuer.clients.create({ name: "spa", auth: "none", redirectUris: [REDIRECT] })).client.clientId;
    const { verifier, challenge } = pkce();
    const url = `${t.url}/authorize?${new URLSearchParams({ response_type: "code", client_id: clientId, redirect_uri: REDIRECT, scope: "openid", code_challenge: challenge, code_challenge_method: "S256" })}`;
    const browser = new TestBrowser();
    const page = await browser.get(url);
    expect(page.body).not.toContain("/authorize/register");
    expect((await browser.get(url.replace("/authorize?", "/authorize/register?"))).status).toBe(403);
    const { action, hidden } = readForm(page.body);
    const done = await browser.submit(t.url, action, { ...hidden, username: user, password: GOOD_PASSWORD });
    const code = new URL(done.location!).searchParams.get("code")!;
    await new Promise((r) => setTimeout(r, 2100));
    const res = await post(`${t.url}/token`, form({ grant_type: "authorization_code", code, client_id: clientId, redirect_uri: REDIRECT, code_verifier: verifier }), FORM);
    expect(res.status).toBe(400);
    expect(res.json.error).toBe("invalid_grant");
    expect(res.json.error_description).toMatch(/expired/);
  });
});
