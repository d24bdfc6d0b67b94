/**
 * `npm start`: the issuer on this machine. Starts embedded DynamoDB and S3 emulators,
 * creates the table and bucket, ensures keys, serves the same router on 127.0.0.1:$PORT and
 * prints the issuer URL. Writes `.latchkey/local.json` so the admin CLI (`npx latchkey ...`)
 * run in this directory acts on this instance. State lives in memory: a restart starts fresh.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { LOCAL_STATE_FILE } from "./state.js";
import { loadConfig } from "../config.js";
import { createIssuer } from "../issuer.js";
import { provision, startEmulators } from "./emulators.js";
import { freePort, listen } from "./server.js";


async function main(): Promise<void> {
  // Lambda runs Node 22; locally Node 20 is supported, so skip the SDK's upgrade notice.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const requested = Number(process.env.PORT ?? 3000);
  if (!Number.isInteger(requested) || requested < 0 || requested > 65535) {
    throw new Error(`PORT must be a port number, got ${process.env.PORT}`);
  }
  // The issuer URL names the port, so pick it before building config.
  const port = requested || (await freePort());
  const issuerUrl = process.env.LATCHKEY_ISSUER ?? `http://127.0.0.1:${port}`;
  const emulators = await startEmulators();
  const env: Record<string, string> = {
    AWS_REGION: "us-east-1",
    LATCHKEY_ISSUER: issuerUrl,
    LATCHKEY_TABLE: "latchkey-local",
    LATCHKEY_KEY_BUCKET: "latchkey-local-keys",
    LATCHKEY_DYNAMODB_ENDPOINT: emulators.dynamodbEndpoint,
    LATCHKEY_S3_ENDPOINT: emulators.s3Endpoint,
    LATCHKEY_KEY_CACHE_SECONDS: "5",
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
  const server = await listen(issuer, port);

  await mkdir(".latchkey", { recursive: true });
  await writeFile(LOCAL_STATE_FILE, JSON.stringify({ pid: process.pid, issuer: issuerUrl, env }, null, 2));

  process.stdout.write(`Latchkey issuer running at ${issuerUrl}\n`);
  process.stdout.write(`  discovery: ${issuerUrl}/.well-known/openid-configuration\n`);
  process.stdout.write(`  admin CLI: npx latchkey keys list\n`);

  const stop = async () => {
    await server.close();
    await emulators.stop();
    await rm(LOCAL_STATE_FILE, { force: true });
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`latchkey: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

