/**
 * Child process: the embedded DynamoDB (dynalite) and S3 (s3rver) emulators that local mode
 * uses, provisioned like `npm start` does, in a process of their own so storage work never
 * counts as issuer CPU time. It counts every storage request it serves (DynamoDB by
 * operation, S3 by method) so a bench can prove what a scenario read from storage.
 *
 * Calls: `counts` -> { dynamodb: { GetItem: n, ... }, s3: { GET: n, ... } } since start.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import type { IncomingMessage, Server } from "node:http";
import { provision } from "../../functions/local/emulators.js";
import { serveParent } from "./child.js";

const require = createRequire(import.meta.url);

export interface EmulatorsReady {
  dynamodbEndpoint: string;
  s3Endpoint: string;
  region: string;
  table: string;
  bucket: string;
}

export interface StorageCounts {
  dynamodb: Record<string, number>;
  s3: Record<string, number>;
}

const counts: StorageCounts = { dynamodb: {}, s3: {} };
const bump = (into: Record<string, number>, key: string) => {
  into[key] = (into[key] ?? 0) + 1;
};

async function main(): Promise<void> {
  const dynalite = require("dynalite") as (opts: object) => Server;
  const S3rver = require("s3rver") as new (opts: object) => {
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
    httpServer: Server;
  };

  const ddb = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  // Runs before dynalite's own listener: count the operation named by X-Amz-Target.
  ddb.prependListener("request", (req: IncomingMessage) => {
    const target = String(req.headers["x-amz-target"] ?? "unknown");
    bump(counts.dynamodb, target.slice(target.indexOf(".") + 1));
  });
  // New TCP connections show whether clients reuse them (keep-alive) or pay a handshake per call.
  ddb.on("connection", () => bump(counts.dynamodb, "(new connection)"));
  await new Promise<void>((resolve, reject) => {
    ddb.once("error", reject);
    ddb.listen(0, "127.0.0.1", () => resolve());
  });

  const dir = await mkdtemp(join(tmpdir(), "latchkey-bench-s3-"));
  const s3 = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: dir });
  const s3Address = await s3.run();
  s3.httpServer.prependListener("request", (req: IncomingMessage) => bump(counts.s3, req.method ?? "unknown"));
  s3.httpServer.on("connection", () => bump(counts.s3, "(new connection)"));

  const ready: EmulatorsReady = {
    dynamodbEndpoint: `http://127.0.0.1:${(ddb.address() as AddressInfo).port}`,
    s3Endpoint: `http://127.0.0.1:${s3Address.port}`,
    region: "us-east-1",
    table: "latchkey-bench",
    bucket: "latchkey-bench-keys",
  };
  await provision({
    region: ready.region,
    table: ready.table,
    bucket: ready.bucket,
    dynamodbEndpoint: ready.dynamodbEndpoint,
    s3Endpoint: ready.s3Endpoint,
  });

  serveParent(ready, { counts: () => structuredClone(counts) }, async () => {
    await new Promise<void>((resolve) => ddb.close(() => resolve()));
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`emulators: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
