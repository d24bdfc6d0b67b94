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
