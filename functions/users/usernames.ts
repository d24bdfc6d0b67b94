/**
 * Usernames: the PRECIS UsernameCaseMapped profile (RFC 8265 section 3.3), with a narrower set
 * of ASCII punctuation (RFC 8265 section 3.1 lets applications restrict further).
 *
 * Enforcement (RFC 8265 section 3.3.2, applied in this order): width mapping (fullwidth and
 * halfwidth forms to their decompositions), case mapping (Unicode toLowerCase), NFC, and the
 * Bidi Rule (RFC 5893) for names with right-to-left characters. Every code point must then be
 * PVALID in the IdentifierClass (RFC 8264 section 4.2), or CONTEXTO with its context rule met
 * (RFC 5892 appendix A). The derived property (RFC 8264 section 8) is computed from the Unicode
 * properties JavaScript's regular expressions expose, so no table ships with the code.
 *
 * On top of the profile: at least one letter or digit (no name made only of marks), no leading
 * combining mark, 3 to 64 code points; and for new names (checkNewUsername) a reserved list
 * (administrative names, the service name, the prefixes of Latchkey's own credentials).
 *
 * The display form keeps the user's casing (width-mapped, NFC); the key is the case-mapped
 * form and is what uniqueness and login use.
 */
import { InvalidUsername } from "../errors.js";
import { SERVICE_NAME } from "./password-policy.js";
import { skeleton } from "./confusables.js";

/** ASCII characters allowed besides letters and digits. */
const ASCII_PUNCTUATION = new Set([".", "_", "@", "+", "-"]);
const RESERVED_NAMES = new Set(["admin", "administrator", "root", SERVICE_NAME]);
/** Client ids, client secrets and refresh tokens start with these: a username must not look like one. */
const RESERVED_PREFIXES = ["lkc_", "lks_", "lkr_"];

export interface Username {
  display: string;
  key: string;
}

export function normalizeUsername(raw: string): Username {
  // Surrounding spaces are a typing accident, not part of the name (they are not PVALID anyway).
  const display = widthMap(raw.trim()).normalize("NFC");
  const key = display.toLowerCase().normalize("NFC");
  const chars = [...key];
  if (chars.length < 3 || chars.length > 64) throw new InvalidUsername("username must be 3 to 64 characters long");
  for (let i = 0; i < chars.length; i++) {
    const problem = identifierClassProblem(chars, i);
    if (problem) throw new InvalidUsername(problem);
  }
  if (/^\p{M}/u.test(key)) throw new InvalidUsername("username must not start with a combining mark");
  if (!/[\p{L}\p{N}]/u.test(key)) throw new InvalidUsername("username must contain a letter or a digit");
  const bidi = bidiRuleProblem(chars);
  if (bidi) throw new InvalidUsername(bidi);
  return { display, key };
}

/**
 * Registration-only rules, so accounts made before them can still log in: the reserved names
 * and prefixes, also as lookalikes (`\u0430dmin` with a Cyrillic a). Returns the name's UTS #39
 * skeleton: equal skeletons mean names a reader cannot tell apart (`b\u043Eb.smith` with a
 * Cyrillic o, `bob.srnith`), so uniqueness is enforced on it.
 */
export async function checkNewUsername(username: Username): Promise<string> {
  const { key } = username;
  if (RESERVED_NAMES.has(key) || RESERVED_PREFIXES.some((p) => key.startsWith(p))) {
    throw new InvalidUsername("that username is reserved");
  }
  const own = await skeleton(key);
  const reserved = await reservedSkeletons();
  if (reserved.names.has(own) || reserved.prefixes.some((p) => own.startsWith(p))) {
    throw new InvalidUsername("that username is reserved");
  }
  return own;
}

let reservedCache: Promise<{ names: Set<string>; prefixes: string[] }> | undefined;
function reservedSkeletons() {
  reservedCache ??= Promise.all([
    Promise.all([...RESERVED_NAMES].map(skeleton)),
    Promise.all(RESERVED_PREFIXES.map(skeleton)),
  ]).then(([names, prefixes]) => ({ names: new Set(names), prefixes }));
  return reservedCache;
}

/** RFC 8264 section 9.11 Width Mapping Rule: fullwidth and halfwidth forms to their decompositions. */
function widthMap(s: string): string {
  return s.replace(/[\uFF01-\uFFEE]/gu, (c) => c.normalize("NFKC"));
}

/**
 * Why the code point at `i` is not allowed, or undefined when it is PVALID (or a CONTEXTO
 * whose rule holds). Follows the order of RFC 8264 section 8.
 */
