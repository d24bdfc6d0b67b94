/**
 * `npm run bench:local-instructions`: the local server's client_credentials token in machine
 * instructions (valgrind's callgrind), Latchkey against bench:clients' floor server (node:http,
 * one HMAC, one signature, JSON), split by thread: the event loop's work, the optimizing
 * compiler's share of it, and the signature on libuv's pool. Instructions do not move with the
 * shared host's load, which CPU time here does by 10-30% from minute to minute (issue 15).
 *
 * Each server is bundled (esbuild, packages left external) into dist/bench/ and runs under
 * `valgrind --tool=callgrind` with V8 on one thread (`--single-threaded`, so the optimizing
 * compiler runs on the event loop's thread, where it is counted apart). The bench sends
 * WARM requests (4 at a time, keep-alive), zeroes the counters (`callgrind_control -z`), sends
 * N more and dumps them (`callgrind_control -d`): per token = the dump's instructions over N.
 * The signature on the pool is the same work in both and cancels in the difference.
 *
 * Read `eventLoopWithoutCompiler`. The compiler's share is not what a real run pays: events
 * driven by the wall clock (the keyring check every 10 s) run node:http and stream code on
 * client-side objects and the token path down its waiting branch, which deoptimizes functions
 * the server path uses; valgrind runs ~50x slower, so they come ~50x as often per token. (In a 20 s run without valgrind on 2026-12-07, `--trace-opt` summed
 * 8.7 µs of compile time per token for Latchkey and 3.0 µs for the floor.)
 *
 * What it does not see: kernel work, and what the code's size costs in caches and TLBs. On
 * 2026-12-07 Latchkey's event loop without the compiler was 1.18x the floor's in instructions
 * while its main-thread CPU time in bench:clients was ~1.8x (bench/README.md);
 * `BENCH_INSTR_CACHE_SIM=1` adds valgrind's simulated cache misses per token (I1, D1) for that
 * side of it, at several times the run time.
 *
 * Environment: BENCH_INSTR_WARM (2000), BENCH_INSTR_N (500), BENCH_INSTR_CACHE_SIM.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { machine, startStack, stopOnSignal } from "./support/stack.js";
import { skippedWithoutValgrind } from "./support/valgrind.js";

const WARM = Number(process.env.BENCH_INSTR_WARM ?? 2000);
const N = Number(process.env.BENCH_INSTR_N ?? 500);
const CACHE_SIM = process.env.BENCH_INSTR_CACHE_SIM === "1";
const AUDIENCE = "https://api.bench.example";
const BODY = new URLSearchParams({ grant_type: "client_credentials", scope: "read", resource: AUDIENCE }).toString();
const SERVERS = { latchkey: "bench/support/latchkey-server.ts", floor: "bench/support/floor-server.ts" } as const;

/** One POST /token on a keep-alive agent; resolves with the status. */
function token(url: string, agent: Agent, authorization: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = new URL("/token", url);
    const req = request(
      { host: target.hostname, port: target.port, path: target.pathname, method: "POST", agent, headers: { "content-type": "application/x-www-form-urlencoded", "content-length": Buffer.byteLength(BODY), authorization } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(BODY);
  });
}

/** `count` tokens, four at a time; every answer must be a 200. */
async function tokens(url: string, authorization: string, count: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  let left = count;
  let refused = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (left-- > 0) if ((await token(url, agent, authorization)) !== 200) refused++;
    }),
  );
  agent.destroy();
  if (refused) throw new Error(`${refused} of ${count} token requests were not answered 200`);
}

