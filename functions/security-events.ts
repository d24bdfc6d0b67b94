/**
 * Account and revocation events, one structured log line each (`"msg":"audit"`) with a stable
 * `event` name, the request id (or `via` for the CLI) and who it concerns; never a secret,
 * never a refresh-token family id. Written once the change is stored.
 *
 * @example
 *   securityEvent("user.disabled", { requestId, sub, via: "cli" });
 */
import { log } from "./log.js";

export const SECURITY_EVENTS = [
  "user.disabled",
  "user.enabled",
  "user.deleted",
  "user.password_changed",
  "user.password_reset_issued",
  "user.password_reset",
  "user.sessions_revoked",
  "token.revoked",
  "session.revoked",
] as const;

export type SecurityEvent = (typeof SECURITY_EVENTS)[number];

/** Where an event came from: an HTTP request (its id) or the admin CLI. */
export interface EventOrigin {
  requestId?: string | undefined;
  via?: "cli" | undefined;
}

export function securityEvent(event: SecurityEvent, origin: EventOrigin, fields: Record<string, string | number | boolean | undefined> = {}): void {
  log.info("audit", { event, ...origin, ...fields });
}
