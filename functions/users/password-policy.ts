/**
 * Password rules from NIST SP 800-63B rev. 4 section 3.1.1.2 for passwords used as the only
 * factor: at least 15 characters (configurable), at least 64 allowed and never truncated, no
 * composition rules, and a check against a blocklist of common, breached, repetitive,
 * sequential and context-specific values (the username, the service name). Every refusal
 * says which rule was broken.
 *
 * Length is counted in Unicode code points of the password as submitted, before NFKC (the
 * hash input): one U+FDFA expands to 18 characters under NFKC, and counting after it would let a
 * 1-character password pass. The strength estimate (zxcvbn-ts, with its common-password,
 * name and keyboard data) is required on first use, not imported: only password routes need it,
 * and loading the list decompresses it, which every cold start would otherwise pay. The router
 * bundle leaves these modules external (infra/build.ts) and the image installs them beside it.
 */
import { createRequire } from "node:module";
import { InvalidPassword } from "../errors.js";

export const SERVICE_NAME = "latchkey";

/** zxcvbn score (0-4) a password needs: 3 means about 10^8 guesses or more. */
const MIN_STRENGTH_SCORE = 3;

/** Characters that do not show: format, control, unassigned/private-use, default-ignorable, marks, separators. */
const INVISIBLE = /[\p{Cf}\p{Cc}\p{Cn}\p{Co}\p{Default_Ignorable_Code_Point}\p{M}\p{Z}]/u;

/** Unicode code points, as NIST counts characters. */
export function passwordLength(password: string): number {
  return [...password].length;
}

export interface PasswordRules {
  minLength: number;
  maxLength: number;
}

/** Throws InvalidPassword naming the rule the password breaks. */
export async function checkPassword(password: string, username: string, rules: PasswordRules): Promise<void> {
  const chars = [...password];
  if (chars.length < rules.minLength) {
    throw new InvalidPassword(`password must be at least ${rules.minLength} characters long`);
  }
  if (chars.length > rules.maxLength) {
    throw new InvalidPassword(`password must be at most ${rules.maxLength} characters long`);
  }
  const invisible = chars.filter((c) => INVISIBLE.test(c)).length;
  if (invisible * 2 > chars.length) {
    throw new InvalidPassword("password must be mostly visible characters, not spaces, marks or invisible formatting");
  }
  const normalized = password.normalize("NFKC");
  const lower = normalized.toLowerCase();
  const { commonPasswords, estimate } = strength();
  // Common passwords, also with trailing digits/symbols appended ("password123!").
  const stem = lower.replace(/[\d\W_]+$/u, "");
  if (commonPasswords.has(lower) || (stem.length >= 4 && commonPasswords.has(stem))) {
    throw new InvalidPassword("password is on the list of common or breached passwords");
  }
  if (isRepetitive(lower)) {
    throw new InvalidPassword("password is a short pattern repeated");
  }
  if (isSequential(lower)) {
    throw new InvalidPassword("password is a sequence of consecutive characters");
  }
  const user = username.normalize("NFKC").toLowerCase();
  if (user.length >= 3 && lower.includes(user)) {
    throw new InvalidPassword("password must not contain the username");
  }
  if (lower.includes(SERVICE_NAME)) {
    throw new InvalidPassword(`password must not contain the service name "${SERVICE_NAME}"`);
  }
  const weakness = estimate(normalized, [username, SERVICE_NAME]);
  if (weakness) throw new InvalidPassword(`password is too easy to guess: ${weakness}`);
}

interface Strength {
  commonPasswords: Set<string>;
  /** Why the password is guessable, or undefined when it scores high enough. */
  estimate(password: string, context: string[]): string | undefined;
}

let loaded: Strength | undefined;

/** Loads zxcvbn-ts and its dictionaries once, on the first password that needs checking. */
function strength(): Strength {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const core = require("@zxcvbn-ts/core") as typeof import("@zxcvbn-ts/core");
  const common = require("@zxcvbn-ts/language-common") as typeof import("@zxcvbn-ts/language-common");
  const factory = new core.ZxcvbnFactory({ dictionary: { ...common.dictionary }, graphs: common.adjacencyGraphs });
  loaded = {
    commonPasswords: new Set((common.dictionary["passwords-common"] as string[]).map((p) => p.toLowerCase())),
    estimate(password, context) {
      const result = factory.check(password, context);
      if (result.score >= MIN_STRENGTH_SCORE) return undefined;
      return describeWeakness(result.sequence.map((m) => m.pattern), result.feedback.warning);
    },
  };
  return loaded;
}

/** A plain-words reason from zxcvbn's matches (its warnings are translation keys without a language pack). */
function describeWeakness(patterns: string[], warning: string | null): string {
  if (warning === "extendedRepeat" || warning === "simpleRepeat" || patterns.includes("repeat")) {
    return "it repeats a word or pattern";
  }
  if (warning === "straightRow" || warning === "keyPattern" || patterns.includes("spatial")) return "it is a keyboard pattern";
  if (warning === "sequences" || patterns.includes("sequence")) return "it is built from character sequences";
  if (warning === "dates" || warning === "recentYears" || patterns.includes("date")) return "it is built from dates or years";
  return "it is made of common passwords, words or keyboard runs";
}

/** True when the whole password is a pattern of at most 4 characters repeated ("abcabcabc..."). */
function isRepetitive(s: string): boolean {
  const chars = [...s];
  for (let period = 1; period <= 4; period++) {
    if (chars.length < period * 3) break;
    if (chars.every((c, i) => c === chars[i % period])) return true;
  }
  return false;
}

/** True for runs like "abcdefghijklmnop", "123456789012345" or "zyxwvutsrqponml". */
function isSequential(s: string): boolean {
  const codes = [...s].map((c) => c.codePointAt(0)!);
  const step = (a: number, b: number) => {
    if (a >= 48 && a <= 57 && b >= 48 && b <= 57) return (b - a + 10) % 10 === 1 ? 1 : (a - b + 10) % 10 === 1 ? -1 : 0;
    return b - a === 1 ? 1 : a - b === 1 ? -1 : 0;
  };
  const first = step(codes[0]!, codes[1]!);
  if (first === 0) return false;
  for (let i = 1; i < codes.length - 1; i++) if (step(codes[i]!, codes[i + 1]!) !== first) return false;
  return true;
}
