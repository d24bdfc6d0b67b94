/**
 * Publishes the /.well-known documents as static objects to the public-documents bucket
 * (LATCHKEY_DOCUMENTS_BUCKET), which CloudFront serves before it would ever call a function.
 * Called whenever the keyring may have changed: ensure-keys on every deploy, rotation, and
 * revocation; the bytes are those the router serves (http/well-known-documents.ts).
 *
 * A revocation also invalidates those paths in CloudFront (LATCHKEY_DISTRIBUTION_ID), so the
 * revoked key leaves the edge at once instead of after the JWKS max-age. Rotation needs no
 * invalidation: a new key is published ahead of use, and a retired one outlives every cache.
 *
 * Without a documents bucket (local mode, tests) nothing is published: the router serves them.
 */
import { PutObjectCommand } from "@aws-sdk/client-s3";
import type { Issuer } from "../issuer.js";
import { wellKnownCacheControl, wellKnownDocuments, WELL_KNOWN_PATHS } from "../http/well-known-documents.js";

export interface PublishResult {
  published: string[];
  invalidationId?: string;
}

/** S3 object keys carry no leading slash: "/.well-known/jwks.json" is ".well-known/jwks.json". */
export const objectKeyOf = (path: string): string => path.replace(/^\//, "");

export async function publishWellKnownDocuments(issuer: Issuer, options: { invalidate?: boolean } = {}): Promise<PublishResult> {
  const { config, aws } = issuer;
  if (!config.documentsBucket) return { published: [] };
  const documents = await wellKnownDocuments(issuer);
  const cacheControl = wellKnownCacheControl(config);
  await Promise.all(
    Object.entries(documents).map(([path, doc]) =>
      aws.s3.send(
        new PutObjectCommand({
          Bucket: config.documentsBucket,
          Key: objectKeyOf(path),
          Body: doc.body,
          ContentType: "application/json",
          CacheControl: cacheControl,
        }),
      ),
    ),
  );
  const published = Object.keys(documents);
  if (!options.invalidate || !config.distributionId) return { published };
  const paths = Object.values(WELL_KNOWN_PATHS);
  // Only revocation invalidates: the CloudFront SDK is a bundle chunk loaded here, never at a cold start.
  const [cloudFront, { CreateInvalidationCommand }] = await Promise.all([aws.cloudFront(), import("@aws-sdk/client-cloudfront")]);
  const out = await cloudFront.send(
    new CreateInvalidationCommand({
      DistributionId: config.distributionId,
      InvalidationBatch: { CallerReference: `latchkey-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`, Paths: { Quantity: paths.length, Items: paths } },
    }),
  );
  return { published, invalidationId: out.Invalidation?.Id };
}
