/**
 * A third-party relying party (openid-client) against the issuer, end to end, for a public
 * and a confidential client: discovery, an authorization URL with PKCE, state and nonce, the
 * hosted form submitted, the code exchanged with ID-token validation, userinfo, refresh, and
 * RP-initiated logout (which ends SSO and revokes the session's refresh tokens).
 */
import { spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../functions/local/server.js";
import * as oidc from "openid-client";
import { GOOD_PASSWORD, post, skipIntegration, startTestIssuer, uniqueName, type TestIssuer } from "../support/issuer.js";
import { readForm, TestBrowser } from "../support/browser.js";

const REDIRECT = "https://rp.example.com/callback";
const AFTER_LOGOUT = "https://rp.example.com/bye";

describe.skipIf(skipIntegration)("openid-client as the relying party", () => {
  let t: TestIssuer;
  const username = uniqueName("olivia");
  let publicId: string;
  let confidential: { id: string; secret: string };

  beforeAll(async () => {
    t = await startTestIssuer();
    await t.issuer.users.register(username, GOOD_PASSWORD);
    const common = { redirectUris: [REDIRECT], postLogoutRedirectUris: [AFTER_LOGOUT] };
    publicId = (await t.issuer.clients.create({ name: "spa", auth: "none", ...common })).client.clientId;
    const c = await t.issuer.clients.create({ name: "web", auth: "secret", ...common });
    confidential = { id: c.client.clientId, secret: c.clientSecret! };
  });
  afterAll(async () => t?.close());

  const discover = (clientId: string, auth: oidc.ClientAuth) =>
    oidc.discovery(new URL(t.url), clientId, undefined, auth, { execute: [oidc.allowInsecureRequests] });

  async function signInWith(config: oidc.Configuration, browser: TestBrowser) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: "openid profile",
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
      nonce,
    });
    let res = await browser.get(url.href);
    if (res.status === 200) {
      const { action, hidden } = readForm(res.body);
      res = await browser.submit(t.url, action, { ...hidden, username, password: GOOD_PASSWORD });
    }
    expect(res.location).toBeTruthy();
    return oidc.authorizationCodeGrant(config, new URL(res.location!), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
  }

  for (const kind of ["public", "confidential"] as const) {
    it(`${kind} client: sign in, userinfo, refresh, logout`, async () => {
      const config = kind === "public" ? await discover(publicId, oidc.None()) : await discover(confidential.id, oidc.ClientSecretBasic(confidential.secret));
      const clientId = kind === "public" ? publicId : confidential.id;
      const browser = new TestBrowser();
      const tokens = await signInWith(config, browser);
      const claims = tokens.claims()!;
      expect(claims).toMatchObject({ iss: t.url, aud: clientId, preferred_username: username });

      const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
      expect(info).toEqual({ sub: claims.sub, preferred_username: username });

      const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
      expect(refreshed.access_token).not.toBe(tokens.access_token);

      // SSO: a second sign-in in the same browser needs no form.
      const again = await signInWith(config, browser);
      expect(again.claims()!.sid).toBe(claims.sid);

      const logoutUrl = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: AFTER_LOGOUT, state: "bye-1" });
      const out = await browser.get(logoutUrl.href);
      expect(out.status).toBe(302);
      expect(out.location).toBe(`${AFTER_LOGOUT}?state=bye-1`);
      // The session's refresh tokens are revoked, and the next sign-in shows the form again.
      const dead = await post(`${t.url}/token`, new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshed.refresh_token!, client_id: clientId }).toString(), {
        "content-type": "application/x-www-form-urlencoded",
        ...(kind === "confidential" ? { authorization: "Basic " + Buffer.from(`${confidential.id}:${confidential.secret}`).toString("base64") } : {}),
      });
      expect(dead.json.error).toBe("invalid_grant");
      const form = await browser.get(oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: "openid", code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: "S256" }).href);
      expect(form.status).toBe(200);
    });
  }

  it("publishes the OpenID Provider metadata in both discovery documents", async () => {
    for (const path of ["openid-configuration", "oauth-authorization-server"]) {
      const doc = await (await fetch(`${t.url}/.well-known/${path}`)).json();
      expect(doc).toMatchObject({
        authorization_endpoint: `${t.url}/authorize`,
        userinfo_endpoint: `${t.url}/userinfo`,
        end_session_endpoint: `${t.url}/logout`,
        response_types_supported: ["code"],
        response_modes_supported: ["query"],
        code_challenge_methods_supported: ["S256"],
        id_token_signing_alg_values_supported: ["RS256"],
        subject_types_supported: ["public"],
        authorization_response_iss_parameter_supported: true,
      });
      expect(doc.grant_types_supported).toEqual(expect.arrayContaining(["authorization_code", "refresh_token", "client_credentials"]));
      expect(doc.token_endpoint_auth_methods_supported).toContain("none");
      expect(doc.scopes_supported).toEqual(expect.arrayContaining(["openid", "profile"]));
      expect(doc.claims_supported).toEqual(expect.arrayContaining(["sub", "auth_time", "nonce", "sid", "preferred_username"]));
    }
  });

  it("the README's sign-in app runs as written: the hosted page, then a greeting by name", async () => {
    const repo = resolve(import.meta.dirname, "../..");
    const readme = await readFile(join(repo, "README.md"), "utf8");
    const source = /<!-- relying-party example: sign-in-app -->\n```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(source).toBeTruthy();
    // Inside the repository (git-ignored), so openid-client resolves from its node_modules.
    const dir = join(repo, ".latchkey/readme-relying-party");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "sign-in-app.mts"), source!);
    const demoId = (await t.issuer.clients.create({ name: "demo", auth: "none", redirectUris: ["http://127.0.0.1/callback"] })).client.clientId;
    const port = await freePort();
    const child = spawn(join(repo, "node_modules/.bin/tsx"), [join(dir, "sign-in-app.mts")], { cwd: repo, env: { ...process.env, LATCHKEY_ISSUER: t.url, CLIENT_ID: demoId, PORT: String(port) } });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    try {
      const app = `http://127.0.0.1:${port}`;
      const browser = new TestBrowser();
      let start: Awaited<ReturnType<TestBrowser["get"]>> | undefined;
      for (let i = 0; !start; i++) {
        try {
          start = await browser.get(`${app}/login`);
        } catch {
          if (i > 150) throw new Error(`the example app did not start: ${stderr}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      expect(start.status).toBe(302);
      const { action, hidden } = readForm((await browser.get(start.location!)).body);
      const back = await browser.submit(t.url, action, { ...hidden, username, password: GOOD_PASSWORD });
      expect(back.location!.startsWith(`${app}/callback?`)).toBe(true);
      const hello = await browser.get(back.location!);
      expect(hello.body, stderr).toBe(`Hello ${username}`);
    } finally {
      child.kill("SIGTERM");
    }
  });
});
