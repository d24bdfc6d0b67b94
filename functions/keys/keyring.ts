/**
 * The keyring: which RSA keys exist and what each may do. Pure state transitions, no I/O.
 *
 * Lifecycle: next -> current -> previous -> retired (or revoked at any point).
 * - `next` is published in the JWKS before it signs, so verifiers (API Gateway JWT authorizers
 *   cache a JWKS for up to two hours, CloudFront caches it too) learn it in advance.
 * - `current` signs every new token.
 * - `previous` stays published until every token it signed has expired, plus the same margin.
 * - `retired` and `revoked` keys are never published again.
 */
import type { JWK } from "jose";
import { RotationRefused } from "../errors.js";

export type KeyStatus = "next" | "current" | "previous" | "retired" | "revoked";

export interface KeyEntry {
  kid: string;
  status: KeyStatus;
  /** Epoch seconds. */
  createdAt: number;
  /** When it became current (started signing). */
  activatedAt?: number;
  /** When it stopped signing (became previous, or was revoked while signing). */
  deactivatedAt?: number;
  retiredAt?: number;
  revokedAt?: number;
  /** S3 object key of the PKCS#8 private key. */
  objectKey: string;
  publicJwk: JWK;
}

export interface KeyringState {
  /** Incremented by every write; the conditional-write guard. 0 means "does not exist yet". */
  version: number;
  keys: KeyEntry[];
  updatedAt: number;
}

export interface RotationRules {
  /** How long verifiers may cache a JWKS: authorizer cache plus edge cache lifetime. */
  publishAheadSeconds: number;
  /** Longest lifetime of any access token this issuer signs. */
  maxTokenLifetimeSeconds: number;
}

/** Keys kept in the record after they stop being published (for audit), newest first. */
const RETAINED_UNPUBLISHED = 10;

export const PUBLISHED: ReadonlySet<KeyStatus> = new Set(["next", "current", "previous"]);

export function keyWith(state: KeyringState, status: KeyStatus): KeyEntry | undefined {
  return state.keys.find((k) => k.status === status);
}

export function publishedKeys(state: KeyringState): KeyEntry[] {
  return state.keys.filter((k) => PUBLISHED.has(k.status));
}

/** What ensure-keys must add so the keyring has a current and a next key. */
export function missingRoles(state: KeyringState | undefined): { current: boolean; next: boolean } {
  const current = state ? keyWith(state, "current") : undefined;
  const next = state ? keyWith(state, "next") : undefined;
  // Without a current key, an existing next is promoted, so only a new next is needed.
  if (!current) return { current: !next, next: true };
  return { current: false, next: !next };
}

/**
 * Completes the keyring with fresh keys (idempotent when nothing is missing). A fresh instance
 * gets current and next at once: nothing can have cached an older JWKS yet.
 */
export function ensureComplete(state: KeyringState | undefined, fresh: KeyEntry[], now: number): KeyringState {
  const keys = state ? state.keys.map((k) => ({ ...k })) : [];
  let current = keys.find((k) => k.status === "current");
  const pool = [...fresh];
  if (!current) {
    const next = keys.find((k) => k.status === "next");
    current = next ?? pool.shift();
    if (!current) throw new Error("ensureComplete: no key to make current");
    if (!next) keys.push(current);
    current.status = "current";
    current.activatedAt = now;
  }
  if (!keys.some((k) => k.status === "next")) {
    const next = pool.shift();
    if (!next) throw new Error("ensureComplete: no key to make next");
    keys.push({ ...next, status: "next" });
  }
  return { version: (state?.version ?? 0) + 1, keys: prune(keys), updatedAt: now };
}

/** Why a rotation at `now` would break a verifier's cache, or undefined if it is safe. */
export function rotationHazard(state: KeyringState, rules: RotationRules, now: number): string | undefined {
  const next = keyWith(state, "next");
  if (!next) return "the keyring has no next key; run ensure-keys first";
  const publishedFor = now - next.createdAt;
  if (publishedFor < rules.publishAheadSeconds) {
    return (
      `next key ${next.kid} has been published for ${publishedFor}s; verifiers may cache the JWKS for ` +
      `${rules.publishAheadSeconds}s, so it may not sign for another ${rules.publishAheadSeconds - publishedFor}s`
    );
  }
  const previous = keyWith(state, "previous");
  if (previous) {
    const stoppedSigning = previous.deactivatedAt ?? previous.createdAt;
    const safeAt = stoppedSigning + rules.maxTokenLifetimeSeconds + rules.publishAheadSeconds;
    if (now < safeAt) {
      return (
        `previous key ${previous.kid} may still verify unexpired tokens (some cached by verifiers) ` +
        `for another ${safeAt - now}s; retiring it now would reject them`
      );
    }
  }
  return undefined;
}

/**
 * One rotation step: previous -> retired, current -> previous, next -> current, fresh -> next.
 * Refuses with RotationRefused when a verifier could see a token signed by a key it does not
 * know, or lose a key it still needs, unless `force` is set.
 */
export function rotate(
  state: KeyringState,
  fresh: KeyEntry,
  rules: RotationRules,
  now: number,
  force = false,
): KeyringState {
  const hazard = rotationHazard(state, rules, now);
  if (hazard && !force) throw new RotationRefused(`${hazard} (force it with: latchkey keys rotate --force)`);
  const keys = state.keys.map((k): KeyEntry => {
    switch (k.status) {
      case "previous":
        return { ...k, status: "retired", retiredAt: now };
      case "current":
        return { ...k, status: "previous", deactivatedAt: now };
      case "next":
        return { ...k, status: "current", activatedAt: now };
      default:
        return { ...k };
    }
  });
  keys.push({ ...fresh, status: "next", createdAt: now });
  return { version: state.version + 1, keys: prune(keys), updatedAt: now };
}

/**
 * Revokes a key: it is never published or used again. A revoked current key is replaced by next
 * at once (tokens it signed stop verifying, which is the point). Keys in `fresh` fill the roles
 * the revocation left empty (see `missingRoles`) in the same version step, so a store that
 * writes the result never publishes a keyring without a current key. Without `fresh`, the result
 * may lack a next (or, with no next to promote, a current) key.
 */
export function revoke(state: KeyringState, kid: string, now: number, fresh: KeyEntry[] = []): KeyringState {
  const target = state.keys.find((k) => k.kid === kid);
  if (!target) throw new RotationRefused(`no key with kid ${kid}`);
  if (target.status === "revoked") throw new RotationRefused(`key ${kid} is already revoked`);
  const wasSigning = target.status === "current";
  const keys = state.keys.map((k): KeyEntry => {
    if (k.kid === kid) {
      return { ...k, status: "revoked", revokedAt: now, ...(wasSigning ? { deactivatedAt: now } : {}) };
    }
    if (wasSigning && k.status === "next") return { ...k, status: "current", activatedAt: now };
    return { ...k };
  });
  const revoked: KeyringState = { version: state.version + 1, keys: prune(keys), updatedAt: now };
  if (fresh.length === 0) return revoked;
  return { ...ensureComplete(revoked, fresh, now), version: revoked.version };
}

function prune(keys: KeyEntry[]): KeyEntry[] {
  const published = keys.filter((k) => PUBLISHED.has(k.status));
  const rest = keys
    .filter((k) => !PUBLISHED.has(k.status))
    .sort((a, b) => (b.retiredAt ?? b.revokedAt ?? 0) - (a.retiredAt ?? a.revokedAt ?? 0))
    .slice(0, RETAINED_UNPUBLISHED);
  return [...published, ...rest];
}
