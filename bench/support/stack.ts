/**
 * The processes every Latchkey bench starts: storage emulators in one child, the issuer in
 * another, both on 127.0.0.1, torn down together.
 *
 * @example
 *   const stack = await startStack({ LATCHKEY_KEY_CACHE_SECONDS: "5" });
 *   // ... stack.issuer.ready.url ...
 *   await stack.stop();
 */
import { readFileSync } from "node:fs";
import { loadavg, cpus } from "node:os";
import { startChild, type Child } from "./child.js";
import type { EmulatorsReady, StorageCounts } from "./emulators-server.js";
import type { LatchkeyReady } from "./latchkey-server.js";

/**
 * The node flags package.json's start script puts before `--import tsx` (which startChild adds
 * itself): the preloads, read from the script so the bench's server cannot drift from it.
 */
function npmStartPreloads(): string[] {
  const words = (JSON.parse(readFileSync("package.json", "utf8")) as { scripts: { start: string } }).scripts.start.split(/\s+/);
  const end = words.indexOf("--import");
  if (words[0] !== "node" || end < 0) throw new Error(`package.json's start script is not "node <flags> --import tsx <entry>": ${words.join(" ")}`);
  return words.slice(1, end);
}

export interface Stack {
  emulators: Child<EmulatorsReady>;
  issuer: Child<LatchkeyReady>;
  /** Environment that points a Latchkey process at this stack's storage. */
  storageEnv: Record<string, string>;
  counts(): Promise<StorageCounts>;
  stop(): Promise<void>;
}

export async function startStack(issuerEnv: Record<string, string> = {}): Promise<Stack> {
  const emulators = await startChild<EmulatorsReady>("bench/support/emulators-server.ts", {
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  });
  const e = emulators.ready;
  const storageEnv: Record<string, string> = {
    AWS_REGION: e.region,
    LATCHKEY_TABLE: e.table,
    LATCHKEY_KEY_BUCKET: e.bucket,
    LATCHKEY_DYNAMODB_ENDPOINT: e.dynamodbEndpoint,
    LATCHKEY_S3_ENDPOINT: e.s3Endpoint,
    LATCHKEY_LOG_LEVEL: "warn",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  };
  let issuer: Child<LatchkeyReady>;
  try {
    issuer = await startChild<LatchkeyReady>("bench/support/latchkey-server.ts", {
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      ...storageEnv,
      ...issuerEnv,
    }, {
      // e.g. BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the issuer alone.
      // Started as `npm start` starts the server (its preload sizes the thread pool to the cores).
      nodeArgs: [...npmStartPreloads(), ...(process.env.BENCH_SERVER_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? [])],
      // The issuer writes a metric record per response to stdout (as on Lambda; it pays for
      // the writes), but relaying them through this process would load the load generator.
      discardStdout: true,
    });
  } catch (err) {
    await emulators.stop();
    throw err;
  }
  return {
    emulators,
    issuer,
    storageEnv,
    counts: () => emulators.call<StorageCounts>("counts"),
    async stop() {
      await issuer.stop();
      await emulators.stop();
    },
  };
}

/** Storage requests between two `counts()` snapshots. */
export function countsBetween(before: StorageCounts, after: StorageCounts): StorageCounts {
  const diff = (a: Record<string, number>, b: Record<string, number>) =>
    Object.fromEntries(
      Object.entries(b)
        .map(([k, v]) => [k, v - (a[k] ?? 0)] as const)
        .filter(([, v]) => v !== 0),
    );
  return { dynamodb: diff(before.dynamodb, after.dynamodb), s3: diff(before.s3, after.s3) };
}

export function machine(): Record<string, unknown> {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    node: process.version,
    loadAverageAtStart: loadavg().map((n) => Math.round(n * 100) / 100),
  };
}

/** Stops the stack on Ctrl-C too, so no server outlives the bench. */
export function stopOnSignal(stop: () => Promise<void>): void {
  const handler = () => void stop().finally(() => process.exit(130));
  process.once("SIGINT", handler);
  process.once("SIGTERM", handler);
}
