/**
 * /userinfo and /logout on their own: the errors a relying party can run into, and what
 * logging out does to the browser session and its refresh tokens.
 */
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GOOD_PASSWORD, post, skipIntegration, startTestIssuer, uniqueName, type TestIssuer } from "../support/issuer.js";
import { readForm, TestBrowser } from "../support/browser.js";
import { onLogLine } from "../../functions/log.js";

const REDIRECT = "https://app.example.com/callback";
const BYE = "https://app.example.com/bye";
const FORM = { "content-type": "application/x-www-form-urlencoded" };

describe.skipIf(skipIntegration)("userinfo and logout", () => {
  let t: TestIssuer;
  let clientId: string;
  const username = uniqueName("uma");

  beforeAll(async () => {
    t = await startTestIssuer();
    await t.issuer.users.register(username, GOOD_PASSWORD);
    clientId = (await t.issuer.clients.create({ name: "spa", auth: "none", redirectUris: [REDIRECT], postLogoutRedirectUris: [BYE], scopes: ["openid", "profile", "email"] })).client.clientId;
  });
  afterAll(async () => t?.close());

  /** Signs in through the form in `browser` and returns the token response. */
  async function signIn(browser: TestBrowser, scope = "openid profile", extra: Record<string, string> = {}, who = username) {
    const verifier = randomBytes(32).toString("base64url");
    const challenge = createHash("sha256").update(verifier).digest("base64url");
    const url = `${t.url}/authorize?${new URLSearchParams({ response_type: "code", client_id: clientId, redirect_uri: REDIRECT, scope, code_challenge: challenge, code_challenge_method: "S256", ...extra })}`;
    let res = await browser.get(url);
    if (res.status === 200) {
      const { action, hidden } = readForm(res.body);
      res = await browser.submit(t.url, action, { ...hidden, username: who, password: GOOD_PASSWORD });
    }
    const code = new URL(res.location!).searchParams.get("code")!;
    const tokens = await post(`${t.url}/token`, new URLSearchParams({ grant_type: "authorization_code", code, client_id: clientId, redirect_uri: REDIRECT, code_verifier: verifier }).toString(), FORM);
    expect(tokens.status).toBe(200);
    return tokens.json as { access_token: string; id_token?: string; refresh_token: string };
  }
  const userinfo = (headers: Record<string, string>, init: RequestInit = {}) => fetch(`${t.url}/userinfo`, { ...init, headers: { ...headers, ...(init.headers as Record<string, string>) } });

  it("userinfo answers GET and POST with sub and the claims the scopes allow", async () => {
    const tokens = await signIn(new TestBrowser());
    const get = await userinfo({ authorization: `Bearer ${tokens.access_token}` });
    expect(get.status).toBe(200);
    expect(get.headers.get("cache-control")).toBe("no-store");
    const body = await get.json();
    expect(body.preferred_username).toBe(username);
    const viaForm = await userinfo(FORM, { method: "POST", body: `access_token=${tokens.access_token}` });
    expect(await viaForm.json()).toEqual(body);
    const narrow = await signIn(new TestBrowser(), "openid");
    expect(JSON.parse(Buffer.from(narrow.id_token!.split(".")[1]!, "base64url").toString()).preferred_username).toBeUndefined();
    expect(await (await userinfo({ authorization: `Bearer ${narrow.access_token}` })).json()).toEqual({ sub: body.sub });
  });

  it("userinfo errors carry WWW-Authenticate (RFC 6750 3.1)", async () => {
    const none = await userinfo({});
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer realm="latchkey", error="invalid_token"/);
    const forged = await userinfo({ authorization: "Bearer aaa.bbb.ccc" });
    expect(forged.status).toBe(401);
    const noOpenid = await signIn(new TestBrowser(), "profile");
    const res = await userinfo({ authorization: `Bearer ${noOpenid.access_token}` });
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate")).toContain('error="insufficient_scope", scope="openid"');
    const tokens = await signIn(new TestBrowser());
    const twice = await userinfo({ authorization: `Bearer ${tokens.access_token}`, ...FORM }, { method: "POST", body: `access_token=${tokens.access_token}` });
    expect(twice.status).toBe(400);
  });

  it("logout refuses an unregistered post_logout_redirect_uri with a page, never a redirect", async () => {
    const browser = new TestBrowser();
    const tokens = await signIn(browser);
    for (const q of <Record<string, string>[]>[
      { id_token_hint: tokens.id_token!, post_logout_redirect_uri: "https://evil.example/" },
      { post_logout_redirect_uri: BYE }, // no client named
      { id_token_hint: "not.a.token" },
      { id_token_hint: tokens.id_token!, client_id: "lkc_AAAAAAAAAAAAAAAAAAAAAA" },
    ]) {
      const res = await browser.get(`${t.url}/logout?${new URLSearchParams(q)}`);
      expect(res.status, JSON.stringify(q)).toBe(400);
      expect(res.location).toBeNull();
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    }
    // None of those ended the session: SSO still works.
    expect((await signIn(browser)).access_token).toBeTruthy();
  });

  it("logout without id_token_hint asks for confirmation with a CSRF-protected form", async () => {
    const browser = new TestBrowser();
    const tokens = await signIn(browser);
    const ask = await browser.get(`${t.url}/logout?${new URLSearchParams({ client_id: clientId, post_logout_redirect_uri: BYE, state: "s1" })}`);
    expect(ask.status).toBe(200);
    expect(ask.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    const { action, hidden } = readForm(ask.body);
    expect((await browser.submit(t.url, action, {})).status).toBe(403);
    // Still signed in after the refused attempt.
    const refresh = (token: string) => post(`${t.url}/token`, new URLSearchParams({ grant_type: "refresh_token", refresh_token: token, client_id: clientId }).toString(), FORM);
    const rotated = await refresh(tokens.refresh_token);
    expect(rotated.status).toBe(200);
    const records: Record<string, unknown>[] = [];
    const stop = onLogLine((line) => records.push(JSON.parse(line)));
    const done = await browser.submit(t.url, action, hidden).finally(stop);
    expect(done.status).toBe(302);
    expect(records.filter((r) => r.event === "session.ended")).toEqual([
      expect.objectContaining({ reason: "logout", requestId: done.headers.get("x-request-id"), route: "/logout" }),
    ]);
    expect(done.location).toBe(`${BYE}?state=s1`);
    expect(browser.jar.cookies.has("lk_session")).toBe(false);
    expect((await refresh(rotated.json.refresh_token)).json.error).toBe("invalid_grant");
    // The session's access tokens are revoked too (its sid is in the revocation state).
    expect((await userinfo({ authorization: `Bearer ${tokens.access_token}` })).status).toBe(401);
  });

  it("logout with an expired id_token_hint still works, and a signed-out page shows without a redirect URI", async () => {
    const browser = new TestBrowser();
    const tokens = await signIn(browser);
    const res = await browser.get(`${t.url}/logout?${new URLSearchParams({ id_token_hint: tokens.id_token! })}`);
    expect(res.status).toBe(200);
    expect(res.body).toContain("signed out");
    const prompt = await browser.get(`${t.url}/authorize?${new URLSearchParams({ response_type: "code", client_id: clientId, redirect_uri: REDIRECT, code_challenge: "x".repeat(43), code_challenge_method: "S256", prompt: "none" })}`);
    expect(new URL(prompt.location!).searchParams.get("error")).toBe("login_required");
  });

  it("signing in again as the same person keeps the session (new auth_time); as someone else ends it", async () => {
    const browser = new TestBrowser();
    const first = await signIn(browser);
    const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString());
    await new Promise((r) => setTimeout(r, 1100));
    const stepUp = await signIn(browser, "openid profile", { prompt: "login" });
    expect(claims(stepUp.id_token!).sid).toBe(claims(first.id_token!).sid);
    expect(claims(stepUp.id_token!).auth_time).toBeGreaterThan(claims(first.id_token!).auth_time);
    const refresh = (token: string) => post(`${t.url}/token`, new URLSearchParams({ grant_type: "refresh_token", refresh_token: token, client_id: clientId }).toString(), FORM);
    const kept = await refresh(first.refresh_token);
    expect(kept.status).toBe(200);

    const other = uniqueName("otto");
    await t.issuer.users.register(other, GOOD_PASSWORD);
    const records: Record<string, unknown>[] = [];
    const stop = onLogLine((line) => records.push(JSON.parse(line)));
    const switched = await signIn(browser, "openid profile", { prompt: "login" }, other).finally(stop);
    expect(claims(switched.id_token!).sid).not.toBe(claims(first.id_token!).sid);
    // The sign-in form's request records both: the new person's login and the old session's end.
    const [ended] = records.filter((r) => r.event === "session.ended");
    expect(ended).toMatchObject({ reason: "signed_in_again", sid: claims(first.id_token!).sid, requestId: expect.any(String), route: expect.stringMatching(/^\/authorize/) });
    expect(records.filter((r) => r.event === "user.login_succeeded" && r.username === other)).toEqual([
      expect.objectContaining({ requestId: ended!.requestId, route: ended!.route }),
    ]);
    expect((await refresh(kept.json.refresh_token)).json.error).toBe("invalid_grant");
  });

  it("a session cookie with the right sid but another secret is no session", async () => {
    const browser = new TestBrowser();
    await signIn(browser);
    const real = browser.jar.cookies.get("lk_session")!;
    browser.jar.cookies.set("lk_session", real.slice(0, 4 + 22) + "A".repeat(43));
    const res = await browser.get(`${t.url}/authorize?${new URLSearchParams({ response_type: "code", client_id: clientId, redirect_uri: REDIRECT, code_challenge: "x".repeat(43), code_challenge_method: "S256", prompt: "none" })}`);
    expect(new URL(res.location!).searchParams.get("error")).toBe("login_required");
  });

  it("a code whose session ended before the exchange gets no tokens", async () => {
    const browser = new TestBrowser();
    const verifier = randomBytes(32).toString("base64url");
    const challenge = createHash("sha256").update(verifier).digest("base64url");
    await signIn(browser);
    const sso = await browser.get(`${t.url}/authorize?${new URLSearchParams({ response_type: "code", client_id: clientId, redirect_uri: REDIRECT, scope: "openid", code_challenge: challenge, code_challenge_method: "S256" })}`);
    const code = new URL(sso.location!).searchParams.get("code")!;
    const ask = await browser.get(`${t.url}/logout`);
    const { action, hidden } = readForm(ask.body);
    expect((await browser.submit(t.url, action, hidden)).status).toBe(200);
    const res = await post(`${t.url}/token`, new URLSearchParams({ grant_type: "authorization_code", code, client_id: clientId, redirect_uri: REDIRECT, code_verifier: verifier }).toString(), FORM);
    expect(res.status).toBe(400);
    expect(res.json.error_description).toMatch(/session has ended/);
  });

  it("sign-out everywhere (DELETE /account/sessions) also ends single sign-on", async () => {
    const browser = new TestBrowser();
    const tokens = await signIn(browser);
    const records: Record<string, unknown>[] = [];
    const stop = onLogLine((line) => records.push(JSON.parse(line)));
    const res = await fetch(`${t.url}/account/sessions`, { method: "DELETE", headers: { authorization: `Bearer ${tokens.access_token}` } }).finally(stop);
    expect(res.status).toBe(204);
    // Every session of the person ends (earlier tests left some), each recorded as this request's.
    const ended = records.filter((r) => r.event === "session.ended");
    expect(ended.length).toBeGreaterThan(0);
    for (const r of ended) expect(r).toMatchObject({ reason: "revoked", requestId: res.headers.get("x-request-id"), route: "/account/sessions" });
    const again = await browser.get(`${t.url}/authorize?${new URLSearchParams({ response_type: "code", client_id: clientId, redirect_uri: REDIRECT, code_challenge: "x".repeat(43), code_challenge_method: "S256", prompt: "none" })}`);
    expect(new URL(again.location!).searchParams.get("error")).toBe("login_required");
  });

  it("revokeAllForSubject ends every session of a person", async () => {
    const a = new TestBrowser();
    const b = new TestBrowser();
    const ta = await signIn(a);
    await signIn(b);
    const sub = JSON.parse(Buffer.from(ta.access_token.split(".")[1]!, "base64url").toString()).sub;
    expect(await t.issuer.sessions.revokeAllForSubject(sub)).toBeGreaterThanOrEqual(2);
    for (const browser of [a, b]) {
      const res = await browser.get(`${t.url}/authorize?${new URLSearchParams({ response_type: "code", client_id: clientId, redirect_uri: REDIRECT, code_challenge: "x".repeat(43), code_challenge_method: "S256", prompt: "none" })}`);
      expect(new URL(res.location!).searchParams.get("error")).toBe("login_required");
    }
    const refresh = await post(`${t.url}/token`, new URLSearchParams({ grant_type: "refresh_token", refresh_token: ta.refresh_token, client_id: clientId }).toString(), FORM);
    expect(refresh.json.error).toBe("invalid_grant");
  });
});
