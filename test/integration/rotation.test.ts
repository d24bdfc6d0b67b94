/**
 * Key rotation against real storage: tokens survive rotation, retired and revoked keys leave
 * the JWKS, concurrent rotations yield one keyring, a crash between the S3 write and the
 * keyring swap leaves a working issuer, and a keyring outage is a 503.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { atomicConditionalWrites, GOOD_PASSWORD, post, skipIntegration, startTestIssuer, uniqueName, type TestIssuer } from "../support/issuer.js";
import type { AwsClients } from "../../functions/storage/aws.js";

describe.skipIf(skipIntegration)("key rotation", () => {
  let t: TestIssuer | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  const jwks = async (url: string) => (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
  async function login(url: string) {
    const username = uniqueName();
    await post(`${url}/register`, { username, password: GOOD_PASSWORD });
    const res = await post(`${url}/login`, { username, password: GOOD_PASSWORD });
    expect(res.status).toBe(200);
    return res.json.access_token as string;
  }
  const verifyWith = (set: JSONWebKeySet, token: string, issuer: string) => jwtVerify(token, createLocalJWKSet(set), { issuer, audience: "latchkey" });
  const kidOf = (token: string) => JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString()).kid as string;

  it("a token signed before a rotation still verifies after it; two rotations later its key is gone", async () => {
    t = await startTestIssuer({ LATCHKEY_KEY_CACHE_SECONDS: "1" });
    const before = await login(t.url);
    const oldKid = kidOf(before);
    await t.issuer.keys.rotate({ force: true });
    const after = await jwks(t.url);
    expect(after.keys.map((k) => k.kid)).toContain(oldKid);
    await verifyWith(after, before, t.url);
    // New tokens are signed by the promoted key.
    const fresh = await login(t.url);
    expect(kidOf(fresh)).not.toBe(oldKid);
    await verifyWith(after, fresh, t.url);
    await t.issuer.keys.rotate({ force: true });
    const later = await jwks(t.url);
    expect(later.keys.map((k) => k.kid)).not.toContain(oldKid);
    await expect(verifyWith(later, before, t.url)).rejects.toThrow();
  });

  it.skipIf(!atomicConditionalWrites)("two concurrent rotations produce exactly one new keyring", async () => {
    t = await startTestIssuer();
    const v = (await t.issuer.keys.read())!.version;
    const results = await Promise.all([t.issuer.keys.rotate({ force: true }), t.issuer.keys.rotate({ force: true })]);
    expect(results.filter((r) => r.changed)).toHaveLength(1);
    const state = (await t.issuer.keys.read())!;
    expect(state.version).toBe(v + 1);
    expect(state.keys.filter((k) => k.status === "current")).toHaveLength(1);
    expect(state.keys.filter((k) => k.status === "next")).toHaveLength(1);
    // The loser's key material was cleaned up: only referenced keys remain in S3.
    const listed = await t.issuer.aws.s3.send(new ListObjectsV2Command({ Bucket: t.config.keyBucket, Prefix: "keys/" }));
    const objects = (listed.Contents ?? []).map((o) => o.Key).sort();
    expect(objects).toEqual(state.keys.map((k) => k.objectKey).sort());
  });

  it("a crash between the S3 write and the keyring swap leaves the old keyring valid and the issuer working", async () => {
    let failKeyringWrites = false;
    const wrapAws = (aws: AwsClients): AwsClients => {
      const send = aws.ddb.send.bind(aws.ddb);
      aws.ddb.send = ((command: unknown, ...rest: unknown[]) => {
        if (failKeyringWrites && command instanceof PutCommand && command.input.Item?.pk === "KEYRING") {
          return Promise.reject(Object.assign(new Error("injected: process died before the swap"), { name: "InjectedFault" }));
        }
        return (send as (...a: unknown[]) => Promise<unknown>)(command, ...rest);
      }) as typeof aws.ddb.send;
      return aws;
    };
    t = await startTestIssuer({}, { wrapAws });
    const before = (await t.issuer.keys.read())!;
    const token = await login(t.url);
    failKeyringWrites = true;
    await expect(t.issuer.keys.rotate({ force: true })).rejects.toThrow(/injected/);
    failKeyringWrites = false;
    t.issuer.keys.invalidate();
    const after = (await t.issuer.keys.read())!;
    expect(after.version).toBe(before.version);
    expect(after.keys.map((k) => k.kid)).toEqual(before.keys.map((k) => k.kid));
    const set = await jwks(t.url);
    await verifyWith(set, token, t.url);
    await verifyWith(set, await login(t.url), t.url);
    // And the next rotation succeeds.
    expect((await t.issuer.keys.rotate({ force: true })).changed).toBe(true);
  });

  it("revoking a key removes it from the JWKS at once and its tokens stop verifying", async () => {
    t = await startTestIssuer();
    const token = await login(t.url);
    const kid = kidOf(token);
    await t.issuer.keys.revoke(kid);
    const set = await jwks(t.url);
    expect(set.keys.map((k) => k.kid)).not.toContain(kid);
    expect(set.keys).toHaveLength(2); // new current (old next) and a fresh next
    await expect(verifyWith(set, token, t.url)).rejects.toThrow();
    const fresh = await login(t.url);
    await verifyWith(set, fresh, t.url);
  });

  it("a manual rotation too soon after the last one is refused with the reason", async () => {
    t = await startTestIssuer();
    await expect(t.issuer.keys.rotate()).rejects.toThrow(/may not sign for another/);
  });

  it("no keyring at all: login and JWKS answer 503, not 500", async () => {
    t = await startTestIssuer({}, { ensureKeys: false });
    const username = uniqueName();
    expect((await post(`${t.url}/register`, { username, password: GOOD_PASSWORD })).status).toBe(201);
    const res = await post(`${t.url}/login`, { username, password: GOOD_PASSWORD });
    expect(res.status).toBe(503);
    expect(res.json.error).toBe("temporarily_unavailable");
    expect((await fetch(`${t.url}/.well-known/jwks.json`)).status).toBe(503);
  });

  it("a keyring record written by another instance is picked up after the cache TTL", async () => {
    t = await startTestIssuer({ LATCHKEY_KEY_CACHE_SECONDS: "1" });
    const first = await jwks(t.url);
    // Another instance (same storage) rotates.
    const { createIssuer } = await import("../../functions/issuer.js");
    const other = createIssuer(t.config);
    await other.keys.rotate({ force: true });
    await new Promise((r) => setTimeout(r, 1100));
    const second = await jwks(t.url);
    expect(second.keys).toHaveLength(3);
    expect(first.keys).toHaveLength(2);
  });
});
