/**
 * UTS #39 section 4 confusable detection: two strings are confusable when their skeletons are
 * equal. skeleton(X) = NFD(map every code point of NFD(X) to its prototype in confusables.txt).
 *
 * The prototype mapping is the unhomoglyph package's copy of the Unicode confusables.txt data
 * (version 13.0.0). It is required on the first registration, not imported: the router bundle
 * leaves it external (infra/build.ts), so a cold start that serves tokens never parses it.
 */
import { createRequire } from "node:module";

let toPrototypes: ((s: string) => string) | undefined;

export function skeleton(s: string): string {
  toPrototypes ??= createRequire(import.meta.url)("unhomoglyph") as (s: string) => string;
  return toPrototypes(s.normalize("NFD")).normalize("NFD");
}
