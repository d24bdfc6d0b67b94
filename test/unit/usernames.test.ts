/** Usernames: PRECIS UsernameCaseMapped (RFC 8265), invisible characters, reserved names, confusable skeletons. */
import { describe, expect, it } from "vitest";
import { normalizeUsername, checkNewUsername } from "../../functions/users/usernames.js";
import { skeleton } from "../../functions/users/confusables.js";
import { InvalidUsername } from "../../functions/errors.js";

describe("PRECIS UsernameCaseMapped", () => {
  it("maps width and case, then NFC; the display form keeps the user's casing", () => {
    expect(normalizeUsername("ＡＬＩＣＥ")).toEqual({ display: "ALICE", key: "alice" }); // fullwidth
    expect(normalizeUsername("Ren\u0065\u0301e")).toEqual({ display: "Ren\u00e9e", key: "ren\u00e9e" }); // NFC
    expect(normalizeUsername("ΣΟΦΊΑ").key).toBe("σοφία");
  });

  it.each([
    ["\ufb01nance", /compatibility form/], // the "fi" ligature: HasCompat, refused rather than mapped
    ["bob\u00b2", /compatibility form/], // superscript two
    ["hello\u2160", /compatibility form/], // Roman numeral one
    ["smile\u263a", /only/], // a symbol
    ["dash\u2014ok", /only/], // non-ASCII punctuation
    ["caf\u00e9\u0000", /control/],
  ])("refuses %j outside the IdentifierClass", (name, reason) => {
    expect(() => normalizeUsername(name)).toThrow(reason);
  });

  it.each([
    ["U+034F combining grapheme joiner", "bob\u034fsmith"],
    ["U+FE0F variation selector", "bob\ufe0fsmith"],
    ["U+E0100 variation selector supplement", "bob\u{e0100}smith"],
    ["U+180B Mongolian free variation selector", "bob\u180bsmith"],
    ["U+200B zero width space", "bob\u200bsmith"],
    ["U+200D zero width joiner", "bob\u200dsmith"],
    ["U+00AD soft hyphen", "bob\u00adsmith"],
    ["U+2060 word joiner", "bob\u2060smith"],
  ])("refuses the default-ignorable %s", (_label, name) => {
    expect(() => normalizeUsername(name)).toThrow(InvalidUsername);
  });

  it("refuses names made only of combining marks or starting with one", () => {
    expect(() => normalizeUsername("\u0301\u0301\u0301")).toThrow(/combining mark|letter or a digit/);
    expect(() => normalizeUsername("\u0301bob")).toThrow(/combining mark/);
    expect(() => normalizeUsername("._-")).toThrow(/letter or a digit/);
  });

  it("applies the contextual rules of RFC 5892 appendix A", () => {
    expect(normalizeUsername("col\u00b7lega").key).toBe("col\u00b7lega"); // Catalan l·l
    expect(() => normalizeUsername("ab\u00b7cd")).toThrow(/not allowed in this position/);
    expect(() => normalizeUsername("\u0627\u0661\u06f3")).toThrow(/not allowed in this position/); // Arabic-Indic and extended digits mixed
  });

  it("applies the Bidi Rule to right-to-left names", () => {
    expect(normalizeUsername("\u05e9\u05dc\u05d5\u05dd").key).toBe("\u05e9\u05dc\u05d5\u05dd"); // Hebrew
    expect(normalizeUsername("\u05e9\u05dc\u05d5\u05dd1").key).toBe("\u05e9\u05dc\u05d5\u05dd1"); // ends with EN
    expect(() => normalizeUsername("abc\u05e9\u05dc\u05d5\u05dd")).toThrow(/RFC 5893/); // starts LTR
    expect(() => normalizeUsername("\u05e9\u05dc\u05d5\u05ddabc")).toThrow(/RFC 5893/); // L inside an RTL name
    expect(() => normalizeUsername("\u05e9\u05dc\u05d5\u05dd.")).toThrow(/RFC 5893/); // ends with CS
  });

  it.each(["admin", "Admin", "ROOT", "administrator", "latchkey", "LatchKey", "lkc_abcdef", "LKS_x1y2", "lkr_token"])(
    "refuses the reserved name %s for new accounts (existing ones still log in)",
    async (name) => {
      await expect(checkNewUsername(normalizeUsername(name))).rejects.toThrow(/reserved/);
    },
  );
});

describe("confusable skeletons (UTS #39)", () => {
  it("gives lookalikes the same skeleton", async () => {
    expect(await skeleton("b\u043eb.smith")).toBe(await skeleton("bob.smith")); // Cyrillic o
    expect(await skeleton("bob.srnith")).toBe(await skeleton("bob.smith")); // rn / m
    expect(await skeleton("paypa1")).toBe(await skeleton("paypal"));
    expect(await skeleton("bob.smith")).not.toBe(await skeleton("bob.smyth"));
  });

  it("refuses lookalikes of reserved names", async () => {
    await expect(checkNewUsername(normalizeUsername("\u0430dmin"))).rejects.toThrow(/reserved/); // Cyrillic a
    await expect(checkNewUsername(normalizeUsername("r\u043e\u043et"))).rejects.toThrow(/reserved/);
    await expect(checkNewUsername(normalizeUsername("1kc_abc"))).rejects.toThrow(/reserved/); // digit one for l
    await expect(checkNewUsername(normalizeUsername("bob.smith"))).resolves.toBeTypeOf("string");
  });
});
