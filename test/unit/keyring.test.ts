/** The keyring state machine: transitions, the publish-ahead rules, revocation, completion. */
import { describe, expect, it } from "vitest";
import {
  ensureComplete,
  missingRoles,
  publishedKeys,
  revoke,
  rotate,
  rotationHazard,
  type KeyEntry,
  type KeyringState,
} from "../../functions/keys/keyring.js";
import { RotationRefused } from "../../functions/errors.js";

const rules = { publishAheadSeconds: 7800, maxTokenLifetimeSeconds: 3600 };
const key = (kid: string, createdAt = 0): KeyEntry => ({ kid, status: "next", createdAt, objectKey: `keys/${kid}.pem`, publicJwk: { kty: "RSA" } });
const statuses = (s: KeyringState) => Object.fromEntries(s.keys.map((k) => [k.kid, k.status]));

describe("ensureComplete", () => {
  it("gives a fresh keyring a current and a next key at version 1", () => {
    const s = ensureComplete(undefined, [key("a"), key("b")], 100);
    expect(statuses(s)).toEqual({ a: "current", b: "next" });
    expect(s.version).toBe(1);
    expect(s.keys.find((k) => k.kid === "a")!.activatedAt).toBe(100);
  });

  it("asks for nothing when the keyring is complete", () => {
    const s = ensureComplete(undefined, [key("a"), key("b")], 100);
    expect(missingRoles(s)).toEqual({ current: false, next: false });
    expect(missingRoles(undefined)).toEqual({ current: true, next: true });
  });

  it("promotes next when current is missing and adds a new next", () => {
    const s: KeyringState = { version: 4, keys: [{ ...key("n"), status: "next" }, { ...key("r"), status: "revoked" }], updatedAt: 0 };
    expect(missingRoles(s)).toEqual({ current: false, next: true });
    const done = ensureComplete(s, [key("fresh")], 50);
    expect(statuses(done)).toEqual({ n: "current", r: "revoked", fresh: "next" });
    expect(done.version).toBe(5);
  });
});

describe("rotate", () => {
  const start = (): KeyringState => ({
    version: 3,
    keys: [
      { ...key("p", 0), status: "previous", deactivatedAt: 1000 },
      { ...key("c", 0), status: "current", activatedAt: 1000 },
      { ...key("n", 1000), status: "next" },
    ],
    updatedAt: 1000,
  });

  it("moves every key one step: previous->retired, current->previous, next->current, fresh->next", () => {
    const now = 1000 + 7800 + 3600;
    const s = rotate(start(), key("f"), rules, now);
    expect(statuses(s)).toEqual({ p: "retired", c: "previous", n: "current", f: "next" });
    expect(s.version).toBe(4);
    expect(s.keys.find((k) => k.kid === "c")!.deactivatedAt).toBe(now);
    expect(publishedKeys(s).map((k) => k.kid).sort()).toEqual(["c", "f", "n"]);
  });

  it("refuses while the next key has been published for less than the verifier cache lifetime", () => {
    const now = 1000 + 7799;
    expect(rotationHazard(start(), rules, now)).toMatch(/next key n has been published for 7799s/);
    expect(() => rotate(start(), key("f"), rules, now)).toThrow(RotationRefused);
  });

  it("refuses while the previous key may still verify live tokens", () => {
    const s = start();
    s.keys[2]!.createdAt = 0; // next is old enough
    const now = 1000 + 3600 + 7800 - 1;
    expect(rotationHazard(s, rules, now)).toMatch(/previous key p may still verify unexpired tokens/);
    expect(rotationHazard(s, rules, now + 1)).toBeUndefined();
  });

  it("rotates anyway when forced", () => {
    expect(statuses(rotate(start(), key("f"), rules, 1001, true))).toMatchObject({ n: "current", f: "next" });
  });

  it("keeps at most ten unpublished keys in the record", () => {
    let s = start();
    for (let i = 0; i < 15; i++) s = rotate(s, key(`k${i}`), rules, 100_000 * (i + 1), true);
    expect(s.keys.filter((k) => k.status === "retired")).toHaveLength(10);
    expect(publishedKeys(s)).toHaveLength(3);
  });
});

describe("revoke", () => {
  const base = (): KeyringState => ensureComplete(undefined, [key("c"), key("n")], 10);

  it("revoking current promotes next and leaves a next to be created", () => {
    const s = revoke(base(), "c", 20);
    expect(statuses(s)).toEqual({ c: "revoked", n: "current" });
    expect(missingRoles(s)).toEqual({ current: false, next: true });
    expect(publishedKeys(s).map((k) => k.kid)).toEqual(["n"]);
  });

  it("revoking next keeps current and leaves a next to be created", () => {
    const s = revoke(base(), "n", 20);
    expect(statuses(s)).toEqual({ c: "current", n: "revoked" });
    expect(missingRoles(s).next).toBe(true);
  });

  it("refuses unknown and already revoked kids", () => {
    expect(() => revoke(base(), "zzz", 20)).toThrow(/no key with kid zzz/);
    expect(() => revoke(revoke(base(), "n", 20), "n", 30)).toThrow(/already revoked/);
  });
});