function identifierClassProblem(chars: string[], i: number): string | undefined {
  const c = chars[i]!;
  const cp = c.codePointAt(0)!;
  const shown = `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
  const refused = (why: string) => `username may not contain ${shown} (${why})`;
  const exception = EXCEPTIONS.get(cp);
  if (exception === "PVALID") return undefined;
  if (exception === "DISALLOWED") return refused("disallowed by RFC 5892 section 2.6");
  if (exception === "CONTEXTO") return contextRuleHolds(chars, i) ? undefined : refused("not allowed in this position");
  if (/\p{Cn}/u.test(c) && !/\p{Noncharacter_Code_Point}/u.test(c)) return refused("unassigned");
  if (cp >= 0x21 && cp <= 0x7e) {
    return /[A-Za-z0-9]/.test(c) || ASCII_PUNCTUATION.has(c) ? undefined : refused("letters, digits and . _ @ + - only");
  }
  if (/\p{Join_Control}/u.test(c)) return refused("invisible joiner");
  if (isOldHangulJamo(cp)) return refused("old Hangul jamo");
  if (/[\p{Default_Ignorable_Code_Point}\p{Noncharacter_Code_Point}]/u.test(c)) return refused("invisible or ignorable");
  if (/\p{Cc}/u.test(c)) return refused("control character");
  if (c.normalize("NFKC") !== c) return refused("compatibility form; type the plain character");
  if (/[\p{Ll}\p{Lu}\p{Lo}\p{Nd}\p{Lm}\p{Mn}\p{Mc}]/u.test(c)) return undefined;
  if (/\p{Zs}/u.test(c)) return refused("space");
  return refused("letters, digits and . _ @ + - only");
}

/** RFC 5892 section 2.6 Exceptions (F). */
const EXCEPTIONS = new Map<number, "PVALID" | "CONTEXTO" | "DISALLOWED">([
  ...[0x00df, 0x03c2, 0x06fd, 0x06fe, 0x0f0b, 0x3007].map((cp) => [cp, "PVALID"] as const),
  ...[0x00b7, 0x0375, 0x05f3, 0x05f4, 0x30fb].map((cp) => [cp, "CONTEXTO"] as const),
  ...range(0x0660, 0x0669).map((cp) => [cp, "CONTEXTO"] as const),
  ...range(0x06f0, 0x06f9).map((cp) => [cp, "CONTEXTO"] as const),
  ...[0x0640, 0x07fa, 0x302e, 0x302f, 0x303b, ...range(0x3031, 0x3035)].map((cp) => [cp, "DISALLOWED"] as const),
]);

/** RFC 5892 appendix A, rules A.3 to A.9. */
function contextRuleHolds(chars: string[], i: number): boolean {
  const cp = chars[i]!.codePointAt(0)!;
  const before = chars[i - 1];
  const after = chars[i + 1];
  const all = chars.join("");
  if (cp === 0x00b7) return before === "l" && after === "l"; // MIDDLE DOT, Catalan l·l
  if (cp === 0x0375) return after !== undefined && /\p{Script=Greek}/u.test(after); // GREEK KERAIA
  if (cp === 0x05f3 || cp === 0x05f4) return before !== undefined && /\p{Script=Hebrew}/u.test(before); // GERESH, GERSHAYIM
  if (cp === 0x30fb) return /[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}]/u.test(all.replace("\u30fb", "")); // KATAKANA MIDDLE DOT
  if (cp >= 0x0660 && cp <= 0x0669) return !/[\u06F0-\u06F9]/u.test(all); // ARABIC-INDIC DIGITS
  if (cp >= 0x06f0 && cp <= 0x06f9) return !/[\u0660-\u0669]/u.test(all); // EXTENDED ARABIC-INDIC DIGITS
  return false;
}

/** Hangul_Syllable_Type L, V or T (conjoining jamo): RFC 8264 section 9.5 OldHangulJamo. */
function isOldHangulJamo(cp: number): boolean {
  return (cp >= 0x1100 && cp <= 0x11ff) || (cp >= 0xa960 && cp <= 0xa97c) || (cp >= 0xd7b0 && cp <= 0xd7fb);
}

const RTL_SCRIPTS =
  /[\p{Script=Hebrew}\p{Script=Arabic}\p{Script=Syriac}\p{Script=Thaana}\p{Script=Nko}\p{Script=Samaritan}\p{Script=Mandaic}\p{Script=Adlam}\p{Script=Hanifi_Rohingya}\p{Script=Yezidi}]/u;
/** Bidi_Class AN among characters this profile allows (Arabic-Indic digits, Hanifi Rohingya digits). */
const ARABIC_NUMBER = /[\u0660-\u0669\u{10D30}-\u{10D39}]/u;
/** Bidi_Class EN among characters this profile allows. */
const EUROPEAN_NUMBER = /[0-9\u06F0-\u06F9]/u;

type Bidi = "L" | "R" | "AN" | "EN" | "NSM" | "ES" | "CS" | "ON";

/**
 * Bidi_Class of a PVALID code point. JavaScript exposes no Bidi_Class property, so it is derived
 * from Script and General_Category; for letters, digits and marks this profile allows that
 * derivation matches the Unicode data (R or AL for letters of right-to-left scripts, NSM for
 * nonspacing marks, AN/EN for the digit sets above, L otherwise).
 */
function bidiClass(c: string): Bidi {
  if (c === "+" || c === "-") return "ES";
  if (c === ".") return "CS";
  if (c === "_" || c === "@") return "ON";
  if (ARABIC_NUMBER.test(c)) return "AN";
  if (EUROPEAN_NUMBER.test(c)) return "EN";
  if (/[\p{Mn}\p{Me}]/u.test(c)) return "NSM";
  if (RTL_SCRIPTS.test(c)) return "R";
  return "L";
}

/** RFC 5893 section 2, for names that contain a right-to-left character (RFC 8265 section 3.3.2 step 5). */
function bidiRuleProblem(chars: string[]): string | undefined {
  const classes = chars.map(bidiClass);
  if (!classes.some((b) => b === "R" || b === "AN")) return undefined;
  const refused = "username mixes right-to-left and left-to-right text in a way that displays ambiguously (RFC 5893)";
  if (classes[0] !== "R") return refused; // rule 1
  if (classes.includes("L")) return refused; // rule 2
  const last = [...classes].reverse().find((b) => b !== "NSM");
  if (last !== "R" && last !== "EN" && last !== "AN") return refused; // rule 3
  if (classes.includes("EN") && classes.includes("AN")) return refused; // rule 4
  return undefined;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
