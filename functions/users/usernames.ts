/**
 * Usernames: Unicode NFKC, trimmed; uniqueness is case-insensitive (the key is the lower-cased
 * NFKC form), while the display form keeps the user's casing.
 */
import { InvalidUsername } from "../errors.js";

const ALLOWED = /^[\p{L}\p{M}\p{N}._@+-]+$/u;

export interface Username {
  display: string;
  key: string;
}

export function normalizeUsername(raw: string): Username {
  const display = raw.normalize("NFKC").trim();
  const length = [...display].length;
  if (length < 3 || length > 64) throw new InvalidUsername("username must be 3 to 64 characters long");
  if (!ALLOWED.test(display)) {
    throw new InvalidUsername("username may contain letters, digits and . _ @ + - only");
  }
  return { display, key: display.toLowerCase().normalize("NFKC") };
}
