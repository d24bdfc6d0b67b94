/**
 * POST /sign cannot mint authorization it was not given: server-set claims are always refused,
 * authorization claims (scp, roles, groups, ...) unless the client is registered to sign them,
 * deep nesting is a 400 (not a 500), and audiences match exactly here as at /token and /login.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeJwt } from "jose";
import { run } from "../../functions/cli/main.js";
import { post, skipIntegration, startTestIssuer, GOOD_PASSWORD, uniqueName, type TestIssuer } from "../support/issuer.js";

const API = "https://api.example.com";
// Written out here, not imported: removing a name from the code's list must fail this test.
const SERVER_SET = ["iss", "iat", "exp", "nbf", "jti", "client_id", "aud"];
const AUTHORIZATION = ["roles", "groups", "cognito:groups", "permissions", "entitlements", "azp", "cid", "sid", "act", "may_act", "cnf", "auth_time", "acr", "amr", "nonce", "at_hash"];

describe.skipIf(skipIntegration)("POST /sign claim rules", () => {
  let t: TestIssuer;
  let plain: Record<string, string>;
  let withRoles: Record<string, string>;

  const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}` });
  const sign = (body: unknown, auth = plain) => post(`${t.url}/sign`, body, auth);

  beforeAll(async () => {
    t = await startTestIssuer({ LATCHKEY_USER_AUDIENCES: `latchkey,${API}` });
    const a = await t.issuer.clients.create({ name: "signer", scopes: ["read"], audiences: [API], maySign: true });
    plain = basic(a.client.clientId, a.clientSecret!);
    const b = await t.issuer.clients.create({ name: "roles", scopes: ["read"], audiences: [API], maySign: true, signClaims: ["roles", "groups"] });
    withRoles = basic(b.client.clientId, b.clientSecret!);
  });
  afterAll(() => t?.close());

  it.each(SERVER_SET.flatMap((n) => [n, n.toUpperCase()]))("refuses the server-set claim %s with 400 naming it", async (name) => {
    const res = await sign({ claims: { [name]: name === "aud" || name === "AUD" ? API : 1 } });
    expect(res.status).toBe(400);
    expect(res.json.error).toBe("invalid_request");
    expect(res.json.error_description).toContain(`claim ${name} `);
  });

  it.each([...AUTHORIZATION, "scp", "Roles", "SCP", "Cognito:Groups"])("refuses the authorization claim %s from a client not registered for it", async (name) => {
    const res = await sign({ claims: { [name]: "billing:admin" } });
    expect(res.status).toBe(400);
    expect(res.json.error).toBe("invalid_request");
    expect(res.json.error_description).toContain(`claim ${name} `);
  });

  it("lets a client registered with --sign-claims roles,groups set exactly those, never scp", async () => {
    const ok = await sign({ claims: { roles: ["editor"], groups: ["team-a"], scope: "read" }, audience: API }, withRoles);
    expect(ok.status, JSON.stringify(ok.json)).toBe(200);
    expect(decodeJwt(ok.json.access_token)).toMatchObject({ roles: ["editor"], groups: ["team-a"], scope: "read" });
    for (const name of ["permissions", "scp"]) {
      const res = await sign({ claims: { [name]: "x" } }, withRoles);
      expect(res.status, name).toBe(400);
    }
  });

  it("refuses to register scp, server-set or unknown names as signable", async () => {
    for (const name of ["scp", "scope", "iss", "client_id", "favourite_colour"]) {
      await expect(t.issuer.clients.create({ name: "bad", maySign: true, signClaims: [name] }), name).rejects.toMatchObject({ code: "invalid_request" });
    }
  });

  it("the CLI registers signable claims with --sign-claims", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, t.env);
    let stdout = "";
    try {
      const code = await run(["clients", "create", "--name", "cli-signer", "--may-sign", "--sign-claims", "roles,amr"], { stdout: (s) => void (stdout += s), stderr: () => {} });
      expect(code).toBe(0);
    } finally {
      process.env = saved;
    }
    expect(JSON.parse(stdout).client.signClaims).toEqual(["roles", "amr"]);
  });

  it("keeps nested application data (a presigned upload) within the size limit", async () => {
    const upload = { bucket: "uploads", key: "u/42/avatar.png", conditions: [["content-length-range", 0, 1048576], { acl: "private" }], meta: { a: { b: { c: [1, 2, { d: true }] } } } };
    const res = await sign({ claims: { sub: "user-42", upload }, audience: API });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(decodeJwt(res.json.access_token).upload).toEqual(upload);
  });

  it("answers 400, not 500, for nesting deeper than 32 levels, however deep", async () => {
    const nest = (levels: number) => {
      let v: unknown = 1;
      for (let i = 0; i < levels; i++) v = { n: v };
      return v;
    };
    // The body is level 1 and claims level 2: 30 objects inside claims reach level 32.
    expect((await sign({ claims: { deep: nest(30) }, audience: API })).status).toBe(200);
    const over = await sign({ claims: { deep: nest(31) }, audience: API });
    expect(over.status).toBe(400);
    expect(over.json.error_description).toMatch(/nested deeper than 32 levels/);
    const arrays = `{"claims":{"deep":${"[".repeat(8000)}${"]".repeat(8000)}}}`;
    const huge = await post(`${t.url}/sign`, arrays, { ...plain, "content-type": "application/json" });
    expect(huge.status).toBe(400);
  });

  describe("audiences match exactly", () => {
    const NEAR_MISSES = [`${API}.evil.example`, "latchkeyX", `${API}/`, "https://api.example.co", "LATCHKEY"];

    it.each(NEAR_MISSES)("/sign refuses %s", async (audience) => {
      const res = await sign({ claims: {}, audience });
      expect(res.status).toBe(400);
      expect(res.json.error).toBe("invalid_target");
    });

    it.each(NEAR_MISSES)("/token refuses %s", async (audience) => {
      const { client, clientSecret } = await t.issuer.clients.create({ name: "aud", scopes: ["read"], audiences: [API, "latchkey"] });
      const res = await post(`${t.url}/token`, { grant_type: "client_credentials", audience }, basic(client.clientId, clientSecret!));
      expect(res.status).toBe(400);
      expect(res.json.error).toBe("invalid_target");
    });

    it("/login refuses every near miss", async () => {
      const username = uniqueName();
      await post(`${t.url}/register`, { username, password: GOOD_PASSWORD });
      for (const audience of NEAR_MISSES) {
        const res = await post(`${t.url}/login`, { username, password: GOOD_PASSWORD, audience });
        expect(res.status, audience).toBe(400);
        expect(res.json.error).toBe("invalid_target");
      }
      expect((await post(`${t.url}/login`, { username, password: GOOD_PASSWORD, audience: API })).status).toBe(200);
    });
  });
});
