/**
 * The age of the current signing key: how long it has been signing. Rotation makes a new key
 * current every rotation interval, so an age beyond the interval (plus a grace period) means
 * rotation has stopped; infra/monitoring.ts alarms on it.
 */
import { keyWith, type KeyringState } from "./keyring.js";
import type { KeyStore } from "./key-store.js";
import { metrics } from "../observability/metrics.js";
import { log } from "../log.js";

/** Seconds since the current key started signing (its creation if it never recorded activation). */
export function signingKeyAgeSeconds(state: KeyringState, now: number): number | undefined {
  const current = keyWith(state, "current");
  if (!current) return undefined;
  return Math.max(0, now - (current.activatedAt ?? current.createdAt));
}

/** Reads the keyring and emits the SigningKeyAge metric; undefined (and a warning) when there is no current key. */
export async function reportSigningKeyAge(keys: KeyStore, now = Math.floor(Date.now() / 1000)): Promise<number | undefined> {
  const state = await keys.read();
  const age = state ? signingKeyAgeSeconds(state, now) : undefined;
  if (age === undefined) {
    log.warn("no current signing key to report the age of");
    return undefined;
  }
  metrics.signingKeyAge(age);
  return age;
}
