/**
 * Embedded AWS-compatible emulators for local mode and tests: dynalite (DynamoDB) and s3rver
 * (S3), in-process on 127.0.0.1 on random ports, plus provisioning of the table and bucket the
 * way infra/ declares them (pk/sk keys, TTL attribute `ttl`).
 *
 * For development only. Both emulators take any request by default, and s3rver serves objects
 * (the private signing keys) to anonymous requests. So every request must carry SigV4
 * credentials naming the instance's access key id, which `npm start` draws at random. Neither
 * emulator verifies SigV4 signatures, so the access key id is the secret that is checked.
 */
import { mkdtemp, rm } from "node:fs/promises";
import type { IncomingMessage, RequestListener, Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, UpdateTimeToLiveCommand } from "@aws-sdk/client-dynamodb";
import { EMULATOR_CREDENTIALS } from "../storage/aws.js";
import { constantTimeEqual } from "../security/constant-time.js";
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from "@aws-sdk/client-s3";

const require = createRequire(import.meta.url);

export interface EmulatorCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface Emulators {
  dynamodbEndpoint: string;
  s3Endpoint: string;
  stop(): Promise<void>;
}

type KoaContext = { req: IncomingMessage; status: number; type: string; body: unknown };
type S3rverApp = {
  middleware: ((ctx: KoaContext, next: () => Promise<void>) => Promise<void>)[];
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
};

/**
 * Starts both emulators on 127.0.0.1 (random ports). Requests must present `credentials`'
 * access key id; the default is the fixed pair the test backends use.
 */
export async function startEmulators(credentials: EmulatorCredentials = EMULATOR_CREDENTIALS): Promise<Emulators> {
  const dynalite = require("dynalite") as (opts: object) => Server;
  const S3rver = require("s3rver") as new (opts: object) => S3rverApp;
  const allowed = (req: IncomingMessage) => presentsAccessKey(req, credentials.accessKeyId);

  const ddbServer = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const ddbHandler = ddbServer.listeners("request")[0] as RequestListener;
  ddbServer.removeAllListeners("request");
  ddbServer.on("request", (req: IncomingMessage, res) => {
    if (allowed(req)) return ddbHandler(req, res);
    // What DynamoDB answers for an unknown access key id.
    res.writeHead(400, { "content-type": "application/x-amz-json-1.0" });
    res.end(JSON.stringify({ __type: "com.amazon.coral.service#UnrecognizedClientException", message: "The security token included in the request is invalid." }));
  });
  await new Promise<void>((resolve, reject) => {
    ddbServer.once("error", reject);
    ddbServer.listen(0, "127.0.0.1", () => resolve());
  });
  const ddbPort = (ddbServer.address() as AddressInfo).port;

  // s3rver looks the access key id up in its own account registry (signatures unchecked).
  const s3Accounts = require("s3rver/lib/models/account.js") as { DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void } };
  s3Accounts.DUMMY_ACCOUNT.createKeyPair(credentials.accessKeyId, credentials.secretAccessKey);
  const dir = await mkdtemp(join(tmpdir(), "latchkey-s3-"));
  const s3 = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: dir });
  // First in s3rver's Koa chain (composed when it starts listening), before any route.
  s3.middleware.unshift(async (ctx, next) => {
    if (allowed(ctx.req)) return next();
    ctx.status = 403;
    ctx.type = "application/xml";
    ctx.body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>';
  });
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

/**
 * Whether a request is SigV4-signed (Authorization header or presigned query) with this
 * access key id: `Credential=<access key id>/<date>/<region>/<service>/aws4_request`.
 */
export function presentsAccessKey(req: IncomingMessage, accessKeyId: string): boolean {
  const header = req.headers.authorization ?? "";
  const fromHeader = /^AWS4-HMAC-SHA256 .*Credential=([^/,\s]+)\//.exec(header)?.[1];
  const fromQuery = new URL(req.url ?? "/", "http://emulator").searchParams.get("X-Amz-Credential")?.split("/")[0];
  const presented = fromHeader ?? fromQuery;
  return presented !== undefined && constantTimeEqual(presented, accessKeyId);
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
