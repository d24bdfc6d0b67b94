/** The one constant-time comparison: exact equality, any lengths, no early exit over candidates. */
import { describe, expect, it } from "vitest";
import { constantTimeEqual, constantTimeIncludes } from "../../functions/security/constant-time.js";

describe("constantTimeEqual", () => {
  it("is true only for identical strings", () => {
    expect(constantTimeEqual("abc", "abc")).toBe(true);
    expect(constantTimeEqual("", "")).toBe(true);
    for (const other of ["abd", "ab", "abcd", "ABC", "", "abc\u0000"]) expect(constantTimeEqual("abc", other), other).toBe(false);
  });

  it("compares strings of different lengths without throwing (timingSafeEqual alone would)", () => {
    expect(() => constantTimeEqual("x".repeat(10_000), "y")).not.toThrow();
    expect(constantTimeEqual("é", "e\u0301")).toBe(false); // no normalisation: bytes decide
  });
});

describe("constantTimeIncludes", () => {
  it("finds the presented value among any number of candidates, wherever it is", () => {
    expect(constantTimeIncludes("b", ["a", "b", "c"])).toBe(true);
    expect(constantTimeIncludes("c", ["a", "b", "c"])).toBe(true);
    expect(constantTimeIncludes("a", ["a", "b", "c"])).toBe(true);
    expect(constantTimeIncludes("d", ["a", "b", "c"])).toBe(false);
    expect(constantTimeIncludes("a", [])).toBe(false);
  });
});

describe("the codebase", () => {
  it("compares secrets only through this helper (client secrets, refresh digests and tags use it)", async () => {
    const { readdir, readFile } = await import("node:fs/promises");
    const root = new URL("../../functions/", import.meta.url);
    const files = (await readdir(root, { recursive: true })).filter((f) => f.endsWith(".ts"));
    const users = [];
    for (const f of files) if ((await readFile(new URL(f, root), "utf8")).includes("timingSafeEqual")) users.push(f);
    expect(users).toEqual(["security/constant-time.ts"]);
    for (const f of ["clients/secrets.ts", "tokens/refresh-tokens.ts"]) {
      expect(await readFile(new URL(f, root), "utf8"), f).toMatch(/from "\.\.\/security\/constant-time\.js"/);
    }
  });
});