/** Instructions (and simulated cache misses) per event, by where they ran, from a callgrind dump. */
function perToken(dump: string): Record<string, number> {
  const lines = execFileSync("callgrind_annotate", ["--inclusive=yes", "--threshold=100", dump], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 }).split("\n");
  const events = /^Events shown:\s+(.*)$/m.exec(lines.join("\n"))![1]!.trim().split(/\s+/);
  const row = (pattern: RegExp): number[] => {
    const line = lines.find((l) => pattern.test(l));
    if (!line) return events.map(() => 0);
    return line.trim().split(/\s+\(\s*[\d.]+%\)\s*|\s+/).filter((x) => /^[\d,]+$/.test(x)).slice(0, events.length).map((x) => Number(x.replace(/,/g, "")));
  };
  const total = row(/PROGRAM TOTALS/);
  const pool = row(/threadpool\.c:worker \[/);
  const compiler = row(/Compiler::CompileOptimized\(/);
  const at = (values: number[], event: string) => values[events.indexOf(event)] ?? 0;
  const out: Record<string, number> = {
    eventLoopInstructions: Math.round((at(total, "Ir") - at(pool, "Ir")) / N),
    ofWhichOptimizingCompiler: Math.round(at(compiler, "Ir") / N),
    signatureOnPoolInstructions: Math.round(at(pool, "Ir") / N),
  };
  out.eventLoopWithoutCompiler = out.eventLoopInstructions! - out.ofWhichOptimizingCompiler!;
  if (events.includes("I1mr")) {
    out.eventLoopI1Misses = Math.round((at(total, "I1mr") - at(pool, "I1mr")) / N);
    out.eventLoopD1Misses = Math.round((at(total, "D1mr") + at(total, "D1mw") - at(pool, "D1mr") - at(pool, "D1mw")) / N);
  }
  return out;
}

async function measure(bundle: string, env: Record<string, string>, authorization: string, dumps: string): Promise<Record<string, number>> {
  const proc = spawn(
    "valgrind",
    ["--tool=callgrind", "--smc-check=all-non-file", ...(CACHE_SIM ? ["--cache-sim=yes"] : []), `--callgrind-out-file=${dumps}/callgrind.%p`, process.execPath, "--single-threaded", "--predictable-gc-schedule", bundle],
    { stdio: ["ignore", "ignore", "pipe", "ipc"], env: { PATH: process.env.PATH ?? "", ...env } },
  );
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => (stderr += d));
  try {
    const ready = await new Promise<{ url: string }>((resolve, reject) => {
      proc.on("message", (m: { ready?: { url: string } }) => m.ready && resolve(m.ready));
      proc.once("exit", (code) => reject(new Error(`${bundle} exited ${code} under valgrind: ${stderr.slice(-1500)}`)));
    });
    await tokens(ready.url, authorization, WARM);
    execFileSync("callgrind_control", ["-z", String(proc.pid)], { stdio: "ignore" });
    await tokens(ready.url, authorization, N);
    execFileSync("callgrind_control", ["-d", String(proc.pid)], { stdio: "ignore" });
    const dump = readdirSync(dumps).filter((f) => f.startsWith(`callgrind.${proc.pid}.`)).sort().at(-1);
    if (!dump) throw new Error(`callgrind wrote no dump for ${bundle}`);
    return perToken(join(dumps, dump));
  } finally {
    proc.kill("SIGKILL");
  }
}

async function main(): Promise<void> {
  if (skippedWithoutValgrind("local server in instructions")) return;
  const outdir = "dist/bench";
  mkdirSync(outdir, { recursive: true });
  const bundles: Record<string, string> = {};
  for (const [name, entry] of Object.entries(SERVERS)) {
    bundles[name] = join(outdir, `${name}-server.mjs`);
    await build({ entryPoints: [entry], bundle: true, platform: "node", format: "esm", packages: "external", outfile: bundles[name], logLevel: "warning" });
  }
  const host = machine();
  const stack = await startStack();
  stopOnSignal(() => stack.stop());
  const dumps = join(tmpdir(), `latchkey-callgrind-${process.pid}`);
  mkdirSync(dumps, { recursive: true });
  try {
    const client = await stack.issuer.call<{ clientId: string; clientSecret: string }>("createClient", { name: "bench-local-instructions", scopes: ["read"], audiences: [AUDIENCE], auth: "secret" });
    const authorization = "Basic " + Buffer.from(`${client.clientId}:${client.clientSecret}`).toString("base64");
    // The floor accepts the same client and secret, so both answer the same request.
    const env = { ...stack.storageEnv, BENCH_CLIENT_ID: client.clientId, BENCH_CLIENT_SECRET: client.clientSecret, BENCH_AUDIENCE: AUDIENCE };
    const latchkey = await measure(bundles.latchkey!, env, authorization, dumps);
    const floor = await measure(bundles.floor!, env, authorization, dumps);
    const report = {
      bench: "local server client_credentials in instructions (callgrind): latchkey vs the floor server",
      machine: host,
      node: process.version,
      how: `${WARM} tokens to warm up, then ${N} counted (callgrind_control -z / -d), 4 at a time on keep-alive connections; V8 --single-threaded`,
      perToken: { latchkey, floor },
      latchkeyBeyondFloor: Object.fromEntries(Object.keys(latchkey).map((k) => [k, latchkey[k]! - (floor[k] ?? 0)])),
      latchkeyOverFloor: { eventLoopWithoutCompiler: Math.round((100 * latchkey.eventLoopWithoutCompiler!) / floor.eventLoopWithoutCompiler!) / 100 },
    };
    process.stdout.write(JSON.stringify(report, null, 2) + "\n");
  } finally {
    rmSync(dumps, { recursive: true, force: true });
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
