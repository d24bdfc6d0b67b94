/** Every route and error path of the HTTP contract, over real HTTP against a real issuer. */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { GOOD_PASSWORD, post, skipIntegration, startTestIssuer, uniqueName, type TestIssuer } from "../support/issuer.js";

describe.skipIf(skipIntegration)("HTTP API", () => {
  let t: TestIssuer;
  beforeAll(async () => {
    t = await startTestIssuer({ LATCHKEY_LOGIN_MAX_FAILURES: "3", LATCHKEY_USER_AUDIENCES: "latchkey,https://api.example.com" });
  });
  afterAll(() => t?.close());

  async function registerAndLogin(extra: Record<string, string> = {}) {
    const username = uniqueName();
    const reg = await post(`${t.url}/register`, { username, password: GOOD_PASSWORD });
    expect(reg.status).toBe(201);
    const login = await post(`${t.url}/login`, { username, password: GOOD_PASSWORD, ...extra });
    expect(login.status).toBe(200);
    return { username, sub: reg.json.sub as string, tokens: login.json, headers: login.headers };
  }

  describe("POST /register", () => {
    it("creates a user and answers 201 with its sub", async () => {
      const username = uniqueName("Reg");
      const res = await post(`${t.url}/register`, { username, password: GOOD_PASSWORD });
      expect(res.status).toBe(201);
      expect(res.json.username).toBe(username);
      expect(res.json.sub).toMatch(/^[0-9a-f-]{36}$/);
      expect(JSON.stringify(res.json)).not.toContain(GOOD_PASSWORD);
    });

    it("gives 409 for a name taken in another case or Unicode form", async () => {
      const username = uniqueName("case");
      expect((await post(`${t.url}/register`, { username, password: GOOD_PASSWORD })).status).toBe(201);
      const again = await post(`${t.url}/register`, { username: username.toUpperCase(), password: GOOD_PASSWORD });
      expect(again.status).toBe(409);
      expect(again.json.error).toBe("username_taken");
      // NFKC: fullwidth letters fold to ASCII.
      const fullwidth = [...username].map((ch) => (/[a-z]/.test(ch) ? String.fromCodePoint(ch.codePointAt(0)! + 0xfee0) : ch)).join("");
      expect((await post(`${t.url}/register`, { username: fullwidth, password: GOOD_PASSWORD })).status).toBe(409);
    });

    it.each([
      ["too short", "short-pass-1", /at least 15 characters/],
      ["common", "passwordpassword", /common or breached/],
      ["common with suffix", "1qaz2wsx3edc4rfv!!", /common or breached/],
      ["repetitive", "abcabcabcabcabcabc", /repeated/],
      ["sequential", "abcdefghijklmnopq", /consecutive/],
      ["service name", "my latchkey password is long", /service name/],
    ])("refuses a %s password with 400 naming the rule", async (_label, password, rule) => {
      const res = await post(`${t.url}/register`, { username: uniqueName(), password });
      expect(res.status).toBe(400);
      expect(res.json.error).toBe("invalid_password");
      expect(res.json.error_description).toMatch(rule);
    });

    it("refuses a password that contains the username", async () => {
      const username = uniqueName("zebra");
      const res = await post(`${t.url}/register`, { username, password: `my ${username} is lovely today` });
      expect(res.status).toBe(400);
      expect(res.json.error_description).toMatch(/username/);
    });

    it("accepts a 64+ character password and does not truncate it", async () => {
      const username = uniqueName();
      const long = "a long passphrase with many words ".repeat(4); // 136 characters
      expect((await post(`${t.url}/register`, { username, password: long })).status).toBe(201);
      expect((await post(`${t.url}/login`, { username, password: long })).status).toBe(200);
      // Same first 64 characters, different tail: must not log in.
      const truncated = long.slice(0, 64) + "x".repeat(72);
      expect((await post(`${t.url}/login`, { username, password: truncated })).status).toBe(401);
    });

    it("accepts Unicode passwords (NFKC-normalised)", async () => {
      const username = uniqueName();
      const composed = "héllo wörld, ünïcödé pässwörd";
      expect((await post(`${t.url}/register`, { username, password: composed })).status).toBe(201);
      expect((await post(`${t.url}/login`, { username, password: composed.normalize("NFD") })).status).toBe(200);
    });

    it("refuses malformed usernames", async () => {
      for (const username of ["ab", "has space", "x".repeat(65), "semi;colon"]) {
        const res = await post(`${t.url}/register`, { username, password: GOOD_PASSWORD });
        expect(res.status, username).toBe(400);
        expect(res.json.error).toBe("invalid_username");
      }
    });
  });

  describe("POST /login", () => {
    it("returns an RFC 6749 5.1 token response with no-store and a refresh token", async () => {
      const { tokens, headers } = await registerAndLogin();
      expect(headers.get("cache-control")).toBe("no-store");
      expect(tokens.token_type).toBe("Bearer");
      expect(tokens.expires_in).toBe(900);
      expect(tokens.refresh_token).toMatch(/^lkr_[A-Za-z0-9_-]{87}$/); // family id (22) + 256-bit nonce (43) + tag (22)
      expect(tokens.scope).toBe("openid profile");
    });

    it("issues an RS256 at+jwt with every required claim", async () => {
      const { tokens, sub } = await registerAndLogin({ audience: "https://api.example.com", scope: "openid" });
      const header = decodeProtectedHeader(tokens.access_token);
      expect(header).toMatchObject({ alg: "RS256", typ: "at+jwt" });
      const jwks = createRemoteJWKSet(new URL(`${t.url}/.well-known/jwks.json`));
      const { payload } = await jwtVerify(tokens.access_token, jwks, {
        issuer: t.url,
        audience: "https://api.example.com",
        typ: "at+jwt",
        algorithms: ["RS256"],
      });
      expect(payload.sub).toBe(sub);
      expect(payload.scope).toBe("openid");
      expect(payload.exp! - payload.iat!).toBe(900);
      expect(payload.nbf).toBe(payload.iat);
      expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
    });

    it("refuses an audience or scope outside the configured lists", async () => {
      const username = uniqueName();
      await post(`${t.url}/register`, { username, password: GOOD_PASSWORD });
      const aud = await post(`${t.url}/login`, { username, password: GOOD_PASSWORD, audience: "https://evil.example" });
      expect(aud.status).toBe(400);
      expect(aud.json.error).toBe("invalid_target");
      const scope = await post(`${t.url}/login`, { username, password: GOOD_PASSWORD, scope: "admin" });
      expect(scope.status).toBe(400);
      expect(scope.json.error).toBe("invalid_scope");
    });

    it("answers unknown user and wrong password identically", async () => {
      const username = uniqueName();
      await post(`${t.url}/register`, { username, password: GOOD_PASSWORD });
      const wrong = await post(`${t.url}/login`, { username, password: "not the right password at all" });
      const unknown = await post(`${t.url}/login`, { username: uniqueName(), password: "not the right password at all" });
      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(401);
      expect(unknown.json).toEqual(wrong.json);
      expect(unknown.headers.get("www-authenticate")).toBe(wrong.headers.get("www-authenticate"));
    });

    it("spends comparable time on unknown users and wrong passwords (dummy hash)", async () => {
      const username = uniqueName();
      await post(`${t.url}/register`, { username, password: GOOD_PASSWORD });
      const time = async (name: string) => {
        const start = performance.now();
        await post(`${t.url}/login`, { username: name, password: "definitely the wrong password" });
        return performance.now() - start;
      };
      // The fastest of a few runs: load on a shared machine only ever adds time, so the minimum
      // is the stable figure (a median of two flaked at load average 12). The test below pins the
      // mechanism (one argon2 verification either way) without timing.
      const fastest = (xs: number[]) => Math.min(...xs);
      // Fresh names each time so the throttle never kicks in.
      const known: number[] = [];
      const unknown: number[] = [];
      for (let i = 0; i < 4; i++) {
        const n = uniqueName();
        await post(`${t.url}/register`, { username: n, password: GOOD_PASSWORD });
        known.push(await time(n));
        unknown.push(await time(uniqueName()));
      }
      // Both paths run argon2id (~tens of ms); skipping it would make unknown users ~10x faster.
      expect(fastest(unknown)).toBeGreaterThan(fastest(known) * 0.4);
    });

    it("runs one argon2id verification for an unknown user, as for a known one (no shortcut)", async () => {
      const verify = vi.spyOn(t.issuer.users.hashing, "verify");
      try {
        const known = uniqueName();
        await post(`${t.url}/register`, { username: known, password: GOOD_PASSWORD });
        for (const name of [known, uniqueName()]) {
          verify.mockClear();
          expect((await post(`${t.url}/login`, { username: name, password: "definitely the wrong password" })).status).toBe(401);
          expect(verify, name).toHaveBeenCalledTimes(1);
          expect(verify.mock.calls[0]![0]).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
        }
      } finally {
        verify.mockRestore();
      }
    });

    it("throttles repeated failures for one username with 429 and Retry-After", async () => {
      const username = uniqueName();
      await post(`${t.url}/register`, { username, password: GOOD_PASSWORD });
      for (let i = 0; i < 3; i++) {
        expect((await post(`${t.url}/login`, { username, password: "wrong wrong wrong wrong" })).status).toBe(401);
      }
      const blocked = await post(`${t.url}/login`, { username, password: GOOD_PASSWORD });
      expect(blocked.status).toBe(429);
      expect(blocked.json.error).toBe("too_many_requests");
      expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
      // Other users are unaffected.
      await registerAndLogin();
    });
  });

  describe("refresh tokens", () => {
    it("rotates on every use via /refresh and via /token", async () => {
      const { tokens } = await registerAndLogin();
      const first = await post(`${t.url}/refresh`, { refresh_token: tokens.refresh_token });
      expect(first.status).toBe(200);
      expect(first.headers.get("cache-control")).toBe("no-store");
      expect(first.json.refresh_token).not.toBe(tokens.refresh_token);
      const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: first.json.refresh_token }).toString();
      const second = await post(`${t.url}/token`, form, { "content-type": "application/x-www-form-urlencoded" });
      expect(second.status).toBe(200);
      expect(second.json.access_token).toBeTruthy();
      expect(second.json.refresh_token).not.toBe(first.json.refresh_token);
    });

    it("revokes the whole family when a rotated token is reused", async () => {
      const { tokens } = await registerAndLogin();
      const next = await post(`${t.url}/refresh`, { refresh_token: tokens.refresh_token });
      expect(next.status).toBe(200);
      const reuse = await post(`${t.url}/refresh`, { refresh_token: tokens.refresh_token });
      expect(reuse.status).toBe(400);
      expect(reuse.json.error).toBe("invalid_grant");
      // The legitimate successor is dead too.
      const after = await post(`${t.url}/refresh`, { refresh_token: next.json.refresh_token });
      expect(after.status).toBe(400);
      expect(after.json.error).toBe("invalid_grant");
    });

    it("refuses a token made up around a real family id without ending the session", async () => {
      const { tokens } = await registerAndLogin();
      const forged = tokens.refresh_token.slice(0, 4 + 22) + "B".repeat(43) + "C".repeat(22);
      const res = await post(`${t.url}/refresh`, { refresh_token: forged });
      expect(res.status).toBe(400);
      expect(res.json.error).toBe("invalid_grant");
      expect(res.json.error_description).not.toMatch(/already been used/);
      // A leaked family id alone cannot revoke anyone's session (the family never issued that token).
      expect((await post(`${t.url}/refresh`, { refresh_token: tokens.refresh_token })).status).toBe(200);
    });

    it("may narrow the scope but never widen it, and a refused request does not spend the token", async () => {
      const { tokens } = await registerAndLogin({ scope: "openid" });
      const widen = await post(`${t.url}/token`, { grant_type: "refresh_token", refresh_token: tokens.refresh_token, scope: "openid profile" });
      expect(widen.status).toBe(400);
      expect(widen.json.error).toBe("invalid_scope");
      const ok = await post(`${t.url}/token`, { grant_type: "refresh_token", refresh_token: tokens.refresh_token, scope: "openid" });
      expect(ok.status).toBe(200);
      expect(ok.json.scope).toBe("openid");
    });

    it("rejects unknown, malformed and missing refresh tokens with invalid_grant / invalid_request", async () => {
      expect((await post(`${t.url}/refresh`, { refresh_token: "lkr_" + "A".repeat(43) })).json.error).toBe("invalid_grant");
      expect((await post(`${t.url}/refresh`, { refresh_token: "lkr_" + "A".repeat(87) })).json.error).toBe("invalid_grant");
      expect((await post(`${t.url}/refresh`, { refresh_token: "garbage" })).json.error).toBe("invalid_grant");
      const missing = await post(`${t.url}/token`, { grant_type: "refresh_token" });
      expect(missing.status).toBe(400);
      expect(missing.json.error).toBe("invalid_request");
    });
  });

  describe("POST /revoke (RFC 7009)", () => {
    it("revokes a refresh token's family and answers 200", async () => {
      const { tokens } = await registerAndLogin();
      const form = new URLSearchParams({ token: tokens.refresh_token, token_type_hint: "refresh_token" }).toString();
      const res = await post(`${t.url}/revoke`, form, { "content-type": "application/x-www-form-urlencoded" });
      expect(res.status).toBe(200);
      const refresh = await post(`${t.url}/refresh`, { refresh_token: tokens.refresh_token });
      expect(refresh.status).toBe(400);
      expect(refresh.json.error).toBe("invalid_grant");
    });

    it("ignores a token the family never issued (a leaked family id with any secret part)", async () => {
      const { tokens } = await registerAndLogin();
      const forged = tokens.refresh_token.slice(0, 4 + 22 + 43) + "C".repeat(22);
      expect((await post(`${t.url}/revoke`, { token: forged })).status).toBe(200);
      expect((await post(`${t.url}/refresh`, { refresh_token: tokens.refresh_token })).status).toBe(200);
    });

    it("answers 200 for unknown tokens and access tokens", async () => {
      expect((await post(`${t.url}/revoke`, { token: "no-such-token" })).status).toBe(200);
      const { tokens } = await registerAndLogin();
      expect((await post(`${t.url}/revoke`, { token: tokens.access_token })).status).toBe(200);
    });

    it("needs the token parameter", async () => {
      const res = await post(`${t.url}/revoke`, {});
      expect(res.status).toBe(400);
      expect(res.json).toEqual({ error: "invalid_request", error_description: "token is required" });
    });
  });

  describe("POST /token", () => {
    it("refuses unsupported grant types", async () => {
      for (const grant_type of ["password", "implicit", "urn:ietf:params:oauth:grant-type:device_code", "toString", "__proto__"]) {
        const res = await post(`${t.url}/token`, { grant_type });
        expect(res.status, grant_type).toBe(400);
        expect(res.json.error).toBe("unsupported_grant_type");
      }
    });

    it("refuses repeated form parameters (RFC 6749 3.2)", async () => {
      const res = await post(`${t.url}/token`, "grant_type=refresh_token&grant_type=refresh_token", {
        "content-type": "application/x-www-form-urlencoded",
      });
      expect(res.status).toBe(400);
      expect(res.json.error_description).toMatch(/more than once/);
    });
  });

  describe("well-known documents", () => {
    it("publishes discovery whose issuer is the server URL, with caching headers", async () => {
      for (const path of ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"]) {
        const res = await fetch(`${t.url}${path}`);
        expect(res.status).toBe(200);
        const doc = await res.json();
        expect(doc.issuer).toBe(t.url);
        expect(doc.jwks_uri).toBe(`${t.url}/.well-known/jwks.json`);
        expect(doc.token_endpoint).toBe(`${t.url}/token`);
        expect(doc.grant_types_supported).toContain("refresh_token");
        expect(res.headers.get("cache-control")).toMatch(/max-age=\d+.*stale-while-revalidate=\d+.*stale-if-error=\d+/);
        expect(res.headers.get("etag")).toBeTruthy();
      }
    });

    it("serves the JWKS with next, current and previous RSA keys and answers If-None-Match with 304", async () => {
      const res = await fetch(`${t.url}/.well-known/jwks.json`);
      const jwks = await res.json();
      expect(jwks.keys).toHaveLength(2);
      for (const k of jwks.keys) {
        expect(k).toMatchObject({ kty: "RSA", alg: "RS256", use: "sig", e: "AQAB" });
        expect(k.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(k.d).toBeUndefined();
      }
      const etag = res.headers.get("etag")!;
      const again = await fetch(`${t.url}/.well-known/jwks.json`, { headers: { "if-none-match": etag } });
      expect(again.status).toBe(304);
      expect(again.headers.get("etag")).toBe(etag);
    });
  });

  describe("errors", () => {
    it("answers unknown routes with JSON 404 and wrong methods with 405 and Allow", async () => {
      const nf = await fetch(`${t.url}/nope`);
      expect(nf.status).toBe(404);
      expect((await nf.json()).error).toBe("not_found");
      const na = await fetch(`${t.url}/token`);
      expect(na.status).toBe(405);
      expect(na.headers.get("allow")).toBe("POST");
      expect((await na.json()).error).toBe("method_not_allowed");
      const naPost = await fetch(`${t.url}/.well-known/jwks.json`, { method: "POST" });
      expect(naPost.status).toBe(405);
    });

    it("answers 415 for the wrong content type and 413 for oversized bodies", async () => {
      const wrongType = await post(`${t.url}/login`, "username=a&password=b", { "content-type": "application/x-www-form-urlencoded" });
      expect(wrongType.status).toBe(415);
      expect(wrongType.json.error).toBe("unsupported_media_type");
      const noType = await post(`${t.url}/register`, "{}", {});
      expect(noType.status).toBe(415);
      const huge = await post(`${t.url}/register`, { username: "x", password: "y".repeat(20_000) });
      expect(huge.status).toBe(413);
      expect(huge.json.error).toBe("payload_too_large");
    });

    it("answers 400 for malformed JSON, wrong types, missing and unknown fields", async () => {
      const cases: [string, RegExp][] = [
        ["{", /not valid JSON/],
        ["[]", /JSON object/],
        ["null", /JSON object/],
        [JSON.stringify({ username: 1, password: GOOD_PASSWORD }), /username must be a string/],
        [JSON.stringify({ password: GOOD_PASSWORD }), /username is required/],
        [JSON.stringify({ username: "abc", password: GOOD_PASSWORD, admin: true }), /unknown parameter/],
      ];
      for (const [body, message] of cases) {
        const res = await post(`${t.url}/register`, body, { "content-type": "application/json" });
        expect(res.status, body).toBe(400);
        expect(res.json.error).toBe("invalid_request");
        expect(res.json.error_description).toMatch(message);
      }
    });
  });

  describe("registration switched off", () => {
    it("answers 403 on /register while login keeps working", async () => {
      const off = await startTestIssuer({ LATCHKEY_REGISTRATION_ENABLED: "false" });
      try {
        const res = await post(`${off.url}/register`, { username: uniqueName(), password: GOOD_PASSWORD });
        expect(res.status).toBe(403);
        expect(res.json.error).toBe("access_denied");
      } finally {
        await off.close();
      }
    });
  });
});
