/**
 * Deployed, the router answers only requests that came through CloudFront: they carry the
 * secret origin-verify header. Without it (someone calling the execute-api URL directly) every
 * route, known or not, is refused before it runs. Local mode configures no secret.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { post, skipIntegration, startTestIssuer, type TestIssuer } from "../support/issuer.js";
import { isAcceptedOriginSecret, ORIGIN_VERIFY_HEADER } from "../../functions/http/origin-verify.js";

const CURRENT = "QvG3cbZ2r0c9h1mJm8yTq4Xn6wLk5pSd7fHa2eRt9uYi0oPz";
const PREVIOUS = "Lx7Ww2Jt5Kq9Np3Rb6Vc8Zm1Hs4Fd0Gy2Ua5Ie7Oj9Tk3Ql6";

describe.skipIf(skipIntegration)("origin verify", () => {
  let t: TestIssuer;
  let open: TestIssuer;
  beforeAll(async () => {
    t = await startTestIssuer({ LATCHKEY_ORIGIN_VERIFY: `${CURRENT},${PREVIOUS}` });
    open = await startTestIssuer();
  });
  afterAll(async () => {
    await t?.close();
    await open?.close();
  });

  const get = (issuer: TestIssuer, path: string, headers: Record<string, string> = {}) => fetch(`${issuer.url}${path}`, { headers });

  it("refuses every request without the header with a JSON 403, before any route runs", async () => {
    for (const path of ["/.well-known/jwks.json", "/openapi.json", "/no-such-route"]) {
      const res = await get(t, path);
      expect(res.status, path).toBe(403);
      expect(await res.json()).toEqual({ error: "access_denied", error_description: "requests must be made to the issuer URL" });
      expect(res.headers.get("x-request-id")).toBeTruthy();
    }
    const token = await post(`${t.url}/token`, "grant_type=client_credentials", { "content-type": "application/x-www-form-urlencoded" });
    expect(token.status).toBe(403);
  });

  it("refuses a wrong or empty value", async () => {
    for (const value of ["", "wrong", CURRENT.slice(0, -1), `${CURRENT}x`, `${CURRENT},${PREVIOUS}`]) {
      expect((await get(t, "/.well-known/jwks.json", { [ORIGIN_VERIFY_HEADER]: value })).status, value).toBe(403);
    }
  });

  it("serves requests carrying the current or the previous secret (rotation without refusals)", async () => {
    expect((await get(t, "/.well-known/jwks.json", { [ORIGIN_VERIFY_HEADER]: CURRENT })).status).toBe(200);
    expect((await get(t, "/.well-known/jwks.json", { [ORIGIN_VERIFY_HEADER]: PREVIOUS })).status).toBe(200);
    const bad = await post(`${t.url}/token`, "grant_type=client_credentials", { "content-type": "application/x-www-form-urlencoded", [ORIGIN_VERIFY_HEADER]: CURRENT });
    expect(bad.status).toBe(401); // past the guard, into the token endpoint
  });

  it("requires nothing when no secret is configured (local mode)", async () => {
    expect((await get(open, "/.well-known/jwks.json")).status).toBe(200);
  });
});

describe("isAcceptedOriginSecret", () => {
  it("accepts only an exact member of the list", () => {
    expect(isAcceptedOriginSecret(CURRENT, [CURRENT, PREVIOUS])).toBe(true);
    expect(isAcceptedOriginSecret(PREVIOUS, [CURRENT, PREVIOUS])).toBe(true);
    expect(isAcceptedOriginSecret(undefined, [CURRENT])).toBe(false);
    expect(isAcceptedOriginSecret(CURRENT.toLowerCase(), [CURRENT])).toBe(false);
    expect(isAcceptedOriginSecret("", [])).toBe(false);
  });
});
