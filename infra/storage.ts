/**
 * Storage: the single DynamoDB table, the private-key bucket with its own KMS key, and the
 * public-documents bucket.
 * - The key bucket is SSE-KMS by default (bucket keys on), versioned and fully private; its
 *   bucket policy and the key's policy name the function roles, so they are written by
 *   KeyAccess (infra/key-access.ts) once those roles exist.
 * - The documents bucket holds only what anyone may read (discovery and the JWKS), written by
 *   the rotation function and read by CloudFront alone (Origin Access Control, infra/edge.ts).
 *   It is never the key bucket: nothing there is secret, and no policy of the key bucket
 *   names CloudFront.
 * Bucket names are never fixed: S3 names are global across AWS (infra/names.ts).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { bucketPrefix } from "./names.js";

export interface StorageArgs {
  prefix: string;
  /**
   * Prod: point-in-time recovery, deletion protection, Pulumi's `protect` (a destroy or a
   * replacement stops instead of deleting) and retain-on-delete for the data.
   */
  protect: boolean;
  /** Adopt this existing key bucket (one a prod destroy kept) instead of naming a new one. */
  keyBucketName?: string | undefined;
}

export class Storage extends pulumi.ComponentResource {
  readonly table: aws.dynamodb.Table;
  readonly bucket: aws.s3.Bucket;
  readonly key: aws.kms.Key;
  readonly documents: aws.s3.Bucket;
  /** Bucket policies wait for these: a public-access block applied later would refuse them. */
  keyBucketPublicAccess!: aws.s3.BucketPublicAccessBlock;
  documentsPublicAccess!: aws.s3.BucketPublicAccessBlock;

  constructor(name: string, args: StorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("latchkey:index:Storage", name, {}, opts);
    // The data itself: protected and retained. What configures the key bucket is retained with
    // it (a destroy must not strip a kept bucket of its encryption or public-access block).
    const data = { parent: this, ...(args.protect ? { protect: true, retainOnDelete: true } : {}) };
    const parent = { parent: this, ...(args.protect ? { retainOnDelete: true } : {}) };
    const plain = { parent: this };

    this.table = new aws.dynamodb.Table(`${name}-table`, {
      name: `${args.prefix}-table`,
      billingMode: "PAY_PER_REQUEST",
      hashKey: "pk",
      rangeKey: "sk",
      attributes: [
        { name: "pk", type: "S" },
        { name: "sk", type: "S" },
      ],
      ttl: { attributeName: "ttl", enabled: true },
      pointInTimeRecovery: { enabled: args.protect },
      deletionProtectionEnabled: args.protect,
      serverSideEncryption: { enabled: true },
    }, data);

    this.key = new aws.kms.Key(`${name}-key`, {
      description: `${args.prefix}: encrypts Latchkey private signing keys`,
      enableKeyRotation: true,
      deletionWindowInDays: args.protect ? 30 : 7,
    }, data);

    new aws.kms.Alias(`${name}-key-alias`, { name: `alias/${args.prefix}-keys`, targetKeyId: this.key.keyId }, plain);

    const keyBucketName = args.keyBucketName ? { bucket: args.keyBucketName } : { bucketPrefix: bucketPrefix(args.prefix, "keys") };
    this.bucket = new aws.s3.Bucket(`${name}-keys`, { ...keyBucketName, forceDestroy: !args.protect }, data);
    const bucketId = this.bucket.id;
    new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-keys-sse`, {
      bucket: bucketId,
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: this.key.arn }, bucketKeyEnabled: true }],
    }, parent);
    new aws.s3.BucketVersioning(`${name}-keys-versioning`, {
      bucket: bucketId,
      versioningConfiguration: { status: "Enabled" },
    }, parent);
    const publicAccess = new aws.s3.BucketPublicAccessBlock(`${name}-keys-public-access`, {
      bucket: bucketId,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    }, parent);
    new aws.s3.BucketLifecycleConfiguration(`${name}-keys-lifecycle`, {
      bucket: bucketId,
      rules: [{
        id: "expire-noncurrent-key-versions",
        status: "Enabled",
        filter: { prefix: "" },
        noncurrentVersionExpiration: { noncurrentDays: 90 },
        abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
      }],
    }, parent);
    this.keyBucketPublicAccess = publicAccess;

    // Rebuilt from the keyring on every deploy, so it is protected but not retained.
    this.documents = new aws.s3.Bucket(`${name}-documents`, {
      bucketPrefix: bucketPrefix(args.prefix, "docs"),
      forceDestroy: true,
    }, { parent: this, ...(args.protect ? { protect: true } : {}) });
    const documentsId = this.documents.id;
    new aws.s3.BucketOwnershipControls(`${name}-documents-ownership`, {
      bucket: documentsId,
      rule: { objectOwnership: "BucketOwnerEnforced" },
    }, plain);
    this.documentsPublicAccess = new aws.s3.BucketPublicAccessBlock(`${name}-documents-public-access`, {
      bucket: documentsId,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    }, plain);
    // SSE-S3: CloudFront's Origin Access Control reads it without a KMS grant.
    new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-documents-sse`, {
      bucket: documentsId,
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
    }, plain);
    // Browsers preflight cross-origin fetches now and then; S3 answers OPTIONS from this.
    new aws.s3.BucketCorsConfiguration(`${name}-documents-cors`, {
      bucket: documentsId,
      corsRules: [{ allowedMethods: ["GET", "HEAD"], allowedOrigins: ["*"], allowedHeaders: ["*"], maxAgeSeconds: 86400 }],
    }, plain);

    this.registerOutputs({ tableName: this.table.name, bucketName: this.bucket.bucket, documentsBucketName: this.documents.bucket, keyArn: this.key.arn });
  }
}
