/**
 * When is an access token revoked? Pure rules over the revocation state, so they can be tested
 * without storage (functions/revocations/revocations.ts reads the marks, this module decides).
 *
 * Four kinds of mark, each kept until every token it can concern has expired:
 * - a token id (`jti`), revoked at POST /revoke (RFC 7009 section 2.1);
 * - a session (`sid`): logout, refresh-token reuse (RFC 9700 section 4.14.2);
 * - a subject revoked before a time: disable, delete, password reset, "sign out everywhere",
 *   and a password change, which keeps the caller's own session (`exceptSid`);
 * - a client revoked before a time: the client was disabled.
 *
 * Times are whole seconds, like `iat` (RFC 7519 section 2, NumericDate). A mark "before R"
 * refuses every token with `iat <= R`: a token issued in the same second as the revocation
 * cannot be told apart from one issued just before it, so it is refused too. Issuers wait for
 * the next second before serving a subject that was revoked in the current one
 * (see `secondsToWait`), so a fresh login is never caught by the mark it followed.
 */

/** The claims of a verified access token that revocation looks at. */
export interface RevocableClaims {
  jti?: string | undefined;
  sid?: string | undefined;
  sub: string;
  client_id?: string | undefined;
  iat: number;
}

/** Every token of the subject (or client) issued at or before `before` is revoked, except `exceptSid`'s. */
export interface RevokedBefore {
  before: number;
  exceptSid?: string | undefined;
}

/** The marks that concern one token, as read from the revocation state. */
export interface RevocationMarks {
  jti?: boolean;
  sid?: boolean;
  subject?: RevokedBefore | undefined;
  client?: RevokedBefore | undefined;
}

export type RevocationReason = "token_revoked" | "session_revoked" | "subject_revoked" | "client_revoked";

/** Why the token is revoked, or undefined when nothing revokes it. */
export function revocationOf(claims: RevocableClaims, marks: RevocationMarks): RevocationReason | undefined {
  if (claims.jti !== undefined && marks.jti) return "token_revoked";
  if (claims.sid !== undefined && marks.sid) return "session_revoked";
  if (marks.subject && coveredBy(marks.subject, claims.iat, claims.sid)) return "subject_revoked";
  if (claims.client_id !== undefined && marks.client && coveredBy(marks.client, claims.iat, undefined)) return "client_revoked";
  return undefined;
}

/** True when something issued at `issuedAt` in session `sid` falls under the mark. */
export function coveredBy(mark: RevokedBefore, issuedAt: number, sid: string | undefined): boolean {
  if (issuedAt > mark.before) return false;
  return mark.exceptSid === undefined || sid === undefined || sid !== mark.exceptSid;
}

/**
 * Combines a new "revoked before" mark with the stored one: the later time wins, so a mark
 * never moves back (a slow writer cannot re-admit tokens). An exception survives only when the
 * new mark is for the same second and names the same session; a later mark without an
 * exception revokes that session too.
 */
export function laterMark(stored: RevokedBefore | undefined, next: RevokedBefore): RevokedBefore {
  if (!stored || next.before > stored.before) return next;
  if (next.before < stored.before) return stored;
  // Same second: revoke the union, so an exception stays only if both marks make it.
  return stored.exceptSid !== undefined && stored.exceptSid === next.exceptSid ? stored : { before: next.before };
}

/**
 * Seconds an issuer waits before issuing a token for a subject whose sessions were revoked at
 * `revokedAt` (whole seconds), so the new token's `iat` is later than the mark: 0 unless the
 * revocation happened in the current second.
 */
export function secondsToWait(revokedAt: number | undefined, nowMs: number): number {
  if (revokedAt === undefined) return 0;
  const nextSecondMs = (revokedAt + 1) * 1000;
  return nowMs >= nextSecondMs ? 0 : (nextSecondMs - nowMs) / 1000;
}
