/** The one constant-time comparison: exact equality, any lengths, no early exit over candidates. */
import { describe, expect, it } from "vitest";
import { createHmac } from "node:crypto";
import { constantTimeEqual, constantTimeIncludes, digestIncluded } from "../../functions/security/constant-time.js";

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

describe("digestIncluded", () => {
  const mac = (s: string) => createHmac("sha256", "pepper").update(s).digest();
  const stored = ["one", "two", "three"].map((s) => mac(s).toString("base64url"));

  it("finds a MAC among stored base64url MACs, wherever it is, and only an identical one", () => {
    for (const s of ["one", "two", "three"]) expect(digestIncluded(mac(s), stored), s).toBe(true);
    expect(digestIncluded(mac("four"), stored)).toBe(false);
    expect(digestIncluded(mac("one"), [])).toBe(false);
    const flipped = Buffer.from(mac("two"));
    flipped[31]! ^= 1;
    expect(digestIncluded(flipped, stored)).toBe(false);
  });

  it("a stored value of another length never matches, and does not throw (timingSafeEqual alone would)", () => {
    const short = mac("one").subarray(0, 16);
    expect(() => digestIncluded(mac("one"), [short.toString("base64url"), "", "not base64url at all!"])).not.toThrow();
    expect(digestIncluded(short, stored)).toBe(false);
    expect(digestIncluded(mac("one"), ["", ...stored])).toBe(true);
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