describe("revoke (more)", () => {
  const rotated = (): KeyringState => rotate(ensureComplete(undefined, [key("c"), key("n")], 10), key("f"), rules, 20, true);

  it("revoking the previous key leaves current and next exactly as they were", () => {
    const before = rotated();
    expect(statuses(before)).toEqual({ c: "previous", n: "current", f: "next" });
    const after = revoke(before, "c", 30);
    expect(statuses(after)).toEqual({ c: "revoked", n: "current", f: "next" });
    const pick = (s: KeyringState, kid: string) => s.keys.find((k) => k.kid === kid);
    expect(pick(after, "n")).toEqual(pick(before, "n"));
    expect(pick(after, "f")).toEqual(pick(before, "f"));
    expect(missingRoles(after)).toEqual({ current: false, next: false });
    expect(publishedKeys(after).map((k) => k.kid).sort()).toEqual(["f", "n"]);
  });

  it("with fresh keys, fills the roles it emptied in the same version step", () => {
    const lone: KeyringState = { ...revoke(ensureComplete(undefined, [key("c"), key("n")], 10), "n", 20) };
    expect(statuses(lone)).toEqual({ c: "current", n: "revoked" });
    const done = revoke(lone, "c", 30, [key("x"), key("y")]);
    expect(statuses(done)).toEqual({ c: "revoked", n: "revoked", x: "current", y: "next" });
    expect(done.version).toBe(lone.version + 1);
  });
});

/**
 * Invariants over random sequences of rotate, revoke (as the store applies it: with fresh keys
 * for the roles it empties) and ensure. Seeded, so a failure names a sequence that replays.
 */
describe("keyring invariants over random operation sequences", () => {
  function mulberry32(seed: number): () => number {
    let a = seed;
    return () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function check(before: KeyringState | undefined, after: KeyringState, trail: string[]): void {
    const where = `after ${trail.join(" ")}`;
    const count = (s: string) => after.keys.filter((k) => k.status === s).length;
    expect(count("current"), where).toBe(1); // the issuer always has exactly one signing key
    expect(count("next"), where).toBeLessThanOrEqual(1);
    expect(count("previous"), where).toBeLessThanOrEqual(1);
    expect(new Set(after.keys.map((k) => k.kid)).size, where).toBe(after.keys.length);
    const signer = after.keys.find((k) => k.status === "current")!;
    expect(publishedKeys(after).map((k) => k.kid), where).toContain(signer.kid); // nothing signs unpublished
    if (!before) return;
    expect(after.version, where).toBe(before.version + 1);
    for (const old of before.keys) {
      const now = after.keys.find((k) => k.kid === old.kid);
      // Retired and revoked keys are never published again (a retired key may still be revoked).
      if (old.status === "retired") expect(["retired", "revoked"], where).toContain(now?.status ?? "retired");
      if (old.status === "revoked") expect(now?.status ?? "revoked", where).toBe("revoked");
    }
    // A key that starts signing was published as next before, unless a revocation forced a fresh one
    // because no published key was left to promote.
    const wasSigner = before.keys.find((k) => k.kid === signer.kid);
    if (!wasSigner) expect(trail.at(-1), where).toMatch(/^revoke/);
  }

  it.each([1, 2, 3, 42, 1234])("seed %i: at most one current and one next, nothing signs unpublished", (seed) => {
    const random = mulberry32(seed);
    let now = 1000;
    let serial = 0;
    const fresh = () => key(`k${serial++}`, now);
    let state = ensureComplete(undefined, [fresh(), fresh()], now);
    const trail = ["ensure"];
    check(undefined, state, trail);
    for (let step = 0; step < 200; step++) {
      now += Math.floor(random() * 6000);
      const before = state;
      const op = random();
      if (op < 0.45) {
        const force = random() < 0.3;
        try {
          state = rotate(state, fresh(), rules, now, force);
          trail.push(force ? "rotate!" : "rotate");
        } catch (err) {
          expect(err, `rotate at ${now} after ${trail.join(" ")}`).toBeInstanceOf(RotationRefused);
          expect(force).toBe(false);
          expect(rotationHazard(state, rules, now)).toBeDefined();
          continue;
        }
      } else if (op < 0.85) {
        const target = state.keys[Math.floor(random() * state.keys.length)]!;
        if (target.status === "revoked") {
          expect(() => revoke(state, target.kid, now)).toThrow(RotationRefused);
          continue;
        }
        const missing = missingRoles(revoke(state, target.kid, now));
        const keys = Array.from({ length: Number(missing.current) + Number(missing.next) }, fresh);
        state = revoke(state, target.kid, now, keys);
        trail.push(`revoke(${target.status})`);
        expect(state.keys.find((k) => k.kid === target.kid)?.status ?? "revoked").toBe("revoked");
      } else {
        const missing = missingRoles(state);
        const keys = Array.from({ length: Number(missing.current) + Number(missing.next) }, fresh);
        if (keys.length === 0) continue; // ensure on a complete keyring writes nothing
        state = ensureComplete(state, keys, now);
        trail.push("ensure");
      }
      check(before, state, trail);
    }
    expect(trail.filter((t) => t.startsWith("rotate")).length).toBeGreaterThan(10);
    expect(trail.filter((t) => t.startsWith("revoke")).length).toBeGreaterThan(10);
  });
});
