/**
 * Who can read the private keys. IAM policies alone are not enough: the default KMS key policy
 * delegates to IAM, so any administrator with broad S3 and KMS rights could read and decrypt
 * key material. Two resource policies close that:
 * - the KMS key policy lets the account administer the key (not use it: no Decrypt, no
 *   GenerateDataKey, no CreateGrant) and lets only the function roles, plus a break-glass role
 *   from config, decrypt, and only the rotation role (and break-glass) generate data keys;
 *   every use must come through S3 in this region (`kms:ViaService`) for this bucket (the
 *   encryption context S3 sets with bucket keys on is the bucket's ARN);
 * - the key bucket policy denies reading `keys/*` and `secrets/*` to every other principal,
 *   and writing them to all but the rotation role and break-glass, besides TLS-only and
 *   SSE-KMS-only writes.
 * An administrator can still rewrite these policies (PutKeyPolicy, PutBucketPolicy: without
 * them nobody could ever change the key again); that is a deliberate, logged act, not a read.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Storage } from "./storage.js";

/** Key administration without any cryptographic use of the key. */
export const KEY_ADMINISTRATION = [
  "kms:DescribeKey",
  "kms:GetKeyPolicy",
  "kms:PutKeyPolicy",
  "kms:ListKeyPolicies",
  "kms:GetKeyRotationStatus",
  "kms:EnableKeyRotation",
  "kms:DisableKeyRotation",
  "kms:ListKeyRotations",
  "kms:RotateKeyOnDemand",
  "kms:ListResourceTags",
  "kms:TagResource",
  "kms:UntagResource",
  "kms:CreateAlias",
  "kms:UpdateAlias",
  "kms:DeleteAlias",
  "kms:UpdateKeyDescription",
  "kms:EnableKey",
  "kms:DisableKey",
  "kms:ScheduleKeyDeletion",
  "kms:CancelKeyDeletion",
  "kms:ListGrants",
  "kms:RevokeGrant",
];

export interface KeyAccessArgs {
  storage: Storage;
  region: string;
  /** Roles that read key material (the serving functions). */
  readers: pulumi.Input<string>[];
  /** Roles that also write it (the rotation function). */
  writers: pulumi.Input<string>[];
  breakGlassRoleArn: string | undefined;
}

export class KeyAccess extends pulumi.ComponentResource {
  constructor(name: string, args: KeyAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super("latchkey:index:KeyAccess", name, {}, opts);
    const { storage } = args;
    const account = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
    const breakGlass = args.breakGlassRoleArn ? [args.breakGlassRoleArn] : [];
    const writers = [...args.writers, ...breakGlass];
    const readers = [...args.readers, ...writers];
    const throughS3 = {
      StringEquals: {
        "kms:ViaService": `s3.${args.region}.amazonaws.com`,
        "kms:EncryptionContext:aws:s3:arn": storage.bucket.arn,
      },
    };

    new aws.kms.KeyPolicy(`${name}-key-policy`, {
      keyId: storage.key.id,
      policy: pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: [
          { Sid: "KeyAdministration", Effect: "Allow", Principal: { AWS: pulumi.interpolate`arn:aws:iam::${account}:root` }, Action: KEY_ADMINISTRATION, Resource: "*" },
          { Sid: "DecryptKeyMaterial", Effect: "Allow", Principal: { AWS: readers }, Action: ["kms:Decrypt"], Resource: "*", Condition: throughS3 },
          { Sid: "EncryptKeyMaterial", Effect: "Allow", Principal: { AWS: writers }, Action: ["kms:GenerateDataKey"], Resource: "*", Condition: throughS3 },
        ],
      }),
    }, { parent: this });

    const objects = [pulumi.interpolate`${storage.bucket.arn}/keys/*`, pulumi.interpolate`${storage.bucket.arn}/secrets/*`];
    new aws.s3.BucketPolicy(`${name}-bucket-policy`, {
      bucket: storage.bucket.id,
      policy: pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: [storage.bucket.arn, pulumi.interpolate`${storage.bucket.arn}/*`],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
          {
            Sid: "DenyWritesWithoutKms",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:PutObject",
            Resource: pulumi.interpolate`${storage.bucket.arn}/*`,
            Condition: { StringNotEqualsIfExists: { "s3:x-amz-server-side-encryption": "aws:kms" } },
          },
          {
            Sid: "OnlyTheFunctionsReadKeyMaterial",
            Effect: "Deny",
            Principal: "*",
            Action: ["s3:GetObject", "s3:GetObjectVersion"],
            Resource: objects,
            Condition: { ArnNotEquals: { "aws:PrincipalArn": readers } },
          },
          {
            Sid: "OnlyRotationWritesKeyMaterial",
            Effect: "Deny",
            Principal: "*",
            Action: ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"],
            Resource: objects,
            Condition: { ArnNotEquals: { "aws:PrincipalArn": writers } },
          },
        ],
      }),
    }, { parent: this, dependsOn: [storage.keyBucketPublicAccess] });
    this.registerOutputs({});
  }
}
