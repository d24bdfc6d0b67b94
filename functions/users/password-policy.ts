/**
 * Password rules from NIST SP 800-63B rev. 4 section 3.1.1.2 for passwords used as the only
 * factor: at least 15 characters (configurable), at least 64 allowed and never truncated, no
 * composition rules, and a check against a blocklist of common, breached, repetitive,
 * sequential and context-specific values. Every refusal says which rule was broken.
 */
import { createRequire } from "node:module";
import { InvalidPassword } from "../errors.js";

export const SERVICE_NAME = "latchkey";

/**
 * Required on first use, not imported: only password routes need the list, and loading it
 * decompresses it, which every cold start would otherwise pay. The router bundle leaves this
 * module external (infra/build.ts) and the image installs it beside the bundle.
 */
let blocklist: Set<string> | undefined;
function commonPasswords(): Set<string> {
  if (!blocklist) {
    const { dictionary } = createRequire(import.meta.url)("@zxcvbn-ts/language-common") as typeof import("@zxcvbn-ts/language-common");
    blocklist = new Set((dictionary["passwords-common"] as string[]).map((p) => p.toLowerCase()));
  }
  return blocklist;
}

/** Unicode code points, as NIST counts characters. */
export function passwordLength(password: string): number {
  return [...password].length;
}

export interface PasswordRules {
  minLength: number;
  maxLength: number;
}

/** Throws InvalidPassword naming the rule the password breaks. */
export function checkPassword(password: string, username: string, rules: PasswordRules): void {
  const normalized = password.normalize("NFKC");
  const length = passwordLength(normalized);
  if (length < rules.minLength) {
    throw new InvalidPassword(`password must be at least ${rules.minLength} characters long`);
  }
  if (length > rules.maxLength) {
    throw new InvalidPassword(`password must be at most ${rules.maxLength} characters long`);
  }
  const lower = normalized.toLowerCase();
  const list = commonPasswords();
  // Common passwords, also with trailing digits/symbols appended ("password123!").
  const stem = lower.replace(/[\d\W_]+$/u, "");
  if (list.has(lower) || (stem.length >= 4 && list.has(stem))) {
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
