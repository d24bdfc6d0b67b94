/**
 * `npm start`: the issuer on this machine, for development only. Starts embedded DynamoDB and
 * S3 emulators on 127.0.0.1 (random ports, random local credentials), creates the table and
 * bucket, ensures keys, serves the same router on 127.0.0.1:$PORT and prints the issuer URL.
 * Writes `.latchkey/local.json` so the admin CLI (`npx latchkey ...`) run in this directory
 * acts on this instance; a second start in the same directory refuses and names this one.
 * State lives in memory: a restart starts fresh.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { claimLocalState, publishLocalState, releaseLocalState } from "./state.js";
import { loadConfig } from "../config.js";
import { createIssuer } from "../issuer.js";
import { provision, startEmulators, type Emulators } from "./emulators.js";
import { freePort, listen, type RunningServer } from "./server.js";

class PortInUse extends Error {
  constructor(port: number) {
    super(`port ${port} on 127.0.0.1 is in use (another Latchkey instance or another program); start on another port with PORT=${port + 1} npm start`);
  }
}

let shutdown: (() => Promise<void>) | undefined;

async function main(): Promise<void> {
  // Lambda runs Node 22; locally Node 20 is supported, so skip the SDK's upgrade notice.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const requested = Number(process.env.PORT ?? 3000);
  if (!/^\d+$/.test(process.env.PORT ?? "3000") || requested > 65535) {
    throw new Error(`PORT must be a port number, got ${process.env.PORT}`);
  }
  // The issuer URL names the port, so pick it before building config.
  const port = requested || (await freePort());
  const issuerUrl = process.env.LATCHKEY_ISSUER ?? `http://127.0.0.1:${port}`;
  claimLocalState({ pid: process.pid, issuer: issuerUrl });

  let emulators: Emulators | undefined;
  let server: RunningServer | undefined;
  let stopping: Promise<void> | undefined;
  shutdown = () =>
    (stopping ??= (async () => {
      await server?.close();
      await emulators?.stop();
      releaseLocalState();
    })());

  await assertPortFree(port);
  // Fresh local credentials per instance: the emulators refuse requests without them.
  const credentials = { accessKeyId: `LKLOCAL${randomBytes(8).toString("hex").toUpperCase()}`, secretAccessKey: randomBytes(24).toString("base64url") };
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey });
  delete process.env.AWS_SESSION_TOKEN;
  emulators = await startEmulators(credentials);
  const env: Record<string, string> = {
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    LATCHKEY_ISSUER: issuerUrl,
    LATCHKEY_TABLE: "latchkey-local",
    LATCHKEY_KEY_BUCKET: "latchkey-local-keys",
    LATCHKEY_DYNAMODB_ENDPOINT: emulators.dynamodbEndpoint,
    LATCHKEY_S3_ENDPOINT: emulators.s3Endpoint,
    LATCHKEY_KEY_CACHE_SECONDS: "5",
    // Local mode: clients may publish their keys on http://127.0.0.1 (never when deployed).
    LATCHKEY_ALLOW_PRIVATE_JWKS_URI: "true",
  };
  const config = loadConfig({ ...process.env, ...env });
  await provision({
    region: config.region,
    table: config.table,
    bucket: config.keyBucket,
    dynamodbEndpoint: emulators.dynamodbEndpoint,
    s3Endpoint: emulators.s3Endpoint,
  });
  const issuer = createIssuer(config);
  await issuer.keys.ensureKeys();
  await issuer.clients.digester.ensurePepper();
  server = await listen(issuer, port).catch((err: NodeJS.ErrnoException) => {
    throw err.code === "EADDRINUSE" ? new PortInUse(port) : err;
  });
  publishLocalState({ pid: process.pid, issuer: issuerUrl, env });

  process.stdout.write(`Latchkey issuer running at ${issuerUrl} (local mode: for development only)\n`);
  process.stdout.write(`  discovery: ${issuerUrl}/.well-known/openid-configuration\n`);
  process.stdout.write(`  admin CLI: npx latchkey keys list\n`);
}

/** Fails fast, before the emulators start, when something already listens on the port. */
function assertPortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (err: NodeJS.ErrnoException) => reject(err.code === "EADDRINUSE" ? new PortInUse(port) : err));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve()));
  });
}

async function stop(code: number): Promise<never> {
  await shutdown?.().catch(() => undefined);
  process.exit(code);
}

process.once("SIGINT", () => void stop(0));
process.once("SIGTERM", () => void stop(0));
process.once("SIGHUP", () => void stop(0));
// `npm start` runs this under `sh -c`, and a SIGTERM to npm reaches the shell, not always this
// process: when the process that started us goes away, stop rather than hold the port.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void stop(0);
}, 500).unref();

main().catch(async (err: unknown) => {
  process.stderr.write(`latchkey: ${err instanceof Error ? err.message : String(err)}\n`);
  // A refused start must not remove the running instance's state file (release checks the pid).
  await stop(1);
});
