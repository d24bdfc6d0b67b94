/**
 * argon2 (a native module) loaded on first use: only the password routes hash, so a cold
 * start that serves tokens never loads it. Same calls as the package's default export;
 * password-hashing.ts uses it.
 *
 * @example
 *   const hash = await argon2.hash("correct horse battery staple", ARGON2_OPTIONS);
 *   await argon2.verify(hash, "correct horse battery staple"); // true
 */
import { createRequire } from "node:module";
import type * as Argon2 from "argon2";

let loaded: typeof Argon2 | undefined;
const load = (): typeof Argon2 => (loaded ??= createRequire(import.meta.url)("argon2") as typeof Argon2);

const argon2 = {
  /** The package's `argon2id` constant (checked against it by test/unit/lazy-modules.test.ts). */
  argon2id: 2 as typeof Argon2.argon2id,
  hash: (...args: Parameters<typeof Argon2.hash>): ReturnType<typeof Argon2.hash> => load().hash(...args),
  verify: (...args: Parameters<typeof Argon2.verify>): ReturnType<typeof Argon2.verify> => load().verify(...args),
};
export default argon2;
