/** The config module refuses bad settings at start-up, naming the variable. */
import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { ConfigError, envSchema, loadConfig } from "../../functions/config.js";

const base = { LATCHKEY_ISSUER: "https://auth.example.com/", LATCHKEY_TABLE: "tbl", LATCHKEY_KEY_BUCKET: "bkt" };

describe("loadConfig", () => {
  it("applies defaults and trims the issuer's trailing slash", () => {
    const c = loadConfig(base);
    expect(c.issuer).toBe("https://auth.example.com");
    expect(c).toMatchObject({ accessTokenTtlSeconds: 900, keySize: 2048, registrationEnabled: true, corsOrigins: [], userAudiences: ["latchkey"], userScopes: ["openid", "profile"] });
    expect(c.password).toEqual({ minLength: 15, maxLength: 256 });
    expect(c.keyCacheSeconds).toBe(10);
  });

  it("hashes passwords on one core fewer than the process has (at least one) and lets 128 wait", () => {
    // A login flood then leaves a core to token signing (issue 15's login-flood figure).
    expect(loadConfig(base).passwordHashing).toEqual({ concurrency: Math.max(1, availableParallelism() - 1), queue: 128 });
    expect(loadConfig({ ...base, LATCHKEY_PASSWORD_HASH_CONCURRENCY: "3", LATCHKEY_PASSWORD_HASH_QUEUE: "0" }).passwordHashing).toEqual({ concurrency: 3, queue: 0 });
  });

  it.each([
    [{ LATCHKEY_ISSUER: undefined }, /LATCHKEY_ISSUER/],
    [{ LATCHKEY_ISSUER: "not a url" }, /LATCHKEY_ISSUER/],
    [{ LATCHKEY_KEY_SIZE: "1024" }, /LATCHKEY_KEY_SIZE/],
    [{ LATCHKEY_PASSWORD_MIN_LENGTH: "6" }, /LATCHKEY_PASSWORD_MIN_LENGTH/],
    [{ LATCHKEY_PASSWORD_MAX_LENGTH: "32" }, /LATCHKEY_PASSWORD_MAX_LENGTH/],
    [{ LATCHKEY_ACCESS_TOKEN_TTL: "7200" }, /must not exceed LATCHKEY_MAX_ACCESS_TOKEN_TTL/],
    [{ LATCHKEY_REGISTRATION_ENABLED: "maybe" }, /LATCHKEY_REGISTRATION_ENABLED/],
    [{ LATCHKEY_CORS_ORIGINS: "https://app.example.com/path" }, /not an origin/],
    [{ LATCHKEY_USER_AUDIENCES: " , " }, /at least one audience/],
    // The keyring cache is the revocation bound README promises: never above 10 s.
    [{ LATCHKEY_KEY_CACHE_SECONDS: "11" }, /LATCHKEY_KEY_CACHE_SECONDS/],
    [{ LATCHKEY_KEY_CACHE_SECONDS: "0" }, /LATCHKEY_KEY_CACHE_SECONDS/],
  ])("refuses %j", (override, message) => {
    expect(() => loadConfig({ ...base, ...override })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, ...override })).toThrow(message);
  });

  it("reads lists separated by commas or spaces", () => {
    const c = loadConfig({ ...base, LATCHKEY_USER_SCOPES: "a b,c", LATCHKEY_CORS_ORIGINS: "https://a.example, http://localhost:5173" });
    expect(c.userScopes).toEqual(["a", "b", "c"]);
    expect(c.corsOrigins).toEqual(["https://a.example", "http://localhost:5173"]);
  });
});

describe("durations and counts", () => {
  // Settings where 0 is a deliberate "off" (README's configuration table says so):
  // no hash queue (overflow is 503 at once), no client or revocation cache, no secret overlap.
  const ZERO_MEANS_OFF = ["LATCHKEY_PASSWORD_HASH_QUEUE", "LATCHKEY_CLIENT_CACHE_SECONDS", "LATCHKEY_REVOCATION_CACHE_SECONDS", "LATCHKEY_SECRET_OVERLAP_SECONDS"];
  // Every numeric setting, found from the schema itself so a new one is covered without a word here.
  const numeric = Object.entries(envSchema.shape)
    .filter(([, schema]) =>
      ["1", "8", "64", "2048"].some((probe) => {
        const parsed = (schema as z.ZodType).safeParse(probe);
        return parsed.success && typeof parsed.data === "number";
      }),
    )
    .map(([name]) => name);

  it("finds the numeric settings", () => {
    expect(numeric).toEqual(expect.arrayContaining(["LATCHKEY_ACCESS_TOKEN_TTL", "LATCHKEY_LOGIN_MAX_FAILURES", "LATCHKEY_REFRESH_MAX_USES", "LATCHKEY_KEY_CACHE_SECONDS", "LATCHKEY_MAX_BODY_BYTES"]));
    expect(numeric.length).toBeGreaterThanOrEqual(15);
  });

  it.each(numeric)("%s refuses negative values, and 0 unless 0 means off", (name) => {
    for (const value of ["-1", "-900"]) expect(() => loadConfig({ ...base, [name]: value }), `${name}=${value}`).toThrow(new RegExp(name));
    if (ZERO_MEANS_OFF.includes(name)) expect(() => loadConfig({ ...base, [name]: "0" })).not.toThrow();
    else expect(() => loadConfig({ ...base, [name]: "0" }), `${name}=0`).toThrow(new RegExp(name));
  });
});
