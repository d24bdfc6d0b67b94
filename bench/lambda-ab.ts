/**
 * `npm run bench:lambda-ab`: two (or more) built router bundles side by side on the Lambda
 * client_credentials path, for changes too small for `bench:lambda` to tell from this machine's
 * noise (issue 15). Each bundle's handler runs in its own process (as in bench:lambda); the
 * bench then runs BENCH_AB_BLOCKS blocks, each a raw RS256 signature timed BENCH_AB_N times and
 * the token event invoked BENCH_AB_N times in every process, rotating which process goes first.
 * Per block and process: CPU beyond the signature = median invocation CPU - median signature
 * CPU. The figure to read is the median over blocks of each bundle's paired difference from
 * the first bundle: neighbouring blocks share the machine's state, so drift cancels. On
 * 2026-11-25 two copies of one bundle differed by 0 µs and the block-to-block spread was
 * +-20 µs, yet a 3 µs change showed in 19 of 24 blocks.
 *
 * @example
 *   git stash && npm run build && rm -rf dist/ab-a && cp -r dist/lambda dist/ab-a && git stash pop
 *   npm run build && rm -rf dist/ab-b && cp -r dist/lambda dist/ab-b
 *   BENCH_AB="dist/ab-a dist/ab-b" npm run bench:lambda-ab
 *
 * Then BENCH_AB_COLD_STARTS fresh processes per bundle, interleaved the same way, each
 * importing its bundle and answering the token event (bench:lambda's cold-start probe): the
 * median over pairs of each bundle's import + first answer minus the first bundle's.
 *
 * Keep the copies under dist/ so the modules left out of the bundle (infra/build.ts) resolve.
 * Environment: BENCH_AB (bundle directories, default dist/lambda), BENCH_AB_BLOCKS (16),
 * BENCH_AB_N (150), BENCH_AB_COLD_STARTS (10; 0 for none), BENCH_AB_SCENARIO
 * (clientCredentials, or jwks for the warm blocks: its CPU beyond the same raw signature).
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Child } from "./support/child.js";
import { machine, startStack, stopOnSignal } from "./support/stack.js";
import { clientCredentialsEvent, coldStart, httpApiEvent } from "./support/cold-start.js";
import type { InvocationStats } from "./support/lambda-handler-server.js";
import { startLambdaHandler } from "./support/lambda-handler.js";

const DIRS = (process.env.BENCH_AB ?? "dist/lambda").split(/\s+/).filter(Boolean);
const BLOCKS = Number(process.env.BENCH_AB_BLOCKS ?? 16);
const N = Number(process.env.BENCH_AB_N ?? 150);
const COLD_STARTS = Number(process.env.BENCH_AB_COLD_STARTS ?? 10);
const SCENARIO = process.env.BENCH_AB_SCENARIO ?? "clientCredentials";
if (SCENARIO !== "clientCredentials" && SCENARIO !== "jwks") throw new Error(`BENCH_AB_SCENARIO must be clientCredentials or jwks, not ${SCENARIO}`);
const AUDIENCE = "https://api.bench.example";
/** About the signing input of a real token (its length minus the signature). */
const SIGNED_BYTES = 560;

async function main(): Promise<void> {
  for (const dir of DIRS) if (!existsSync(`${dir}/index.mjs`)) throw new Error(`${dir}/index.mjs does not exist (npm run build, then copy dist/lambda)`);
  const host = machine();
  const stack = await startStack();
  const handlers: Child<{ pid: number }>[] = [];
  stopOnSignal(async () => {
    for (const h of handlers) await h.stop();
    await stack.stop();
  });
  try {
    const url = stack.issuer.ready.url;
    const client = await stack.issuer.call<{ clientId: string; clientSecret: string }>("createClient", {
      name: "bench-lambda-ab",
      scopes: ["read"],
      audiences: [AUDIENCE],
      auth: "secret",
    });
    const tokenEvent = clientCredentialsEvent(client, AUDIENCE);
    // The warm blocks time SCENARIO's event; cold starts always answer the token event.
    const event = SCENARIO === "jwks" ? httpApiEvent("GET", "/.well-known/jwks.json") : tokenEvent;
    for (const dir of DIRS) {
      handlers.push(
        await startLambdaHandler(`${dir}/index.mjs`, {
          ...stack.storageEnv,
          LATCHKEY_ISSUER: url,
          LATCHKEY_LOG_LEVEL: "info", // as deployed: the records are written
        }),
      );
    }
    // Warm-up: JIT, caches (as a warm instance).
    for (const h of handlers) {
      await h.call("invoke", { event, count: 1500 });
      await h.call("rawSign", { count: 300, form: "sync", bytes: SIGNED_BYTES });
    }
    const beyond: number[][] = DIRS.map(() => []);
    for (let b = 0; b < BLOCKS; b++) {
      for (let i = 0; i < handlers.length; i++) {
        const which = (i + b) % handlers.length;
        const h = handlers[which]!;
        const raw = await h.call<InvocationStats>("rawSign", { count: N, form: "sync", bytes: SIGNED_BYTES });
        const token = await h.call<InvocationStats>("invoke", { event, count: N });
        if (token.firstFailure) throw new Error(`${DIRS[which]}: ${token.firstFailure}`);
        beyond[which]![b] = token.cpuMicros.p50 - raw.cpuMicros.p50;
      }
    }
    const cold: number[][] = DIRS.map(() => []);
    for (let b = 0; b < COLD_STARTS; b++) {
      for (let i = 0; i < DIRS.length; i++) {
        const which = (i + b) % DIRS.length;
        const run = await coldStart(resolve(`${DIRS[which]}/index.mjs`), { ...stack.storageEnv, LATCHKEY_ISSUER: url }, tokenEvent);
        if (run.statusCode !== 200) throw new Error(`${DIRS[which]}: cold start answered ${run.statusCode}: ${run.body}`);
        cold[which]![b] = run.importAndFirstEventMs;
      }
    }
    const out = {
      bench: `Lambda ${SCENARIO} path, built bundles side by side (paired blocks)`,
      machine: host,
      blocks: BLOCKS,
      invocationsPerBlock: N,
      bundles: DIRS.map((dir, i) => ({
        dir,
        cpuBeyondRawSignMicros: { medianOfBlocks: median(beyond[i]!), blocks: beyond[i] },
        ...(i > 0
          ? { pairedDifferenceFromFirstMicros: pairedDifference(beyond[i]!, beyond[0]!) }
          : {}),
        ...(COLD_STARTS > 0
          ? {
              coldStartMs: { medianOfRuns: median(cold[i]!), runs: cold[i] },
              ...(i > 0 ? { coldStartPairedDifferenceFromFirstMs: pairedDifference(cold[i]!, cold[0]!) } : {}),
            }
          : {}),
      })),
    };
    process.stdout.write(JSON.stringify(out, null, 2) + "\n");
  } finally {
    for (const h of handlers) await h.stop();
    await stack.stop();
  }
}

function pairedDifference(values: number[], base: number[]) {
  const diffs = values.map((v, b) => v - base[b]!);
  return { median: median(diffs), blocksBelowZero: diffs.filter((d) => d < 0).length, blocksAboveZero: diffs.filter((d) => d > 0).length, sorted: [...diffs].sort((a, b) => a - b) };
}

function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  return v.length ? v[Math.floor((v.length - 1) / 2)]! : 0;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
