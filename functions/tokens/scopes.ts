/** Scope and audience checks shared by every grant (RFC 6749 section 3.3, RFC 8707). */
import { InvalidRequest, InvalidScope, InvalidTarget } from "../errors.js";

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/; // RFC 6749 section 3.3 scope-token

/** Parses a space-delimited scope string; undefined or empty means "not requested". */
export function parseScope(scope: string | undefined): string[] | undefined {
  if (scope === undefined || scope.trim() === "") return undefined;
  const parts = scope.split(" ").filter(Boolean);
  for (const p of parts) if (!SCOPE_TOKEN.test(p)) throw new InvalidRequest(`scope contains an invalid token`);
  return [...new Set(parts)];
}

/** Requested scopes must all be allowed; none requested gives the defaults. */
export function grantScopes(requested: string[] | undefined, allowed: string[], defaults: string[]): string[] {
  if (!requested) return defaults;
  const refused = requested.filter((s) => !allowed.includes(s));
  if (refused.length) throw new InvalidScope(`scope not allowed: ${refused.join(" ")}`);
  return requested;
}

/** The audience must be on the allow-list; none requested gives the first allowed one. */
export function grantAudience(requested: string | undefined, allowed: string[]): string {
  if (requested === undefined || requested === "") {
    const first = allowed[0];
    if (!first) throw new InvalidTarget("no audience is configured for this caller");
    return first;
  }
  if (!allowed.includes(requested)) throw new InvalidTarget(`audience not allowed: ${requested}`);
  return requested;
}
