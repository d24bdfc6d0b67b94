/**
 * The password dictionaries (zxcvbn-ts) and the confusables data load on the first password or
 * registration, never with the router: the token path and cold start do not pay for them.
 */
import { describe, expect, it, vi } from "vitest";

const loaded = vi.hoisted(() => [] as string[]);
vi.mock("@zxcvbn-ts/core", async (importOriginal) => {
  loaded.push("@zxcvbn-ts/core");
  return importOriginal();
});
vi.mock("@zxcvbn-ts/language-common", async (importOriginal) => {
  loaded.push("@zxcvbn-ts/language-common");
  return importOriginal();
});
vi.mock("unhomoglyph", async (importOriginal) => {
  loaded.push("unhomoglyph");
  return importOriginal();
});

describe("lazy loading of password and username data", () => {
  it("importing the Lambda entry point and building the app loads neither; the first registration checks load both", async () => {
    const { createApp } = await import("../../functions/http/app.js");
    const { createIssuer } = await import("../../functions/issuer.js");
    const { loadConfig } = await import("../../functions/config.js");
    await import("../../functions/lambda.js");
    createApp(createIssuer(loadConfig({ LATCHKEY_ISSUER: "https://auth.example.com", LATCHKEY_TABLE: "tbl", LATCHKEY_KEY_BUCKET: "bkt" })));
    expect(loaded).toEqual([]);

    const { checkPassword } = await import("../../functions/users/password-policy.js");
    const { checkNewUsername, normalizeUsername } = await import("../../functions/users/usernames.js");
    await checkPassword("correct horse battery staple", "alice", { minLength: 15, maxLength: 256 });
    await checkNewUsername(normalizeUsername("alice"));
    expect([...loaded].sort()).toEqual(["@zxcvbn-ts/core", "@zxcvbn-ts/language-common", "unhomoglyph"]);
  });
});
