/**
 * Embedded AWS-compatible emulators for local mode and tests: dynalite (DynamoDB) and s3rver
 * (S3), in-process on 127.0.0.1, plus provisioning of the table and bucket the way infra/
 * declares them (pk/sk keys, TTL attribute `ttl`).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, UpdateTimeToLiveCommand } from "@aws-sdk/client-dynamodb";
import { EMULATOR_CREDENTIALS } from "../storage/aws.js";
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from "@aws-sdk/client-s3";

const require = createRequire(import.meta.url);

export interface Emulators {
  dynamodbEndpoint: string;
  s3Endpoint: string;
  stop(): Promise<void>;
}

export async function startEmulators(): Promise<Emulators> {
  const dynalite = require("dynalite") as (opts: object) => import("node:http").Server;
  const S3rver = require("s3rver") as new (opts: object) => { run(): Promise<AddressInfo>; close(): Promise<void> };
  const ddbServer = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    ddbServer.once("error", reject);
    ddbServer.listen(0, "127.0.0.1", () => resolve());
  });
  const ddbPort = (ddbServer.address() as AddressInfo).port;
  const dir = await mkdtemp(join(tmpdir(), "latchkey-s3-"));
  const s3 = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: dir });
  const s3Address = await s3.run();
  return {
    dynamodbEndpoint: `http://127.0.0.1:${ddbPort}`,
    s3Endpoint: `http://127.0.0.1:${s3Address.port}`,
    async stop() {
      await new Promise<void>((resolve) => ddbServer.close(() => resolve()));
      await s3.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface ProvisionTarget {
  region: string;
  table: string;
  bucket: string;
  dynamodbEndpoint?: string | undefined;
  s3Endpoint?: string | undefined;
}

/** Creates the single table and the key bucket (idempotent). TTL is enabled where supported. */
export async function provision(t: ProvisionTarget): Promise<void> {
  const credentials = process.env.AWS_ACCESS_KEY_ID ? undefined : EMULATOR_CREDENTIALS;
  const ddb = new DynamoDBClient({ region: t.region, endpoint: t.dynamodbEndpoint, credentials });
  const s3 = new S3Client({ region: t.region, endpoint: t.s3Endpoint, forcePathStyle: true, credentials });
  try {
    await ddb.send(
      new CreateTableCommand({
        TableName: t.table,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [
          { AttributeName: "pk", AttributeType: "S" },
          { AttributeName: "sk", AttributeType: "S" },
        ],
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
      }),
    );
  } catch (err) {
    if ((err as { name?: string }).name !== "ResourceInUseException") throw err;
  }
  for (let i = 0; i < 100; i++) {
    const d = await ddb.send(new DescribeTableCommand({ TableName: t.table }));
    if (d.Table?.TableStatus === "ACTIVE") break;
    await new Promise((r) => setTimeout(r, 100));
  }
  // dynalite has no UpdateTimeToLive; expiry is enforced on read anyway, TTL only cleans up.
  await ddb
    .send(new UpdateTimeToLiveCommand({ TableName: t.table, TimeToLiveSpecification: { AttributeName: "ttl", Enabled: true } }))
    .catch(() => undefined);
  try {
    await s3.send(new CreateBucketCommand({ Bucket: t.bucket }));
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name !== "BucketAlreadyOwnedByYou" && name !== "BucketAlreadyExists") throw err;
  }
  await s3
    .send(new PutBucketVersioningCommand({ Bucket: t.bucket, VersioningConfiguration: { Status: "Enabled" } }))
    .catch(() => undefined);
  ddb.destroy();
  s3.destroy();
}
