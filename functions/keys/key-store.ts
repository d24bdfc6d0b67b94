/**
 * Keyring persistence and the signing-key cache.
 *
 * Private key material lives in S3 (SSE-KMS); the keyring record (public JWKs, statuses,
 * version) lives in DynamoDB. Every change writes key material to S3 first and then swaps the
 * keyring record with a conditional write on its version, so:
 * - two concurrent rotations produce exactly one new keyring (the loser's write fails);
 * - a crash between the two steps leaves the old keyring untouched and fully valid (the new
 *   S3 object is an unreferenced orphan).
 *
 * Revocation bound: an instance uses its in-memory keyring for at most `keyCacheSeconds`
 * (at most 10 s) after it last confirmed the keyring's version with a strongly consistent read.
 * The confirmation reads only the version attribute and re-reads the whole record only when the
 * version moved. An instance that cannot confirm its keyring in time answers 503 rather than sign
 * or verify with a key that may have been revoked meanwhile.
 */
import { createPrivateKey, generateKeyPair, type KeyObject } from "node:crypto";
import { promisify } from "node:util";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { calculateJwkThumbprint, type JWK } from "jose";
import type { Config } from "../config.js";
import type { AwsClients } from "../storage/aws.js";
import { isConditionalCheckFailed } from "../storage/dynamo.js";
import { RotationRefused, TemporarilyUnavailable } from "../errors.js";
import { etagOf } from "../http/responses.js";
import { log } from "../log.js";
import { audit } from "../observability/audit.js";
import {
  ensureComplete,
  keyWith,
  missingRoles,
  publishedKeys,
  revoke as revokeInState,
  rotate as rotateState,
  type KeyEntry,
  type KeyringState,
  type RotationRules,
} from "./keyring.js";

const generateRsa = promisify(generateKeyPair);
const KEYRING_PK = "KEYRING";

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  /** base64url of the JOSE header, computed once per key. */
  encodedHeader: string;
}

export interface ChangeResult {
  changed: boolean;
  version: number;
  /** Published kids after the change. */
  published: { kid: string; status: string }[];
  reason?: string;
}

/** The keyring as last read, and when storage last confirmed it. */
type CachedKeyring = { state: KeyringState; checkedAt: number };

export class KeyStore {
  /** `checkedAt`: when the read that confirmed this state started (the conservative end). */
  #cache: CachedKeyring | undefined;
  #loading: Promise<KeyringState | undefined> | undefined;
  #signingKeys = new Map<string, Promise<SigningKey>>();
  /** The same keys once loaded, for `signingKeyIfReady`. */
  #loadedSigningKeys = new Map<string, SigningKey>();
  #jwks: { body: string; etag: string; version: number } | undefined;

  constructor(
    private readonly config: Config,
    private readonly aws: AwsClients,
    private readonly now: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  get rules(): RotationRules {
    return {
      publishAheadSeconds: this.config.authorizerCacheSeconds + 2 * this.config.wellKnownMaxAge,
      maxTokenLifetimeSeconds: this.config.maxAccessTokenTtlSeconds,
    };
  }

  /** Reads the keyring record from DynamoDB (no cache). */
  async read(): Promise<KeyringState | undefined> {
    const out = await this.aws.ddb.send(
      new GetCommand({ TableName: this.config.table, Key: { pk: KEYRING_PK, sk: KEYRING_PK }, ConsistentRead: true }),
    );
    if (!out.Item) return undefined;
    return { version: out.Item.version as number, keys: out.Item.keys as KeyEntry[], updatedAt: out.Item.updatedAt as number };
  }

  /**
   * The keyring as this instance sees it, confirmed against storage within `keyCacheSeconds`.
   * Throws when storage cannot confirm it: a keyring older than the bound is never served.
   */
  async state(): Promise<KeyringState | undefined> {
    const cached = this.#cache;
    if (this.#confirmed(cached)) return cached.state;
    if (!this.#loading) {
      const loading: Promise<KeyringState | undefined> = this.#refresh(cached).finally(() => {
        if (this.#loading === loading) this.#loading = undefined; // not a newer one (invalidate)
      });
      this.#loading = loading;
    }
    return this.#loading;
  }

  /** Whether a cached keyring was confirmed against storage within `keyCacheSeconds`. */
  #confirmed(cached: CachedKeyring | undefined): cached is CachedKeyring {
    return cached !== undefined && this.now() - cached.checkedAt < this.config.keyCacheSeconds;
  }

