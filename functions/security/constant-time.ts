/**
 * The one comparison for secrets, digests and MACs. Both sides are first reduced to an
 * HMAC-SHA-256 under a per-process random key, so `timingSafeEqual` always compares 32 bytes:
 * the time taken depends neither on where the values first differ nor on their lengths, and a
 * length mismatch is not an early exit (Node's `timingSafeEqual` throws on unequal lengths).
 *
 * @example
 *   constantTimeEqual(presentedDigest, storedDigest); // true only for identical strings
 *   digestIncluded(hmacBytes, storedBase64urlDigests); // MAC against MACs: compared as they are
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

const comparisonKey = randomBytes(32);

function reduce(value: string): Buffer {
  return createHmac("sha256", comparisonKey).update(value, "utf8").digest();
}

/** True when the two strings are identical, in time independent of their contents. */
export function constantTimeEqual(presented: string, expected: string): boolean {
  return timingSafeEqual(reduce(presented), reduce(expected));
}

/**
 * True when `presented` equals any of `expected`. Every candidate is compared (no early exit),
 * so the answer's timing does not reveal which one matched or how many there are to match.
 */
export function constantTimeIncludes(presented: string, expected: readonly string[]): boolean {
  const p = reduce(presented);
  let found = false;
  for (const e of expected) found = timingSafeEqual(p, reduce(e)) || found;
  return found;
}

/**
 * True when the MAC `digest` equals any of `expected`, the same MAC stored base64url-encoded
 * (client-secret digests). Both sides are already fixed-length MAC outputs, so they are compared
 * as they are, without the reduction above: one HMAC fewer per candidate and for the presented
 * side, on the token endpoint's path (issue 15). Every candidate is compared; a stored value
 * that is not a digest of the same length never matches (its length is no secret).
 */
export function digestIncluded(digest: Buffer, expected: readonly string[]): boolean {
  let found = false;
  for (const e of expected) {
    const candidate = Buffer.from(e, "base64url");
    found = (candidate.length === digest.length && timingSafeEqual(digest, candidate)) || found;
  }
  return found;
}

