/**
 * AWS clients, built in one place from config. Endpoint overrides are the only difference
 * between AWS, LocalStack, moto and the embedded emulators.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import type { CloudFrontClient } from "@aws-sdk/client-cloudfront";
import type { Config } from "../config.js";

/** s3rver's built-in key pair; dynalite, moto and LocalStack accept any credentials. */
export const EMULATOR_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

export interface AwsClients {
  ddb: DynamoDBDocumentClient;
  s3: S3Client;
  /** Only the deploy-time ensure-client path uses it; loaded and built on first use. */
  secretsManager(): Promise<SecretsManagerClient>;
  /** Only the optional audit event bus uses it; loaded and built on first use (no cold-start cost when off). */
  eventBridge(): Promise<EventBridgeClient>;
  /** Only key revocation uses it (invalidating the /.well-known paths); loaded and built on first use. */
  cloudFront(): Promise<CloudFrontClient>;
}

export function createAwsClients(config: Pick<Config, "region" | "endpoints">): AwsClients {
  const local = Boolean(config.endpoints.dynamodb || config.endpoints.s3 || config.endpoints.secretsManager || config.endpoints.eventBridge);
  // Emulators need some credentials (s3rver accepts only its fixed pair); AWS uses the default chain.
  const credentials = local && !process.env.AWS_ACCESS_KEY_ID ? EMULATOR_CREDENTIALS : undefined;
  const raw = new DynamoDBClient({
    region: config.region,
    endpoint: config.endpoints.dynamodb,
    credentials,
    maxAttempts: 3,
  });
  const ddb = DynamoDBDocumentClient.from(raw, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const s3 = new S3Client({
    region: config.region,
    endpoint: config.endpoints.s3,
    forcePathStyle: Boolean(config.endpoints.s3),
    credentials,
    maxAttempts: 3,
    // Emulators (s3rver) store aws-chunked bodies verbatim; only checksum when S3 demands it.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  let secrets: Promise<SecretsManagerClient> | undefined;
  const secretsManager = () =>
    (secrets ??= import("@aws-sdk/client-secrets-manager").then(
      ({ SecretsManagerClient }) =>
        new SecretsManagerClient({ region: config.region, endpoint: config.endpoints.secretsManager, credentials, maxAttempts: 3 }),
    ));
  let events: Promise<EventBridgeClient> | undefined;
  const eventBridge = () =>
    (events ??= import("@aws-sdk/client-eventbridge").then(
      ({ EventBridgeClient }) =>
        new EventBridgeClient({ region: config.region, endpoint: config.endpoints.eventBridge, credentials, maxAttempts: 3 }),
    ));
  let cloudFrontClient: Promise<CloudFrontClient> | undefined;
  // CloudFront is a global service: the SDK signs for us-east-1 whatever the function's region.
  const cloudFront = () =>
    (cloudFrontClient ??= import("@aws-sdk/client-cloudfront").then(
      ({ CloudFrontClient }) => new CloudFrontClient({ region: config.region, credentials, maxAttempts: 3 }),
    ));
  return { ddb, s3, secretsManager, eventBridge, cloudFront };
}
