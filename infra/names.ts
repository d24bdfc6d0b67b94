/**
 * Names of cloud resources. Two scopes matter:
 * - account and region (DynamoDB tables, Lambda functions, ECR repositories, log groups,
 *   secrets, KMS aliases, schedules, queues, alarms): `<project>-<stack>` is unique there as
 *   long as one account does not hold two Pulumi projects of the same name and stack;
 * - all of AWS (S3 buckets): never a fixed name. Buckets take a `bucketPrefix` and S3's
 *   provider appends a unique suffix, so every adopter's `dev` stack gets its own bucket.
 *
 * Stack names may hold uppercase letters, `_` and `.`; S3 and ECR accept only lowercase
 * letters, digits and `-` (ECR also `_`, `.` and `/`, but not uppercase). The prefix is
 * sanitised once here; when that changes the name (or it has to be shortened), a short hash of
 * the original keeps `Dev` and `dev` apart.
 */
import { createHash } from "node:crypto";

/** Longest prefix: `<prefix>-rotation` must fit Lambda's 64-character function names. */
export const MAX_PREFIX = 40;
/** S3's `bucketPrefix` limit: the provider appends a 26-character unique suffix (63 in all). */
export const MAX_BUCKET_PREFIX = 37;

export function resourcePrefix(project: string, stack: string): string {
  const raw = `${project}-${stack}`;
  const clean = raw.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/-+/g, "-").replace(/^-|-$/g, "");
  if (clean === raw && clean.length <= MAX_PREFIX) return clean;
  const hash = createHash("sha256").update(raw).digest("hex").slice(0, 6);
  return `${clean.slice(0, MAX_PREFIX - 7).replace(/-+$/, "")}-${hash}`;
}

/** `<prefix>-<purpose>-`, shortened to S3's bucketPrefix limit; S3 adds the unique rest. */
export function bucketPrefix(prefix: string, purpose: string): string {
  const room = MAX_BUCKET_PREFIX - purpose.length - 2;
  return `${prefix.slice(0, room).replace(/-+$/, "")}-${purpose}-`;
}