  /** A version-only read when a keyring is cached; the full record only when the version moved. */
  async #refresh(cached: CachedKeyring | undefined): Promise<KeyringState | undefined> {
    const startedAt = this.now();
    // A change this instance writes (#swap) or drops (invalidate) while the read is in flight
    // replaces the entry; the read, which may predate it, must not put the older keyring back.
    const unchanged = () => this.#cache === cached;
    if (cached && (await this.readVersion()) === cached.state.version) {
      if (unchanged()) this.#cache = { state: cached.state, checkedAt: startedAt };
      return cached.state;
    }
    const state = await this.read();
    if (unchanged()) this.#cache = state ? { state, checkedAt: startedAt } : undefined;
    return state;
  }

  /**
   * The keyring's version alone (0 when there is none): a strongly consistent GetItem projected
   * on `version`, so the periodic check does not transfer or parse the key list.
   */
  async readVersion(): Promise<number> {
    const out = await this.aws.ddb.send(
      new GetCommand({
        TableName: this.config.table,
        Key: { pk: KEYRING_PK, sk: KEYRING_PK },
        ConsistentRead: true,
        ProjectionExpression: "#v",
        ExpressionAttributeNames: { "#v": "version" },
      }),
    );
    return (out.Item?.version as number | undefined) ?? 0;
  }

  /** Drops the in-memory keyring so the next call reads storage (used after local changes). */
  invalidate(): void {
    this.#cache = undefined;
    this.#loading = undefined; // a read already in flight may predate the change
    this.#jwks = undefined;
  }

  /**
   * The signing key without waiting: when the cached keyring is still within `keyCacheSeconds`
   * and its current key is loaded, the same key `signingKey()` would give; otherwise undefined
   * (then call `signingKey()`). The token path asks this first, so a warm instance signs with
   * no promise chain in front of the signature (issue 15: ~18 of a token's ~60 promises).
   */
  signingKeyIfReady(): SigningKey | undefined {
    const cached = this.#cache;
    if (!this.#confirmed(cached)) return undefined;
    const current = keyWith(cached.state, "current");
    return current ? this.#loadedSigningKeys.get(current.kid) : undefined;
  }

  /** The key that signs new tokens, cached with its encoded JOSE header. 503 when none can be loaded. */
  async signingKey(): Promise<SigningKey> {
    const state = await this.#servingState("no signing key is available");
    const current = keyWith(state, "current");
    if (!current) throw new TemporarilyUnavailable("no signing key is available");
    let pending = this.#signingKeys.get(current.kid);
    if (!pending) {
      pending = this.#loadPrivateKey(current).then((privateKey) => {
        const key = { kid: current.kid, privateKey, encodedHeader: encodeHeader(current.kid) };
        this.#loadedSigningKeys.set(current.kid, key);
        return key;
      });
      this.#signingKeys.set(current.kid, pending);
      pending.catch(() => this.#signingKeys.delete(current.kid));
    }
    try {
      return await pending;
    } catch (err) {
      log.error("cannot load signing key material", { kid: current.kid, error: String(err) });
      throw new TemporarilyUnavailable("no signing key is available");
    }
  }

  /** The JWKS document body and its ETag, rebuilt only when the keyring version changes. */
  async jwks(): Promise<{ body: string; etag: string }> {
    const state = await this.#servingState("the key set is not available");
    if (this.#jwks?.version !== state.version) {
      const body = JSON.stringify({
        keys: publishedKeys(state).map((k) => ({ ...k.publicJwk, kid: k.kid, use: "sig", alg: "RS256" })),
      });
      this.#jwks = { body, etag: etagOf(body), version: state.version };
    }
    return this.#jwks;
  }

  /** Creates current and next keys where missing. Idempotent: a complete keyring is left alone. */
  async ensureKeys(): Promise<ChangeResult> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const state = await this.read();
      const missing = missingRoles(state);
      const count = Number(missing.current) + Number(missing.next);
      if (count === 0) return this.#result(state!, false, "keyring already has current and next keys");
      const fresh = await this.#createKeys(count);
      const next = ensureComplete(state, fresh, this.now());
      if (await this.#swap(state, next, fresh)) return this.#result(next, true);
    }
    throw new Error("ensure-keys lost the keyring race three times");
  }

  /** One rotation step. A concurrent rotation that wins makes this one return changed=false. */
  async rotate(options: { force?: boolean } = {}): Promise<ChangeResult> {
    const state = await this.read();
    if (!state || !keyWith(state, "current") || !keyWith(state, "next")) {
      const ensured = await this.ensureKeys();
      return { ...ensured, reason: "keyring was incomplete; ensured keys instead of rotating" };
    }
    // Check the rules before generating key material (throws RotationRefused).
    rotateState(state, placeholder(), this.rules, this.now(), options.force);
    const [fresh] = await this.#createKeys(1);
    const next = rotateState(state, fresh!, this.rules, this.now(), options.force);
    if (await this.#swap(state, next, [fresh!])) {
      audit("key.rotated", { kid: keyWith(next, "current")?.kid, nextKid: keyWith(next, "next")?.kid, forced: Boolean(options.force) });
      return this.#result(next, true);
    }
    return this.#result((await this.read()) ?? state, false, "another rotation changed the keyring first");
  }

  /**
   * Revokes a key and fills the keyring back up in the same conditional write, so the issuer is
   * never without a current key. Every instance stops using it within `keyCacheSeconds`.
   * A concurrent change (rotation, ensure-keys) makes this retry on the newer keyring.
   */
  async revoke(kid: string): Promise<ChangeResult> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const state = await this.read();
      if (!state) throw new RotationRefused("there is no keyring yet");
      const missing = missingRoles(revokeInState(state, kid, this.now()));
      const created = await this.#createKeys(Number(missing.current) + Number(missing.next));
      const next = revokeInState(state, kid, this.now(), created);
      if (await this.#swap(state, next, created)) {
        audit("key.revoked", { kid, currentKid: keyWith(next, "current")?.kid });
        return this.#result(next, true);
      }
    }
    throw new Error("the keyring changed during revocation three times; run it again");
  }

  /** Generates RSA keys and writes their private halves to S3 (SSE-KMS). */
  async #createKeys(count: number): Promise<KeyEntry[]> {
    return Promise.all(
      Array.from({ length: count }, async () => {
        const { privateKey, publicKey } = await generateRsa("rsa", { modulusLength: this.config.keySize });
        const exported = publicKey.export({ format: "jwk" }) as JWK;
        const publicJwk: JWK = { kty: "RSA", n: exported.n, e: exported.e };
        const kid = await calculateJwkThumbprint(publicJwk, "sha256");
        const objectKey = `keys/${kid}.pem`;
        await this.aws.s3.send(
          new PutObjectCommand({
            Bucket: this.config.keyBucket,
            Key: objectKey,
            Body: privateKey.export({ format: "pem", type: "pkcs8" }) as string,
            ContentType: "application/x-pem-file",
            ServerSideEncryption: "aws:kms",
            SSEKMSKeyId: this.config.kmsKeyId,
          }),
        );
        return { kid, status: "next" as const, createdAt: this.now(), objectKey, publicJwk };
      }),
    );
  }

  /** Conditional write on the keyring version; false when someone else changed it first. */
  async #swap(before: KeyringState | undefined, after: KeyringState, created: KeyEntry[]): Promise<boolean> {
    try {
      await this.aws.ddb.send(
        new PutCommand({
          TableName: this.config.table,
          Item: { pk: KEYRING_PK, sk: KEYRING_PK, version: after.version, keys: after.keys, updatedAt: after.updatedAt },
          ...(before
            ? { ConditionExpression: "version = :v", ExpressionAttributeValues: { ":v": before.version } }
            : { ConditionExpression: "attribute_not_exists(pk)" }),
        }),
      );
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      // The loser's key material is unreferenced; remove it (best effort, versioned bucket keeps history).
      await Promise.allSettled(
        created.map((k) => this.aws.s3.send(new DeleteObjectCommand({ Bucket: this.config.keyBucket, Key: k.objectKey }))),
      );
      return false;
    }
    this.#cache = { state: after, checkedAt: this.now() };
    log.info("keyring updated", { version: after.version, published: publishedKeys(after).map((k) => `${k.kid}:${k.status}`) });
    return true;
  }

  /** The keyring for serving requests: 503 when it cannot be loaded or does not exist. */
  async #servingState(unavailable: string): Promise<KeyringState> {
    let state: KeyringState | undefined;
    try {
      state = await this.state();
    } catch (err) {
      log.error("cannot load keyring", { error: String(err) });
      throw new TemporarilyUnavailable(unavailable);
    }
    if (!state) throw new TemporarilyUnavailable(unavailable);
    return state;
  }

  async #loadPrivateKey(entry: KeyEntry): Promise<KeyObject> {
    const out = await this.aws.s3.send(new GetObjectCommand({ Bucket: this.config.keyBucket, Key: entry.objectKey }));
    const pem = await out.Body!.transformToString();
    return createPrivateKey({ key: pem, format: "pem" });
  }

  #result(state: KeyringState, changed: boolean, reason?: string): ChangeResult {
    return {
      changed,
      version: state.version,
      published: publishedKeys(state).map((k) => ({ kid: k.kid, status: k.status })),
      ...(reason ? { reason } : {}),
    };
  }
}

function placeholder(): KeyEntry {
  return { kid: "(pending)", status: "next", createdAt: 0, objectKey: "", publicJwk: {} };
}

function encodeHeader(kid: string): string {
  return Buffer.from(JSON.stringify({ alg: "RS256", typ: "at+jwt", kid })).toString("base64url");
}
