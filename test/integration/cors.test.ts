/** Opt-in CORS for browser apps: only configured origins get CORS headers; off by default. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { skipIntegration, startTestIssuer, type TestIssuer } from "../support/issuer.js";

describe.skipIf(skipIntegration)("CORS", () => {
  let on: TestIssuer;
  let off: TestIssuer;
  beforeAll(async () => {
    on = await startTestIssuer({ LATCHKEY_CORS_ORIGINS: "https://app.example.com,http://localhost:5173" });
    off = await startTestIssuer();
  });
  afterAll(async () => {
    await on?.close();
    await off?.close();
  });

  const preflight = (url: string, origin: string) =>
    fetch(`${url}/login`, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" } });

  it("answers a preflight from an allowed origin", async () => {
    const res = await preflight(on.url, "https://app.example.com");
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
  });

  it("lets a browser app call the DELETE account routes (preflight allows DELETE and Authorization)", async () => {
    const res = await fetch(`${on.url}/account/sessions`, {
      method: "OPTIONS",
      headers: { origin: "https://app.example.com", "access-control-request-method": "DELETE", "access-control-request-headers": "authorization" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-methods")).toContain("DELETE");
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
  });

  it("adds CORS headers to responses (errors included) only for allowed origins", async () => {
    const allowed = await fetch(`${on.url}/login`, { method: "POST", headers: { origin: "http://localhost:5173", "content-type": "application/json" }, body: "{}" });
    expect(allowed.status).toBe(400);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(allowed.headers.get("access-control-expose-headers")).toContain("WWW-Authenticate");
    const other = await fetch(`${on.url}/.well-known/jwks.json`, { headers: { origin: "https://evil.example" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("keeps the CORS headers on a token response made with its headers as a plain record (noStoreJson)", async () => {
    const { client, clientSecret } = await on.issuer.clients.create({ name: "cors-cc", scopes: ["read"], audiences: ["https://api.example"], auth: "secret" });
    const res = await fetch(`${on.url}/token`, {
      method: "POST",
      headers: {
        origin: "http://localhost:5173",
        "content-type": "application/x-www-form-urlencoded",
        authorization: "Basic " + Buffer.from(`${client.clientId}:${clientSecret}`).toString("base64"),
      },
      body: "grant_type=client_credentials&audience=https%3A%2F%2Fapi.example",
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(res.headers.get("access-control-expose-headers")).toContain("X-Request-Id");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("sends no CORS headers when no origin is configured", async () => {
    const res = await fetch(`${off.url}/.well-known/jwks.json`, { headers: { origin: "https://app.example.com" } });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect((await preflight(off.url, "https://app.example.com")).status).toBe(405);
  });

  it("allows a public client's redirect-URI origins on /token, /userinfo and /revoke only, exactly, without credentials", async () => {
    await off.issuer.clients.create({ name: "spa", auth: "none", redirectUris: ["https://spa.example.com/callback", "com.example.app:/cb"] });
    await off.issuer.clients.create({ name: "portal", auth: "secret", redirectUris: ["https://portal.example.com/callback"] });
    const preflightAt = (path: string, origin: string) =>
      fetch(`${off.url}${path}`, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" } });
    for (const path of ["/token", "/userinfo", "/revoke"]) {
      const res = await preflightAt(path, "https://spa.example.com");
      expect(res.status, path).toBe(204);
      expect(res.headers.get("access-control-allow-origin")).toBe("https://spa.example.com");
      expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    }
    const token = await fetch(`${off.url}/token`, { method: "POST", headers: { origin: "https://spa.example.com", "content-type": "application/x-www-form-urlencoded" }, body: "grant_type=nope" });
    expect(token.headers.get("access-control-allow-origin")).toBe("https://spa.example.com");
    expect((await preflightAt("/login", "https://spa.example.com")).headers.get("access-control-allow-origin")).toBeNull();
    for (const origin of ["https://portal.example.com", "https://spa.example.com:8443", "http://spa.example.com", "https://evil.example"]) {
      expect((await preflightAt("/token", origin)).headers.get("access-control-allow-origin"), origin).toBeNull();
    }
  });
});
