/**
 * Accounts end to end against the local server: self-service with an access token (password
 * change, sign out everywhere, delete), administration through the CLI (disable, enable,
 * delete, revoke-sessions, reset-password with its hosted page), and every affected token
 * refused at /introspect and /validate within the bound README states.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeJwt } from "jose";
import { run } from "../../functions/cli/main.js";
import { onLogLine, setLogLevel } from "../../functions/log.js";
import { nowSeconds } from "../../functions/storage/dynamo.js";
import { Accounts } from "../../functions/users/accounts.js";
import { PasswordResets } from "../../functions/users/password-resets.js";
import { newSessionId } from "../../functions/tokens/refresh-tokens.js";
import { atomicConditionalWrites, GOOD_PASSWORD, post, skipIntegration, startTestIssuer, uniqueName, type TestIssuer } from "../support/issuer.js";

const NEW_PASSWORD = "purple elephant dancing quietly";
const CACHE_SECONDS = 1;

describe.skipIf(skipIntegration)("accounts", () => {
  let t: TestIssuer;
  let introspector: string;
  const saved = { ...process.env };

  beforeAll(async () => {
    t = await startTestIssuer({ LATCHKEY_REVOCATION_CACHE_SECONDS: String(CACHE_SECONDS), LATCHKEY_LOGIN_MAX_FAILURES: "3" });
    const { client, clientSecret } = await t.issuer.clients.create({ name: "rs", audiences: ["latchkey"] });
    introspector = `Basic ${Buffer.from(`${client.clientId}:${clientSecret}`).toString("base64")}`;
    // The CLI acts on this issuer's table and bucket, as on a deployed stack.
    Object.assign(process.env, t.env);
  });
  afterAll(async () => {
    process.env = saved;
    await t?.close();
  });

  async function cli(...argv: string[]): Promise<{ code: number; json: any; stderr: string }> {
    let stdout = "";
    let stderr = "";
    const code = await run(argv, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) });
    return { code, json: stdout ? JSON.parse(stdout) : undefined, stderr };
  }

  const login = async (username: string, password = GOOD_PASSWORD) => post(`${t.url}/login`, { username, password });
  async function newUser() {
    const name = uniqueName();
    expect((await post(`${t.url}/register`, { username: name, password: GOOD_PASSWORD })).status).toBe(201);
    return name;
  }
  async function session(name: string, password = GOOD_PASSWORD) {
    const res = await login(name, password);
    expect(res.status).toBe(200);
    return { access: res.json.access_token as string, refresh: res.json.refresh_token as string };
  }
  const introspect = async (token: string) =>
    (await post(`${t.url}/introspect`, new URLSearchParams({ token }).toString(), { "content-type": "application/x-www-form-urlencoded", authorization: introspector })).json;
  const validate = async (token: string) => (await fetch(`${t.url}/validate?audience=latchkey`, { headers: { authorization: `Bearer ${token}` } })).status;
  const refresh = (token: string) => post(`${t.url}/refresh`, { refresh_token: token });
  const account = (method: string, path: string, token: string, body?: unknown) =>
    fetch(`${t.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });

  /** Waits until the token is refused at both /introspect and /validate; returns how long it took (ms). */
  async function refusedWithin(token: string, since: number): Promise<number> {
    for (;;) {
      const [i, v] = await Promise.all([introspect(token), validate(token)]);
      if (i.active === false && v === 401) return Date.now() - since;
      if (Date.now() - since > (CACHE_SECONDS + 3) * 1000) return Infinity;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  describe("administration (CLI)", () => {
    it("disable: login 401 with the wrong-password body, refresh invalid_grant, tokens inactive within the bound; enable lets the person in again", async () => {
      const name = await newUser();
      const s = await session(name);
      expect((await introspect(s.access)).active).toBe(true); // the server has now cached "not revoked"
      const wrong = await login(name, "not the password at all, clearly");
      const since = Date.now();
      // The audit record goes to the command's stderr unless logging is switched off (as in this suite).
      process.env.LATCHKEY_LOG_LEVEL = "warn";
      const disabled = await cli("users", "disable", name).finally(() => {
        process.env.LATCHKEY_LOG_LEVEL = "silent";
        setLogLevel("silent");
      });
      expect(disabled.code).toBe(0);
      expect(disabled.json).toMatchObject({ username: name, disabled: true });
      // stdout is the JSON; the audit record is on stderr, with the command's request id.
      expect(JSON.parse(disabled.stderr.split("\n").find((l) => l.includes('"msg":"audit"'))!)).toMatchObject({
        event: "user.disabled",
        sub: disabled.json.sub,
        requestId: expect.any(String),
      });
      expect(await refusedWithin(s.access, since)).toBeLessThanOrEqual(CACHE_SECONDS * 1000 + 500);
      const denied = await login(name);
      expect(denied.status).toBe(401);
      expect(denied.json).toEqual(wrong.json);
      expect((await refresh(s.refresh)).json.error).toBe("invalid_grant");
      expect((await cli("users", "enable", name)).json.disabled).toBe(false);
      const again = await session(name);
      expect((await introspect(again.access)).active).toBe(true);
      expect((await introspect(s.access)).active).toBe(false); // enabling does not revive old tokens
    });

    it("sessions that do not record the username key (other sign-in flows) follow the account by sub", async () => {
      const name = await newUser();
      const account = (await t.issuer.users.byName(name))!;
      const token = await t.issuer.refreshTokens.start({ sub: account.sub, sid: newSessionId(), aud: "latchkey", scope: ["openid"] });
      const next = await refresh(token);
      expect(next.status).toBe(200);
      await t.issuer.accounts.setDisabled(name, true);
      expect((await refresh(next.json.refresh_token)).json.error).toBe("invalid_grant");
    });

    it("list pages with --limit and --cursor; show finds by username and by sub; never a hash", async () => {
      const names = [await newUser(), await newUser(), await newUser()];
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await cli("users", "list", "--limit", "2", ...(cursor ? ["--cursor", cursor] : []));
        expect(page.code).toBe(0);
        expect(page.json.users.length).toBeLessThanOrEqual(2);
        seen.push(...page.json.users.map((u: { username: string }) => u.username));
        cursor = page.json.cursor;
      } while (cursor);
      expect(seen).toEqual(expect.arrayContaining(names));
      expect(new Set(seen).size).toBe(seen.length);
      const byName = await cli("users", "show", names[0]!);
      const bySub = await cli("users", "show", byName.json.sub);
      expect(bySub.json).toEqual(byName.json);
      expect(JSON.stringify(byName.json)).not.toMatch(/argon2|passwordHash/);
      expect((await cli("users", "show", "nobody-" + names[0])).code).toBe(2);
      expect((await cli("users", "list", "--cursor", "bogus")).code).toBe(1);
    });

    it("delete: the username is free again and the old sub's tokens stay inactive", async () => {
      const name = await newUser();
      const old = await session(name);
      const oldSub = decodeJwt(old.access).sub;
      expect((await cli("users", "delete", name)).json).toMatchObject({ deleted: true, sub: oldSub });
      expect((await post(`${t.url}/register`, { username: name, password: NEW_PASSWORD })).status).toBe(201);
      const fresh = await session(name, NEW_PASSWORD);
      expect(decodeJwt(fresh.access).sub).not.toBe(oldSub);
      expect((await introspect(fresh.access)).active).toBe(true);
      expect(await refusedWithin(old.access, Date.now())).toBeLessThanOrEqual(CACHE_SECONDS * 1000 + 500);
      expect((await refresh(old.refresh)).json.error).toBe("invalid_grant");
      expect((await cli("users", "show", oldSub!)).code).toBe(2);
    });

    it("a login right after a revocation is not caught by it (the issuer waits out the revocation's second)", async () => {
      const name = await newUser();
      for (let i = 0; i < 3; i++) {
        await t.issuer.accounts.revokeSessions(name);
        const s = await session(name);
        expect((await introspect(s.access)).active).toBe(true);
        expect((await refresh(s.refresh)).status).toBe(200);
      }
    });

    it("revoke-sessions signs the person out everywhere", async () => {
      const name = await newUser();
      const [a, b] = [await session(name), await session(name)];
      const since = Date.now();
      expect((await cli("users", "revoke-sessions", name)).code).toBe(0);
      for (const s of [a, b]) {
        expect(await refusedWithin(s.access, since)).toBeLessThanOrEqual(CACHE_SECONDS * 1000 + 500);
        expect((await refresh(s.refresh)).json.error).toBe("invalid_grant");
      }
      expect((await login(name)).status).toBe(200);
    });
  });

  describe("password reset link", () => {
    it("opens a form with a password input, is single use, and ends every session", async () => {
      const name = await newUser();
      const before = await session(name);
      const issued = await cli("users", "reset-password", name, "--issuer", t.url);
      expect(issued.code).toBe(0);
      const link = issued.json.link as string;
      expect(link).toMatch(new RegExp(`^${t.url}/account/reset\\?token=lkp_[A-Za-z0-9_-]{43}$`));
      expect(Date.parse(issued.json.expiresAt) - Date.now()).toBeGreaterThan(14 * 60_000);
      const page = await fetch(link);
      expect(page.status).toBe(200);
      expect(page.headers.get("referrer-policy")).toBe("no-referrer");
      const html = await page.text();
      expect(html).toMatch(/<input[^>]+name="password"/);
      const token = new URL(link).searchParams.get("token")!;
      const submit = (password: string) =>
        fetch(`${t.url}/account/reset`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ token, password }) });
      const weak = await submit("short");
      expect(weak.status).toBe(400);
      expect(await weak.text()).toMatch(/at least 15 characters/);
      const records: Record<string, unknown>[] = [];
      const stop = onLogLine((line) => records.push(JSON.parse(line)));
      const done = await submit(NEW_PASSWORD).finally(stop);
      expect(done.status).toBe(200);
      expect(records.filter((r) => r.event === "user.password_reset")).toEqual([
        expect.objectContaining({ requestId: done.headers.get("x-request-id"), route: "/account/reset" }),
      ]);
      expect(await done.text()).toMatch(/Password changed/);
      const again = await submit("another perfectly fine passphrase");
      expect(again.status).toBe(400);
      expect(await again.text()).toMatch(/cannot be used/);
      expect((await fetch(link)).status).toBe(400);
      expect((await login(name)).status).toBe(401);
      expect((await login(name, NEW_PASSWORD)).status).toBe(200);
      expect(await refusedWithin(before.access, Date.now())).toBeLessThanOrEqual(CACHE_SECONDS * 1000 + 500);
      expect((await refresh(before.refresh)).json.error).toBe("invalid_grant");
    });

    it("expires after 15 minutes, and a later reset voids an earlier link", async () => {
      const name = await newUser();
      // A link issued 15 minutes and a second ago.
      const past = new Accounts(t.config, t.issuer.users, t.issuer.revocations, new PasswordResets(t.config, t.issuer.aws, () => nowSeconds() - 15 * 60 - 1));
      const stale = new URL((await past.issueReset(name)).link).searchParams.get("token")!;
      expect((await fetch(`${t.url}/account/reset?token=${stale}`)).status).toBe(400);
      const post_ = await fetch(`${t.url}/account/reset`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ token: stale, password: NEW_PASSWORD }) });
      expect(post_.status).toBe(400);
      expect((await login(name)).status).toBe(200); // the password did not change
      const first = new URL((await t.issuer.accounts.issueReset(name)).link).searchParams.get("token")!;
      const second = new URL((await t.issuer.accounts.issueReset(name)).link).searchParams.get("token")!;
      expect((await fetch(`${t.url}/account/reset?token=${first}`)).status).toBe(200);
      await t.issuer.accounts.completeReset(second, NEW_PASSWORD);
      expect((await fetch(`${t.url}/account/reset?token=${first}`)).status).toBe(400);
    });

    it.skipIf(!atomicConditionalWrites)("one of two concurrent uses of a link wins", async () => {
      const name = await newUser();
      const token = new URL((await t.issuer.accounts.issueReset(name)).link).searchParams.get("token")!;
      const results = await Promise.allSettled([
        t.issuer.accounts.completeReset(token, NEW_PASSWORD),
        t.issuer.accounts.completeReset(token, "another perfectly fine passphrase"),
      ]);
      expect(results.filter((r) => r.status === "fulfilled").length).toBe(1);
    });

    it("a link used after its expiry is refused even if it was read before", async () => {
      const name = await newUser();
      let clock = nowSeconds();
      const resets = new PasswordResets(t.config, t.issuer.aws, () => clock);
      const { secret } = await resets.issue((await t.issuer.users.byName(name))!);
      expect(await resets.peek(secret)).toBeDefined();
      clock += 15 * 60;
      expect(await resets.consume(secret)).toBeUndefined();
      clock -= 1;
      expect(await resets.consume(secret)).toMatchObject({ user: name.toLowerCase() });
    });
  });

  describe("self-service with an access token", () => {
    it("a password change ends the other sessions, not the caller's", async () => {
      const name = await newUser();
      const [mine, other] = [await session(name), await session(name)];
      const res = await account("POST", "/account/password", mine.access, { current_password: GOOD_PASSWORD, new_password: NEW_PASSWORD });
      expect(res.status).toBe(204);
      expect((await introspect(mine.access)).active).toBe(true);
      expect(await validate(mine.access)).toBe(200);
      const next = await refresh(mine.refresh);
      expect(next.status).toBe(200);
      expect((await introspect(next.json.access_token)).active).toBe(true);
      expect((await introspect(other.access)).active).toBe(false);
      expect(await validate(other.access)).toBe(401);
      expect((await refresh(other.refresh)).json.error).toBe("invalid_grant");
      expect((await login(name)).status).toBe(401);
      const fresh = await session(name, NEW_PASSWORD); // issued right after the change: not caught by it
      expect((await introspect(fresh.access)).active).toBe(true);
    });

    it("refuses a new password that breaks a /register rule, and a wrong current password", async () => {
      const name = await newUser();
      const s = await session(name);
      const weak = await account("POST", "/account/password", s.access, { current_password: GOOD_PASSWORD, new_password: "password123456789" });
      expect(weak.status).toBe(400);
      expect(((await weak.json()) as { error: string }).error).toBe("invalid_password");
      const wrong = await account("POST", "/account/password", s.access, { current_password: "not my password, honestly", new_password: NEW_PASSWORD });
      expect(wrong.status).toBe(403);
      expect((await introspect(s.access)).active).toBe(true);
      expect((await login(name)).status).toBe(200);
    });

    it("current-password checks go through the /login lockout", async () => {
      const name = await newUser();
      const s = await session(name);
      for (let i = 0; i < 3; i++) {
        expect((await account("DELETE", "/account", s.access, { password: `wrong password number ${i}` })).status).toBe(403);
      }
      const locked = await account("POST", "/account/password", s.access, { current_password: GOOD_PASSWORD, new_password: NEW_PASSWORD });
      expect(locked.status).toBe(429);
      expect(locked.headers.get("retry-after")).toMatch(/^\d+$/);
      expect((await login(name)).status).toBe(429);
    });

    it("DELETE /account/sessions signs out everywhere, the caller included", async () => {
      const name = await newUser();
      const [a, b] = [await session(name), await session(name)];
      expect((await account("DELETE", "/account/sessions", a.access)).status).toBe(204);
      for (const s of [a, b]) {
        expect((await introspect(s.access)).active).toBe(false);
        expect((await refresh(s.refresh)).json.error).toBe("invalid_grant");
      }
      expect((await account("DELETE", "/account/sessions", a.access)).status).toBe(401);
    });

    it("DELETE /account removes the account with the password; the name can be registered again", async () => {
      const name = await newUser();
      const s = await session(name);
      expect((await account("DELETE", "/account", s.access, { password: GOOD_PASSWORD })).status).toBe(204);
      expect((await introspect(s.access)).active).toBe(false);
      expect((await login(name)).status).toBe(401);
      expect((await post(`${t.url}/register`, { username: name, password: NEW_PASSWORD })).status).toBe(201);
      expect((await introspect(s.access)).active).toBe(false);
    });

    it("needs a valid access token of a person: 401 without, 403 for a machine client's", async () => {
      expect((await fetch(`${t.url}/account/sessions`, { method: "DELETE" })).status).toBe(401);
      expect((await account("DELETE", "/account/sessions", "a.b.c")).status).toBe(401);
      const { client, clientSecret } = await t.issuer.clients.create({ name: "svc", audiences: ["latchkey"] });
      const cc = await post(`${t.url}/token`, new URLSearchParams({ grant_type: "client_credentials" }).toString(), {
        "content-type": "application/x-www-form-urlencoded",
        authorization: `Basic ${Buffer.from(`${client.clientId}:${clientSecret}`).toString("base64")}`,
      });
      expect((await account("DELETE", "/account/sessions", cc.json.access_token)).status).toBe(403);
    });
  });

  it("ends the person's browser sessions (OIDC sign-in): a password change keeps the caller's, disabling ends all", async () => {
    const name = await newUser();
    const account = (await t.issuer.users.byName(name))!;
    const [mine, other] = [await t.issuer.sessions.start(account), await t.issuer.sessions.start(account)];
    // The caller's access token came from browser session `mine`.
    await t.issuer.accounts.changePassword({ sub: account.sub, sid: mine.session.sid }, GOOD_PASSWORD, NEW_PASSWORD);
    expect(await t.issuer.sessions.resume(mine.cookie)).toBeDefined();
    expect(await t.issuer.sessions.resume(other.cookie)).toBeUndefined();
    await t.issuer.accounts.setDisabled(name, true);
    expect(await t.issuer.sessions.resume(mine.cookie)).toBeUndefined();
  });

  it("ends browser sessions through the hook: all of them, or all but the caller's on a password change", async () => {
    const calls: [string, string | undefined][] = [];
    const hook = { revokeAllForSubject: async (sub: string, options?: { exceptSid?: string | undefined }) => void calls.push([sub, options?.exceptSid]) };
    const accounts = new Accounts(t.config, t.issuer.users, t.issuer.revocations, new PasswordResets(t.config, t.issuer.aws), hook);
    const name = await newUser();
    const claims = decodeJwt((await session(name)).access) as { sub: string; sid: string };
    await accounts.changePassword(claims, GOOD_PASSWORD, NEW_PASSWORD);
    expect(calls).toEqual([[claims.sub, claims.sid]]);
    await accounts.signOutEverywhere(claims);
    await accounts.setDisabled(name, true);
    const reset = new URL((await accounts.issueReset(name)).link).searchParams.get("token")!;
    await accounts.completeReset(reset, GOOD_PASSWORD);
    await accounts.remove(name);
    expect(calls.slice(1)).toEqual([[claims.sub, undefined], [claims.sub, undefined], [claims.sub, undefined], [claims.sub, undefined]]);
  });

  it("writes each event to the structured log with the request id", async () => {
    const lines: string[] = [];
    const stop = onLogLine((line) => lines.push(line));
    try {
      const name = await newUser();
      const s = await session(name);
      const changed = await account("POST", "/account/password", s.access, { current_password: GOOD_PASSWORD, new_password: NEW_PASSWORD });
      const signedOut = await account("DELETE", "/account/sessions", s.access);
      const s2 = await session(name, NEW_PASSWORD);
      const revoked = await post(`${t.url}/revoke`, { token: s2.access });
      const s3 = await session(name, NEW_PASSWORD);
      const loggedOut = await post(`${t.url}/revoke`, { token: s3.refresh });
      const s4 = await session(name, NEW_PASSWORD);
      const deleted = await account("DELETE", "/account", s4.access, { password: NEW_PASSWORD });
      const events = lines.filter((l) => l.includes('"msg":"audit"')).map((l) => JSON.parse(l) as Record<string, unknown>);
      const sub = decodeJwt(s.access).sub;
      for (const [event, res, extra] of [
        ["user.password_changed", changed, { sub }],
        ["user.sessions_revoked", signedOut, { sub }],
        ["token.revoked", revoked, { sub }],
        ["session.revoked", loggedOut, {}],
        ["user.deleted", deleted, { sub }],
      ] as const) {
        expect(events, event).toContainEqual(expect.objectContaining({ event, ...extra, requestId: res.headers.get("x-request-id") }));
      }
      // The password checks of /account/* are recorded as such, not as logins.
      expect(events).toContainEqual(expect.objectContaining({ event: "user.login_succeeded", purpose: "password_check", requestId: changed.headers.get("x-request-id") }));
      expect(lines.join("")).not.toMatch(/lkr_|lkp_|argon2/);
    } finally {
      stop();
    }
  });
});
