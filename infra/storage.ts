/**
 * Storage: the single DynamoDB table and the private-key bucket with its own KMS key.
 * The bucket is SSE-KMS by default (bucket keys on), versioned, fully private, TLS-only, and
 * refuses writes that are not SSE-KMS.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface StorageArgs {
  prefix: string;
  /** Point-in-time recovery, deletion protection and retain-on-delete (prod). */
  protect: boolean;
}

export class Storage extends pulumi.ComponentResource {
  readonly table: aws.dynamodb.Table;
  readonly bucket: aws.s3.Bucket;
  readonly key: aws.kms.Key;

  constructor(name: string, args: StorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("latchkey:index:Storage", name, {}, opts);
    const parent = { parent: this, ...(args.protect ? { retainOnDelete: true } : {}) };

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
    }, parent);

    this.key = new aws.kms.Key(`${name}-key`, {
      description: `${args.prefix}: encrypts Latchkey private signing keys`,
      enableKeyRotation: true,
      deletionWindowInDays: args.protect ? 30 : 7,
    }, parent);

    new aws.kms.Alias(`${name}-key-alias`, { name: `alias/${args.prefix}-keys`, targetKeyId: this.key.keyId }, parent);

    this.bucket = new aws.s3.Bucket(`${name}-keys`, { bucket: `${args.prefix}-keys`, forceDestroy: !args.protect }, parent);
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
    new aws.s3.BucketPolicy(`${name}-keys-policy`, {
      bucket: bucketId,
      policy: pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: [this.bucket.arn, pulumi.interpolate`${this.bucket.arn}/*`],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
          {
            Sid: "DenyWritesWithoutKms",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:PutObject",
            Resource: pulumi.interpolate`${this.bucket.arn}/*`,
            Condition: { StringNotEqualsIfExists: { "s3:x-amz-server-side-encryption": "aws:kms" } },
          },
        ],
      }),
    }, { ...parent, dependsOn: [publicAccess] });

    this.registerOutputs({ tableName: this.table.name, bucketName: this.bucket.bucket, keyArn: this.key.arn });
  }
}
