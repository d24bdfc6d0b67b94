/**
 * The audit trail: security events as structured records with a stable `event` name.
 *
 * A record is one JSON line (`"msg":"audit"`) carrying the event, the request id, the route,
 * the caller's address and who it concerns (`sub`, `clientId`, `kid`, ...), never a secret.
 * Call `audit()` once, where the change it reports has been committed (after the conditional
 * write succeeded), so an occurrence is recorded exactly once however many requests race.
 *
 * When an EventBridge bus is configured (LATCHKEY_AUDIT_EVENT_BUS), each record is also put
 * on it (source `latchkey`, detail-type the event name). Delivery starts at once and is
 * awaited before the response goes out (the HTTP app and the Lambda entry call
 * `flushAuditTrail()`); a delivery failure is logged, never turned into an error for the caller.
 *
 * @example
 *   audit("client.disabled", { clientId });
 */
import { currentRequest, log, writeRecord, type RequestContext } from "../log.js";

/** Every event name, in one list. Names are a contract: dashboards and rules match on them. */
export const AUDIT_EVENTS = [
  "user.registered",
  "user.login_succeeded",
  "user.login_failed",
  "user.locked",
  "client.created",
  "client.disabled",
  "client.enabled",
  "client.secret_rotated",
  "key.rotated",
  "key.revoked",
  "refresh.reuse_detected",
  // Accounts (self-service and administration).
  "user.password_changed",
  "user.password_reset_issued",
  "user.password_reset",
  "user.deleted",
  "user.disabled",
  "user.enabled",
  "user.sessions_revoked",
  // Revocation (RFC 7009 at POST /revoke): one access token, or a session by its refresh token.
  "token.revoked",
  "session.revoked",
  // Browser sign-in (OIDC authorization code flow).
  "session.ended",
  "authorization_code.reuse_detected",
] as const;

export type AuditEvent = (typeof AUDIT_EVENTS)[number];

/**
 * What a record may say about the occurrence. Identifiers and outcomes only: a field named
 * like a credential, a digest or a refresh-token family is redacted at run time.
 */
export interface AuditFields {
  /** The person concerned (users' `sub`). */
  sub?: string | undefined;
  /** The machine client concerned. */
  clientId?: string | undefined;
  username?: string | undefined;
  /** A signing key's id. */
  kid?: string | undefined;
  /** Why (a bounded word, e.g. `unknown_user`, `wrong_password`, `scheduled`). */
  reason?: string | undefined;
  /** Where the change came from when it is not an HTTP request (`cli`, `rotation`, `deploy`). */
  via?: string | undefined;
  [field: string]: string | number | boolean | string[] | undefined;
}

const FORBIDDEN_FIELD = /pass(word)?|secret|token|assertion|authorization|private|pepper|family|digest|hash/i;

export interface AuditBus {
  /** Puts one record on the bus; rejects when it was not accepted. */
  put(event: AuditEvent, record: Record<string, unknown>): Promise<void>;
}

let bus: AuditBus | undefined;
/** Deliveries started outside any request (CLI, scheduled runs without a context). */
const unscoped = new Set<Promise<unknown>>();

/** Set once per process from config (functions/issuer.ts); undefined = log only. */
export function configureAuditBus(next: AuditBus | undefined): void {
  bus = next;
}

/**
 * Records a security event: one log line, and one bus entry when a bus is configured.
 * `context`: the request it happens in (functions/log.ts: explicit, else the sequential slot).
 */
export function audit(event: AuditEvent, fields: AuditFields = {}, context?: RequestContext): void {
  const ctx = currentRequest(context);
  const record: Record<string, unknown> = {
    level: "info",
    time: new Date().toISOString(),
    msg: "audit",
    event,
    ...(ctx ? { requestId: ctx.requestId, route: ctx.route } : {}),
    ...(ctx?.sourceIp ? { sourceIp: ctx.sourceIp } : {}),
    ...(ctx?.forwardedFor ? { forwardedFor: ctx.forwardedFor } : {}),
  };
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined || k in record) continue;
    record[k] = FORBIDDEN_FIELD.test(k) ? "[redacted]" : v;
  }
  writeRecord(record, { context: ctx });
  if (!bus) return;
  const delivery = bus.put(event, record).catch((err: unknown) => {
    log.error("audit event not delivered to the event bus", { event, error: (err as Error).name, detail: (err as Error).message }, ctx);
  });
  if (ctx) (ctx.pending ??= []).push(delivery);
  else {
    unscoped.add(delivery);
    void delivery.finally(() => unscoped.delete(delivery));
  }
}

/**
 * Waits for every bus delivery started by the current request (or, outside one, by the
 * process). With none started (every request when no bus is configured) it returns at once,
 * without a promise to wait on.
 */
export function flushAuditTrail(context?: RequestContext): Promise<unknown> | undefined {
  const ctx = currentRequest(context);
  const pending = ctx ? (ctx.pending ?? []).splice(0) : [...unscoped];
  return pending.length ? Promise.allSettled(pending) : undefined;
}
