/**
 * A sweep of malformed requests across every route (deterministic, bounded): none may get a
 * 5xx, and every error is JSON with `error` and `error_description`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { skipIntegration, startTestIssuer, type TestIssuer } from "../support/issuer.js";

/** mulberry32: a tiny seeded PRNG so every run sends the same requests. */
function prng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const PATHS = ["/register", "/login", "/token", "/refresh", "/revoke", "/sign", "/validate", "/.well-known/jwks.json", "/.well-known/openid-configuration", "/openapi.json", "/nope", "/token/", "//token", "/%2e%2e/etc/passwd", "/.well-known/", "/register?x=1"];
const POST_ROUTES = ["/register", "/login", "/token", "/refresh", "/revoke", "/sign"];
const METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"];
const TYPES = ["application/json", "application/x-www-form-urlencoded", "text/plain", "application/json; charset=utf-16", "multipart/form-data; boundary=x", "", "application/JSON", "application/xml"];
const FIELDS = ["username", "password", "grant_type", "refresh_token", "token", "client_id", "client_secret", "client_assertion", "client_assertion_type", "scope", "audience", "resource", "claims", "expires_in", "__proto__", "constructor", "token_type_hint"];

function value(rand: () => number, depth = 0): unknown {
  const pick = Math.floor(rand() * 12);
  switch (pick) {
    case 0: return null;
    case 1: return Math.floor(rand() * 1e9) - 5e8;
    case 2: return rand() < 0.5;
    case 3: return "x".repeat(Math.floor(rand() * 5000));
    case 4: return depth < 3 ? [value(rand, depth + 1), value(rand, depth + 1)] : [];
    case 5: return depth < 3 ? { [FIELDS[Math.floor(rand() * FIELDS.length)]!]: value(rand, depth + 1) } : {};
    case 6: return "\u0000\uffff\ud800";
    case 7: return "client_credentials";
    case 8: return "refresh_token";
    case 9: return "lkr_" + "A".repeat(87);
    case 10: return "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.";
    default: return 1e308 * 10;
  }
}

/** Plausible bodies per route, to be mutated: garbage that gets past the parser. */
const TEMPLATES: Record<string, Record<string, unknown>[]> = {
  "/register": [{ username: "sweeper", password: "correct horse battery staple" }],
  "/login": [{ username: "sweeper", password: "correct horse battery staple", audience: "latchkey", scope: "openid" }],
  "/token": [
    { grant_type: "refresh_token", refresh_token: "lkr_" + "A".repeat(87) },
    { grant_type: "client_credentials", client_id: "lkc_" + "A".repeat(22), client_secret: "lks_" + "B".repeat(43), scope: "read" },
    { grant_type: "client_credentials", client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", client_assertion: "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln" },
  ],
  "/refresh": [{ refresh_token: "lkr_" + "A".repeat(87) }],
  "/revoke": [{ token: "lkr_" + "A".repeat(87), token_type_hint: "refresh_token" }, { token: "anything at all" }],
  "/sign": [{ claims: { sub: "x", scope: "read" }, audience: "api", client_id: "lkc_" + "A".repeat(22), client_secret: "lks_" + "B".repeat(43) }],
};

function mutate(rand: () => number, template: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...template };
  const keys = Object.keys(out);
  for (let i = 0; i < Math.floor(rand() * 3); i++) {
    const op = Math.floor(rand() * 4);
    const key = keys[Math.floor(rand() * keys.length)]!;
    if (op === 0) delete out[key];
    else if (op === 1) out[key] = value(rand);
    else if (op === 2) out[FIELDS[Math.floor(rand() * FIELDS.length)]!] = value(rand);
    else out[key] = String(out[key] ?? "") + "\u0000' OR 1=1 --";
  }
  return out;
}

function body(rand: () => number, type: string, path: string): string | Uint8Array | undefined {
  const kind = Math.floor(rand() * 12);
  if (kind === 0) return undefined;
  if (kind === 1) return Uint8Array.from({ length: Math.floor(rand() * 300) }, () => Math.floor(rand() * 256)); // random bytes
  if (kind === 2) return '{"username": ';
  if (kind === 3) return JSON.stringify(value(rand));
  if (kind === 4) return "a=%ZZ&b=%&&=&grant_type=client_credentials&grant_type=x";
  if (kind === 5) return "x".repeat(20_000);
  const templates = TEMPLATES[path] ?? [{ [FIELDS[Math.floor(rand() * FIELDS.length)]!]: value(rand) }];
  const obj = mutate(rand, templates[Math.floor(rand() * templates.length)]!);
  if (type.includes("urlencoded")) {
    return new URLSearchParams(Object.entries(obj).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v) ?? ""])).toString();
  }
  return JSON.stringify(obj);
}

describe.skipIf(skipIntegration)("bad-input sweep", () => {
  let t: TestIssuer;
  beforeAll(async () => {
    t = await startTestIssuer({ LATCHKEY_LOGIN_MAX_FAILURES: "1000" });
  });
  afterAll(() => t?.close());

  it("answers 400 requests of garbage with 4xx JSON errors and never a 5xx", async () => {
    const rand = prng(20261124);
    const failures: string[] = [];
    const seen = new Map<number, number>();
    const N = 400;
    for (let batch = 0; batch < N / 8; batch++) {
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          // Mostly real routes and media types, so most requests reach the validators.
          const path = rand() < 0.75 ? POST_ROUTES[Math.floor(rand() * POST_ROUTES.length)]! : PATHS[Math.floor(rand() * PATHS.length)]!;
          const method = rand() < 0.85 ? "POST" : METHODS[Math.floor(rand() * METHODS.length)]!;
          const type = rand() < 0.75 ? TYPES[Math.floor(rand() * 2)]! : TYPES[Math.floor(rand() * TYPES.length)]!;
          const headers: Record<string, string> = {};
          if (type) headers["content-type"] = type;
          const r = rand();
          if (r < 0.15) headers.authorization = "Basic " + Buffer.from("lkc_x:" + "y".repeat(Math.floor(rand() * 100))).toString("base64");
          else if (r < 0.25) headers.authorization = "Bearer " + "a.b.c";
          else if (r < 0.3) headers.authorization = "Basic %%%";
          const b = method === "GET" || method === "HEAD" ? undefined : body(rand, type, path);
          const res = await fetch(`${t.url}${path}`, { method, headers, body: b as BodyInit | undefined });
          seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
          const text = await res.text();
          const label = `${method} ${path} [${type}] -> ${res.status} ${text.slice(0, 120)}`;
          if (res.status >= 500) failures.push(label);
          if (res.status >= 400 && method !== "HEAD") {
            try {
              const json = JSON.parse(text);
              if (typeof json.error !== "string" || typeof json.error_description !== "string") failures.push(`not an error body: ${label}`);
            } catch {
              failures.push(`not JSON: ${label}`);
            }
          }
          if (/\bat [\w.<>]+ \(|node_modules|\.ts:\d+/.test(text)) failures.push(`leaks internals: ${label}`);
        }),
      );
    }
    expect(failures).toEqual([]);
    // The sweep reached the validators, not just the router: several 4xx kinds were seen.
    for (const status of [400, 404, 405, 413, 415]) expect(seen.get(status) ?? 0, `status ${status}`).toBeGreaterThan(0);
  });
});
