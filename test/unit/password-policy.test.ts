/** NIST SP 800-63B rev. 4 password rules and username normalisation. */
import { describe, expect, it } from "vitest";
import { checkPassword } from "../../functions/users/password-policy.js";
import { normalizeUsername } from "../../functions/users/usernames.js";

const rules = { minLength: 15, maxLength: 256 };

describe("checkPassword", () => {
  it("accepts long passphrases with no composition rules", () => {
    expect(() => checkPassword("correct horse battery staple", "alice", rules)).not.toThrow();
    expect(() => checkPassword("alllowercaseletterswithoutdigits", "alice", rules)).not.toThrow();
  });

  it("counts Unicode code points, not UTF-16 units or bytes", () => {
    const emoji = "🔑".repeat(7) + "ab€de🌍fgh"; // 16 code points, more UTF-16 units
    expect(() => checkPassword(emoji, "alice", rules)).not.toThrow();
    expect(() => checkPassword("🔑".repeat(14), "alice", rules)).toThrow(/at least 15/);
  });

  it("enforces configured lengths", () => {
    expect(() => checkPassword("x".repeat(5) + "abcdefghi", "alice", rules)).toThrow(/at least 15/);
    expect(() => checkPassword("a b c d e f g h ".repeat(20), "alice", rules)).toThrow(/at most 256/);
    expect(() => checkPassword("short but okay!", "alice", { minLength: 8, maxLength: 64 })).not.toThrow();
  });

  it.each([
    ["qwerty123456789", /common or breached/],
    ["PasswordPassword", /common or breached/],
    ["passwordpassword!!2024", /common or breached/],
    ["zzzzzzzzzzzzzzzz", /repeated/],
    ["abababababababab", /repeated/],
    ["9876543210987654", /consecutive/],
    ["mnopqrstuvwxyz{|", /consecutive/],
  ])("rejects %s", (password, reason) => {
    expect(() => checkPassword(password, "someone", rules)).toThrow(reason);
  });

  it("rejects passwords containing the username or the service name, case-insensitively", () => {
    expect(() => checkPassword("xx-MARGARET-and-more-words", "margaret", rules)).toThrow(/username/);
    expect(() => checkPassword("i love using LatchKey daily", "bob", rules)).toThrow(/service name/);
  });
});

describe("normalizeUsername", () => {
  it("folds case and compatibility forms into one key but keeps the display form", () => {
    const a = normalizeUsername("Alice");
    const b = normalizeUsername("ＡＬＩＣＥ"); // fullwidth
    expect(a.key).toBe("alice");
    expect(b.key).toBe("alice");
    expect(a.display).toBe("Alice");
  });

  it("trims and accepts letters in any script", () => {
    expect(normalizeUsername("  renée.o'k ".replace("'", "")).key).toBe("renée.ok");
    expect(normalizeUsername("ユーザー").key).toBe("ユーザー");
  });

  it.each(["ab", "a".repeat(65), "with space", "semi;colon", "tab\tname", "null\u0000byte"])("rejects %j", (name) => {
    expect(() => normalizeUsername(name)).toThrow();
  });
});
