/**
 * The keyring store against real storage, deterministically: the revocation bound on a warm
 * instance (a controlled clock, no sleeping for the default 10 s), the cheap version check,
 * failing closed when the keyring cannot be confirmed, and the conditional swap when another
 * writer changed the keyring between our read and our write (a stale version handed in).
 */
import { afterEach, describe, expect, it } from "vitest";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { createIssuer } from "../../functions/issuer.js";
import { KeyStore } from "../../functions/keys/key-store.js";
import { createAwsClients, type AwsClients } from "../../functions/storage/aws.js";
import { TemporarilyUnavailable } from "../../functions/errors.js";
import { GOOD_PASSWORD, post, skipIntegration, startTestIssuer, uniqueName, type TestIssuer } from "../support/issuer.js";

type Command = { input: Record<string, any> };

/** AWS clients whose DynamoDB sends pass through `hook` first (it may throw or act, then forward). */
function hookedAws(t: TestIssuer, hook: (command: Command) => Promise<void> | void): AwsClients {
  const aws = createAwsClients(t.config);
  const send = aws.ddb.send.bind(aws.ddb) as (c: unknown, ...rest: unknown[]) => Promise<unknown>;
  aws.ddb.send = (async (command: Command, ...rest: unknown[]) => {
    await hook(command);
    return send(command, ...rest);
  }) as unknown as typeof aws.ddb.send;
  return aws;
}

const isKeyringRead = (c: Command) => c instanceof GetCommand && c.input.Key?.pk === "KEYRING";
const isKeyringWrite = (c: Command) => c instanceof PutCommand && c.input.Item?.pk === "KEYRING";
const kidsOf = (body: string) => (JSON.parse(body) as { keys: { kid: string }[] }).keys.map((k) => k.kid);

