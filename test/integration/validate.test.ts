/**
 * GET /validate hardening: an audience is always required, matching is exact and whole-token,
 * each query parameter counts once, and identity headers carry any `sub` without a 500.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { headerSafe } from "../../functions/http/routes/validate.js";
import { post, skipIntegration, startTestIssuer, type TestIssuer } from "../support/issuer.js";

const API = "https://api.example.com";

describe("headerSafe", () => {
  it("keeps ordinary ids and percent-encodes %, controls, spaces and non-ASCII as UTF-8", () => {
    expect(headerSafe("lkc_AbC-_9.x@y:z")).toBe("lkc_AbC-_9.x@y:z");
    expect(headerSafe("a\r\nX-Evil: 1")).toBe("a%0D%0AX-Evil:%201");
    expect(headerSafe("nul\u0000")).toBe("nul%00");
    expect(headerSafe("100%")).toBe("100%25");
    expect(headerSafe("é名😀")).toBe("%C3%A9%E5%90%8D%F0%9F%98%80");
    expect(headerSafe("\ud800")).toBe("%EF%BF%BD");
    for (const s of ["a\r\nb", "é名😀", "%41", " lead and trail "]) expect(decodeURIComponent(headerSafe(s))).toBe(s);
  });
});

describe.skipIf(skipIntegration)("GET /validate", () => {
  let t: TestIssuer;
  let withDefault: TestIssuer;
  let basicAuth: string;
  let token: string;

  const validate = (issuer: TestIssuer, query: string, bearer = token) =>
    fetch(`${issuer.url}/validate${query}`, { headers: { authorization: `Bearer ${bearer}` } });

  async function signed(claims: Record<string, unknown>): Promise<string> {
    const res = await post(`${t.url}/sign`, { claims, audience: API }, { authorization: basicAuth });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    return res.json.access_token as string;
  }

  beforeAll(async () => {
    [t, withDefault] = await Promise.all([startTestIssuer(), startTestIssuer({ LATCHKEY_VALIDATE_AUDIENCE: API })]);
    const { client, clientSecret } = await t.issuer.clients.create({ name: "validate", scopes: ["read", "write"], audiences: [API], maySign: true });
    basicAuth = `Basic ${Buffer.from(`${client.clientId}:${clientSecret}`).toString("base64")}`;
    token = await signed({ scope: "read" });
  });
  afterAll(async () => {
    await t?.close();
    await withDefault?.close();
  });

  it("answers 400 invalid_request when neither ?audience= nor LATCHKEY_VALIDATE_AUDIENCE names one", async () => {
    for (const query of ["", "?scope=read", "?audience="]) {
      const res = await validate(t, query);
      expect(res.status, query).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe("invalid_request");
    }
    expect((await validate(t, `?audience=${encodeURIComponent(API)}`)).status).toBe(200);
  });

  it("uses LATCHKEY_VALIDATE_AUDIENCE when the request names none, and the request's audience when it does", async () => {
    const other = await withDefault.issuer.clients.create({ name: "other", scopes: ["read"], audiences: ["https://billing.example.com", API] });
    const res = await post(`${withDefault.url}/token`, { grant_type: "client_credentials", audience: "https://billing.example.com", client_id: other.client.clientId, client_secret: other.clientSecret });
    const billing = res.json.access_token as string;
    expect((await validate(withDefault, "", billing)).status).toBe(403);
    expect((await validate(withDefault, `?audience=${encodeURIComponent("https://billing.example.com")}`, billing)).status).toBe(200);
  });

  it("matches the audience exactly", async () => {
    for (const audience of ["https://api.example", "https://api.example.com.evil.example", "https://api.example.com/", "HTTPS://API.EXAMPLE.COM"]) {
      expect((await validate(t, `?audience=${encodeURIComponent(audience)}`)).status, audience).toBe(403);
    }
  });

  it("matches scopes as whole tokens: read does not satisfy rea, re or reads", async () => {
    for (const scope of ["rea", "re", "reads", "read%20write"]) {
      const res = await validate(t, `?audience=${encodeURIComponent(API)}&scope=${scope}`);
      expect(res.status, scope).toBe(403);
      expect(res.headers.get("www-authenticate")).toMatch(/insufficient_scope/);
    }
    expect((await validate(t, `?audience=${encodeURIComponent(API)}&scope=read`)).status).toBe(200);
  });

  it("refuses a query parameter given twice with 400", async () => {
    for (const query of [`?audience=${encodeURIComponent(API)}&audience=https://other.example`, `?audience=${encodeURIComponent(API)}&scope=read&scope=write`]) {
      const res = await validate(t, query);
      expect(res.status, query).toBe(400);
      expect(((await res.json()) as { error_description: string }).error_description).toMatch(/more than once/);
    }
  });

  it.each([
    ["CR LF", "alice\r\nX-Injected: yes"],
    ["NUL", "bob\u0000"],
    ["non-Latin-1", "名前"],
    ["Latin-1 non-ASCII", "josé"],
    ["a lone surrogate", "x\ud800y"],
    ["a percent sign", "100%"],
  ])("emits a sub holding %s percent-encoded in X-Auth-Subject, never a 500", async (_what, sub) => {
    const res = await validate(t, `?audience=${encodeURIComponent(API)}`, await signed({ sub }));
    expect(res.status).toBe(200);
    const header = res.headers.get("x-auth-subject")!;
    expect(header).toMatch(/^[\x21-\x7E]+$/);
    expect(res.headers.get("x-injected")).toBeNull();
    expect(decodeURIComponent(header)).toBe(sub.replace(/\ud800/, "\ufffd"));
    expect(((await res.json()) as { sub: string }).sub).toBe(sub); // JSON carries any string as is
  });
});
