/**
 * Client secrets: 256 bits from a CSPRNG, shown once, stored as a keyed digest
 * (HMAC-SHA-256 under a server-side pepper kept in S3 with SSE-KMS). High-entropy secrets need
 * no slow hash, so the token endpoint stays fast; a stolen table alone cannot test guesses.
 */
import { createHmac, randomBytes } from "node:crypto";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import type { Config } from "../config.js";
import type { AwsClients } from "../storage/aws.js";
import { digestIncluded } from "../security/constant-time.js";

export const PEPPER_OBJECT_KEY = "secrets/client-secret-pepper";
const SECRET_SHAPE = /^lks_[A-Za-z0-9_-]{43}$/;

/** A new client secret: `lks_` + 43 base64url characters (256 bits). */
export function newClientSecret(): string {
  return "lks_" + randomBytes(32).toString("base64url");
}

function mac(secret: string, pepper: Buffer): Buffer {
  return createHmac("sha256", pepper).update(secret).digest();
}

export class SecretDigester {
  #pepper: Promise<Buffer | undefined> | undefined;
  #loaded: Buffer | undefined;

  constructor(
    private readonly config: Config,
    private readonly aws: AwsClients,
  ) {}

  /** The pepper once read, without waiting; undefined before (then call `pepper()`). */
  pepperIfLoaded(): Buffer | undefined {
    return this.#loaded;
  }

  /** Reads the pepper (cached for the life of the instance); undefined if none exists yet. */
  pepper(): Promise<Buffer | undefined> {
    this.#pepper ??= this.#readPepper().then(
      (pepper) => (this.#loaded = pepper),
      (err: unknown) => {
        this.#pepper = undefined;
        throw err;
      },
    );
    return this.#pepper;
  }

  /** Creates the pepper if it does not exist (deploy hook, CLI). Never replaces an existing one. */
  async ensurePepper(): Promise<Buffer> {
    const existing = await this.#readPepper();
    if (existing) return existing;
    try {
      await this.aws.s3.send(
        new PutObjectCommand({
          Bucket: this.config.keyBucket,
          Key: PEPPER_OBJECT_KEY,
          Body: randomBytes(32).toString("base64"),
          IfNoneMatch: "*",
          ServerSideEncryption: "aws:kms",
          SSEKMSKeyId: this.config.kmsKeyId,
        }),
      );
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name !== "PreconditionFailed" && name !== "ConditionalRequestConflict") throw err;
    }
    this.#pepper = undefined;
    const pepper = await this.pepper();
    if (!pepper) throw new Error("client secret pepper could not be created");
    return pepper;
  }

  /** The stored form of a secret: its HMAC-SHA-256 under the pepper, base64url. */
  digest(secret: string, pepper: Buffer): string {
    return mac(secret, pepper).toString("base64url");
  }

  /** Constant-time check of a presented secret against stored digests (every digest is compared). */
  matches(secret: string, digests: string[], pepper: Buffer): boolean {
    const wellFormed = SECRET_SHAPE.test(secret);
    // A malformed secret is digested and compared all the same, so its timing matches.
    return digestIncluded(mac(wellFormed ? secret : `invalid:${secret}`, pepper), digests) && wellFormed;
  }

  async #readPepper(): Promise<Buffer | undefined> {
    try {
      const out = await this.aws.s3.send(new GetObjectCommand({ Bucket: this.config.keyBucket, Key: PEPPER_OBJECT_KEY }));
      return Buffer.from(await out.Body!.transformToString(), "base64");
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name === "NoSuchKey" || name === "NotFound") return undefined;
      throw err;
    }
  }
}