describe.skipIf(skipIntegration)("key revocation bound", () => {
  let t: TestIssuer | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it("a key revoked elsewhere stops signing and leaves the JWKS on a warm instance once keyCacheSeconds have passed", async () => {
    t = await startTestIssuer();
    expect(t.config.keyCacheSeconds).toBe(10);
    let clock = 1_000_000;
    const instance = new KeyStore(t.config, t.issuer.aws, () => clock);
    const revokedKid = (await instance.signingKey()).kid;
    expect(kidsOf((await instance.jwks()).body)).toContain(revokedKid);

    await t.issuer.keys.revoke(revokedKid); // another instance (the admin CLI) revokes it

    clock += 9; // still inside the bound: the warm instance has not looked yet
    expect((await instance.signingKey()).kid).toBe(revokedKid);
    clock += 1; // the bound
    const signer = await instance.signingKey();
    expect(signer.kid).not.toBe(revokedKid);
    expect(kidsOf((await instance.jwks()).body)).not.toContain(revokedKid);
    expect(kidsOf((await instance.jwks()).body)).toContain(signer.kid);
  });

  it("the periodic check reads only the version, and the whole keyring only after it moved", async () => {
    t = await startTestIssuer();
    const reads: Command[] = [];
    let clock = 1_000_000;
    const instance = new KeyStore(t.config, hookedAws(t, (c) => void (isKeyringRead(c) && reads.push(c))), () => clock);
    await instance.signingKey();
    expect(reads).toHaveLength(1); // cold: the whole record
    expect(reads[0]!.input.ProjectionExpression).toBeUndefined();

    clock += t.config.keyCacheSeconds;
    await instance.signingKey();
    expect(reads).toHaveLength(2);
    expect(reads[1]!.input).toMatchObject({ ProjectionExpression: "#v", ExpressionAttributeNames: { "#v": "version" }, ConsistentRead: true });

    await t.issuer.keys.rotate({ force: true });
    clock += t.config.keyCacheSeconds;
    await instance.signingKey();
    expect(reads.slice(2).map((c) => c.input.ProjectionExpression)).toEqual(["#v", undefined]);
  });

  it("an instance that cannot confirm its keyring past the bound answers 503 instead of using a possibly revoked key", async () => {
    t = await startTestIssuer();
    let down = false;
    let clock = 1_000_000;
    const aws = hookedAws(t, () => {
      if (down) throw Object.assign(new Error("injected: DynamoDB unreachable"), { name: "NetworkingError" });
    });
    const instance = new KeyStore(t.config, aws, () => clock);
    await instance.signingKey();
    down = true;
    clock += t.config.keyCacheSeconds - 1;
    await instance.signingKey(); // within the bound the confirmed keyring still serves
    clock += 1;
    await expect(instance.signingKey()).rejects.toBeInstanceOf(TemporarilyUnavailable);
    await expect(instance.jwks()).rejects.toBeInstanceOf(TemporarilyUnavailable);
    down = false;
    await instance.signingKey(); // and it recovers when storage answers again
  });

  it("over HTTP: after a revocation elsewhere, /validate refuses its tokens, the JWKS drops it and logins get a new key", async () => {
    t = await startTestIssuer({ LATCHKEY_KEY_CACHE_SECONDS: "1" });
    const username = uniqueName();
    await post(`${t.url}/register`, { username, password: GOOD_PASSWORD });
    const login = async () => (await post(`${t!.url}/login`, { username, password: GOOD_PASSWORD })).json.access_token as string;
    const kidOf = (token: string) => JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString()).kid as string;
    const validate = (token: string) =>
      fetch(`${t!.url}/validate?audience=latchkey`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
    const token = await login();
    expect(await validate(token)).toBe(200);

    await createIssuer(t.config).keys.revoke(kidOf(token));
    await new Promise((r) => setTimeout(r, 1100));

    expect(await validate(token)).toBe(401);
    const jwks = (await (await fetch(`${t.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((k) => k.kid)).not.toContain(kidOf(token));
    const fresh = await login();
    expect(kidOf(fresh)).not.toBe(kidOf(token));
    expect(await validate(fresh)).toBe(200);
  });
});

describe.skipIf(skipIntegration)("keyring conditional writes with a stale version", () => {
  let t: TestIssuer | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  /** A store whose next keyring write is preceded by `interfere` (another writer winning the race). */
  function storeLosingOnce(interfere: () => Promise<unknown>): KeyStore {
    let armed = true;
    return new KeyStore(
      t!.config,
      hookedAws(t!, async (c) => {
        if (armed && isKeyringWrite(c)) {
          armed = false;
          await interfere();
        }
      }),
    );
  }

  it("rotate: the other writer's keyring stands, ours is not written and its key material is removed", async () => {
    t = await startTestIssuer();
    const other = createIssuer(t.config).keys;
    const before = (await t.issuer.keys.read())!;
    let theirs: Awaited<ReturnType<KeyStore["read"]>>;
    const store = storeLosingOnce(async () => {
      await other.rotate({ force: true });
      theirs = await other.read();
    });
    const result = await store.rotate({ force: true });
    expect(result.changed).toBe(false);
    const after = (await t.issuer.keys.read())!;
    expect(after).toEqual(theirs!);
    expect(after.version).toBe(before.version + 1);
    // Only keys the keyring references remain in the bucket: the loser's object was deleted.
    const listed = await t.issuer.aws.s3.send(new ListObjectsV2Command({ Bucket: t.config.keyBucket, Prefix: "keys/" }));
    expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual(after.keys.map((k) => k.objectKey).sort());
  });

  it("revoke: retries on the newer keyring, so the concurrent rotation is kept and the key is still revoked", async () => {
    t = await startTestIssuer();
    const other = createIssuer(t.config).keys;
    const before = (await t.issuer.keys.read())!;
    const target = before.keys.find((k) => k.status === "current")!.kid;
    const store = storeLosingOnce(() => other.rotate({ force: true }));
    const result = await store.revoke(target);
    expect(result.changed).toBe(true);
    const after = (await t.issuer.keys.read())!;
    expect(after.version).toBe(before.version + 2);
    expect(after.keys.find((k) => k.kid === target)!.status).toBe("revoked");
    expect(after.keys.filter((k) => k.status === "current")).toHaveLength(1);
    expect(after.keys.filter((k) => k.status === "next")).toHaveLength(1);
    expect(result.published.map((p) => p.kid)).not.toContain(target);
  });

  it("ensure-keys: a keyring created first by another writer is kept, not overwritten", async () => {
    t = await startTestIssuer({}, { ensureKeys: false });
    const other = createIssuer(t.config).keys;
    const store = storeLosingOnce(() => other.ensureKeys());
    const result = await store.ensureKeys();
    expect(result.changed).toBe(false);
    const after = (await t.issuer.keys.read())!;
    expect(after.version).toBe(1);
    expect(after.keys).toHaveLength(2);
    expect(result.published.map((p) => p.kid).sort()).toEqual(after.keys.map((k) => k.kid).sort());
  });
});
