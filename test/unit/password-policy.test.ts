/** NIST SP 800-63B rev. 4 password rules and username normalisation. */
import { describe, expect, it } from "vitest";
import { checkPassword } from "../../functions/users/password-policy.js";
import { normalizeUsername } from "../../functions/users/usernames.js";

const rules = { minLength: 15, maxLength: 256 };

const ok = (password: string, username = "alice", r = rules) => expect(checkPassword(password, username, r)).resolves.toBeUndefined();
const refused = (password: string, reason: RegExp, username = "alice", r = rules) =>
  expect(checkPassword(password, username, r)).rejects.toThrow(reason);

describe("checkPassword", () => {
  it("accepts long passphrases with no composition rules", async () => {
    await ok("correct horse battery staple");
    await ok("alllowercaseletterswithoutdigits");
  });

  it("counts Unicode code points, not UTF-16 units or bytes", async () => {
    const emoji = "🔑".repeat(7) + "ab€de🌍fgh"; // 16 code points, more UTF-16 units
    await ok(emoji);
    await refused("🔑".repeat(14), /at least 15/);
  });

  it("counts the password as submitted, before NFKC: one U+FDFA is one character, not 18", async () => {
    expect("\uFDFA".normalize("NFKC")).toHaveLength(18);
    await refused("\uFDFA", /at least 15/);
    await refused("\uFDFA".repeat(3) + "abc", /at least 15/);
    await refused("\uFDFA".repeat(20), /at most 16/, "alice", { minLength: 15, maxLength: 16 }); // not 360
  });

  it("enforces configured lengths", async () => {
    await refused("x".repeat(5) + "abcdefghi", /at least 15/);
    await refused("a b c d e f g h ".repeat(20), /at most 256/);
    await ok("short but okay!", "alice", { minLength: 8, maxLength: 64 });
  });

  it.each([
    ["qwerty123456789", /common or breached/],
    ["PasswordPassword", /common or breached/],
    ["passwordpassword!!2024", /common or breached/],
    ["zzzzzzzzzzzzzzzz", /repeated/],
    ["abababababababab", /repeated/],
    ["9876543210987654", /consecutive/],
    ["mnopqrstuvwxyz{|", /consecutive/],
  ])("rejects %s", async (password, reason) => {
    await refused(password, reason, "someone");
  });

  it.each([
    ["iloveyouiloveyou", /too easy to guess: it repeats a word or pattern/],
    ["qwertyuiopasdfgh", /too easy to guess: it is made of common passwords, words or keyboard runs/],
    ["abcdeabcdeabcde", /too easy to guess: it repeats a word or pattern/],
    ["12345678password", /too easy to guess: it is made of common passwords, words or keyboard runs/],
    ["zxcvbnmasdfghjk", /too easy to guess/],
  ])("the strength estimate refuses %s", async (password, reason) => {
    await refused(password, reason, "someone");
  });

  it("rejects passwords containing the username or the service name, case-insensitively", async () => {
    await refused("xx-MARGARET-and-more-words", /username/, "margaret");
    await refused("i love using LatchKey daily", /service name/, "bob");
  });

  it("rejects passwords made mostly of invisible or formatting characters", async () => {
    const zwsp = "\u200B";
    await refused("ab" + zwsp.repeat(14), /mostly visible/); // 16 code points, 2 of them visible
    await refused("a\u0301".repeat(4) + "\u200D".repeat(8), /mostly visible/); // marks and joiners
    await refused("\uFE0F".repeat(10) + "horse", /mostly visible/); // variation selectors
    await ok("tea\u200Bpot and biscuits today"); // one invisible among many visible
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
