/**
 * `npm run bench:lambda-instructions`: the Lambda token path in machine instructions, counted
 * by valgrind's callgrind, for one or more built bundles. Instructions do not depend on what
 * else the shared machine is doing, which wall and CPU time here do by +-20 µs from block to
 * block (bench/README.md), so a change of a few µs shows. Issue 15.
 *
 * Each bundle's handler runs in a fresh node under `valgrind --tool=callgrind` (V8 on one
 * thread, `--single-threaded`, and `--predictable-gc-schedule`): it imports the bundle, answers WARM events, then N more; a
 * second run stops after the WARM ones, and the difference over N is the instructions per
 * invocation (the import, the warm-up and node's own start cancel). A bare RS256 `crypto.sign`
 * of a token's size is counted the same way and subtracted: what is left is the handler's own
 * user-space work. Each figure is the median of REPEATS pairs of runs: JIT timing still moves
 * a total by up to ~1.6% (~100k of ~7M instructions) from run to run. valgrind comes from
 * Debian's package; without it the bench says so.
 *
 * For side-by-side comparisons of the handler's code, not for the 1.15x target: callgrind
 * counts no kernel work (the records' stdout write is mostly that), nothing of caches and
 * TLBs, and valgrind's CPU lacks AVX-512, so OpenSSL's RSA runs another code path than it does
 * natively on this machine.
 *
 * @example
 *   npm run build && npm run bench:lambda-instructions
 *   BENCH_AB="dist/ab-a dist/ab-b" npm run bench:lambda-instructions   # two builds side by side
 *
 * Environment: BENCH_AB (bundle directories, default dist/lambda), BENCH_INSTR_WARM (200),
 * BENCH_INSTR_N (200), BENCH_INSTR_REPEATS (2), BENCH_INSTR_SCENARIO (clientCredentials or jwks).
 */
import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { machine, startStack, stopOnSignal } from "./support/stack.js";
import { skippedWithoutValgrind } from "./support/valgrind.js";
import { clientCredentialsEvent, httpApiEvent } from "./support/cold-start.js";

const run = promisify(execFile);
const DIRS = (process.env.BENCH_AB ?? "dist/lambda").split(/\s+/).filter(Boolean);
const WARM = Number(process.env.BENCH_INSTR_WARM ?? 200);
const N = Number(process.env.BENCH_INSTR_N ?? 200);
const REPEATS = Number(process.env.BENCH_INSTR_REPEATS ?? 2);
const SCENARIO = process.env.BENCH_INSTR_SCENARIO ?? "clientCredentials";
const AUDIENCE = "https://api.bench.example";
/** About the signing input of a real token (its length minus the signature). */
const SIGNED_BYTES = 560;

/** Answers `count` events (or signs `count` times) and exits; every answer must be a 200. */
const PROBE = `
const [mode, target, payload, count] = process.argv.slice(1);
let ok = 0;
if (mode === "sign") {
  const { createPrivateKey, sign } = await import("node:crypto");
  const key = createPrivateKey(process.env.BENCH_SIGNING_KEY);
  const input = Buffer.from("e".repeat(Number(payload)));
  for (let i = 0; i < Number(count); i++) if (sign("sha256", input, key).length === 256) ok++;
} else {
  const { handler } = await import(target);
  const event = JSON.parse(payload);
  for (let i = 0; i < Number(count); i++) {
    const res = await handler({ ...event, requestContext: { ...event.requestContext, requestId: "i-" + i } }, { awsRequestId: "i-" + i });
    if (res.statusCode === 200) ok++;
  }
}
if (ok !== Number(count)) { console.error("answered " + ok + " of " + count); process.exit(1); }
`;

async function instructions(args: string[], env: Record<string, string>): Promise<number> {
  const { stderr } = await run(
    "valgrind",
    ["--tool=callgrind", "--smc-check=all-non-file", "--callgrind-out-file=/dev/null", process.execPath, "--single-threaded", "--predictable-gc-schedule", "--input-type=module", "-e", PROBE, ...args],
    { env: { PATH: process.env.PATH ?? "", ...env }, maxBuffer: 16 * 1024 * 1024, timeout: 600_000 },
  );
  const collected = /Collected : (\d+)/.exec(stderr);
  if (!collected) throw new Error(`callgrind printed no count: ${stderr.slice(-500)}`);
  return Number(collected[1]);
}

/** Instructions per item: (WARM + N) - WARM, over N, the median of REPEATS pairs. */
async function perItem(args: (count: number) => string[], env: Record<string, string>): Promise<{ median: number; samples: number[] }> {
  const samples: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const base = await instructions(args(WARM), env);
    const more = await instructions(args(WARM + N), env);
    samples.push(Math.round((more - base) / N));
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: sorted[Math.floor((sorted.length - 1) / 2)]!, samples };
}

async function main(): Promise<void> {
  if (skippedWithoutValgrind("Lambda path in instructions")) return;
  if (SCENARIO !== "clientCredentials" && SCENARIO !== "jwks") throw new Error(`BENCH_INSTR_SCENARIO must be clientCredentials or jwks, not ${SCENARIO}`);
  for (const dir of DIRS) if (!existsSync(`${dir}/index.mjs`)) throw new Error(`${dir}/index.mjs does not exist (npm run build, then copy dist/lambda)`);
  const host = machine();
  const stack = await startStack();
  stopOnSignal(() => stack.stop());
  try {
    const client = await stack.issuer.call<{ clientId: string; clientSecret: string }>("createClient", { name: "bench-instructions", scopes: ["read"], audiences: [AUDIENCE], auth: "secret" });
    const event = SCENARIO === "jwks" ? httpApiEvent("GET", "/.well-known/jwks.json") : clientCredentialsEvent(client, AUDIENCE);
    const env = { ...stack.storageEnv, LATCHKEY_ISSUER: stack.issuer.ready.url, LATCHKEY_LOG_LEVEL: "info" };
    // One key for every run: generating one costs a varying number of instructions (prime search).
    const signingKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const sign = await perItem((count) => ["sign", "", String(SIGNED_BYTES), String(count)], { BENCH_SIGNING_KEY: signingKey });
    const bundles = [];
    for (const dir of DIRS) {
      const entry = pathToFileURL(resolve(dir, "index.mjs")).href;
      const invocation = await perItem((count) => ["handler", entry, JSON.stringify(event), String(count)], env);
      bundles.push({ dir, instructionsPerInvocation: invocation, beyondRawSign: invocation.median - sign.median });
    }
    const first = bundles[0]!.instructionsPerInvocation.median;
    const out = {
      bench: `Lambda ${SCENARIO} path in instructions (callgrind), built bundles side by side`,
      machine: host,
      node: process.version,
      how: `per item = (instructions of ${WARM} + ${N} items - of ${WARM}) / ${N}, median of ${REPEATS} pairs of fresh processes`,
      rawRs256SignInstructions: sign,
      bundles: bundles.map((b) => ({ ...b, differenceFromFirst: b.instructionsPerInvocation.median - first })),
    };
    process.stdout.write(JSON.stringify(out, null, 2) + "\n");
  } finally {
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
