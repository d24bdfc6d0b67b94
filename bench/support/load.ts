/**
 * The load generator and the figures every bench reports. autocannon drives the server from
 * this process on 127.0.0.1; latencies are taken from each response (sub-millisecond, which
 * autocannon's own integer histogram cannot show) and requests/s is completed responses over
 * the wall time of the run. Server CPU per request is the server process's own CPU time over
 * the run divided by the responses it gave.
 *
 * @example
 *   const run = await measure(server, { url: `${server.ready.url}/.well-known/jwks.json`, seconds: 5 });
 *   run.requestsPerSecond; run.latencyMs.p99; run.serverCpuMicrosPerRequest;
 */
import { createRequire } from "node:module";
import { generateKeyPairSync, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Child } from "./child.js";

const require = createRequire(import.meta.url);

/** The parts of autocannon's API a bench uses (it ships no types). */
export interface LoadRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Called before each request is sent; return the request to send. */
  setupRequest?: (req: LoadRequest, context: Record<string, unknown>) => LoadRequest | undefined;
  onResponse?: (status: number, body: string, context: Record<string, unknown>) => void;
}

export interface LoadOptions {
  url: string;
  seconds: number;
  connections?: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  requests?: LoadRequest[];
}

export interface LoadResult {
  seconds: number;
  requests: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number };
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
}

export interface ServerRun extends LoadResult {
  serverCpuMs: number;
  serverCpuMicrosPerRequest: number;
  /**
   * The server's main thread (its event loop) alone, where Linux reports it: the JavaScript a
   * server runs per request, without the thread pool's signatures (10 ms clock ticks: ~0.5 µs
   * per request over a few thousand requests).
   */
  mainThreadCpuMs?: number;
}

type AutocannonInstance = {
  on(event: "response", fn: (client: unknown, status: number, bytes: number, ms: number) => void): void;
  on(event: "done", fn: (result: { errors: number; timeouts: number }) => void): void;
};
type Autocannon = (opts: object, cb?: (err: Error | null, result: unknown) => void) => AutocannonInstance;

/** Runs autocannon for a bounded time and returns what it saw. */
export function load(opts: LoadOptions): Promise<LoadResult> {
  const autocannon = require("autocannon") as Autocannon;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const instance = autocannon(
      {
        url: opts.url,
        connections: opts.connections ?? 16,
        pipelining: 1,
        duration: opts.seconds,
        timeout: 10,
        method: opts.method ?? "GET",
        headers: opts.headers,
        body: opts.body,
        requests: opts.requests,
      },
      (err) => {
        if (err) reject(err);
      },
    );
    instance.on("response", (_client, status, _bytes, ms) => {
      latencies.push(ms);
      statuses[status] = (statuses[status] ?? 0) + 1;
    });
    instance.on("done", (result) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      latencies.sort((a, b) => a - b);
      resolve({
        seconds: round(seconds, 2),
        requests: latencies.length,
        requestsPerSecond: round(latencies.length / seconds, 0),
        latencyMs: {
          p50: round(percentile(latencies, 50), 2),
          p99: round(percentile(latencies, 99), 2),
          max: round(latencies.at(-1) ?? 0, 2),
        },
        statuses,
        errors: result.errors,
        timeouts: result.timeouts,
      });
    });
  });
}

/** `load` against a server child, adding the server process's CPU time per response. */
export async function measure(server: Child<unknown>, opts: LoadOptions): Promise<ServerRun> {
  const before = await server.cpu();
  const mainBefore = mainThreadCpuMicros(server.pid);
  const result = await load(opts);
  const used = (await server.cpu()) - before;
  const mainAfter = mainThreadCpuMicros(server.pid);
  return {
    ...result,
    serverCpuMs: round(used / 1000, 1),
    serverCpuMicrosPerRequest: result.requests ? round(used / result.requests, 0) : 0,
    ...(mainBefore !== undefined && mainAfter !== undefined ? { mainThreadCpuMs: round((mainAfter - mainBefore) / 1000, 1) } : {}),
  };
}

/** utime + stime of a process's main thread (its tid is its pid), µs; undefined off Linux. */
function mainThreadCpuMicros(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * (1_000_000 / CLOCK_TICKS_PER_SECOND);
}

/** USER_HZ, which Linux reports /proc times in: 100 on every architecture Node supports. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * The raw RS256 signing rate of this machine: `crypto.sign` in its callback form (runs on the
 * libuv thread pool, so it uses both cores), RSA-2048, with enough signatures in flight to keep
 * the pool busy. Also reports this process's CPU time per signature, the floor under any
 * issuer's CPU per token.
 */
export async function rs256SignRate(seconds = 2): Promise<{ signaturesPerSecond: number; cpuMicrosPerSignature: number; inFlight: number }> {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const input = Buffer.from("eyJhbGciOiJSUzI1NiJ9." + "x".repeat(300));
  const inFlight = 2 * Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  const deadline = performance.now() + seconds * 1000;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let done = 0;
  await Promise.all(
    Array.from(
      { length: inFlight },
      () =>
        new Promise<void>((resolve, reject) => {
          const next = () => {
            if (performance.now() >= deadline) return resolve();
            sign("sha256", input, privateKey, (err) => {
              if (err) return reject(err);
              done++;
              next();
            });
          };
          next();
        }),
    ),
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    signaturesPerSecond: round(done / elapsed, 0),
    cpuMicrosPerSignature: round((cpu.user + cpu.system) / done, 0),
    inFlight,
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** A target next to the figure it judges. */
export interface Verdict {
  measured: number | boolean | string;
  target: string;
  pass: boolean;
}

export function verdict(measured: number | boolean | string, target: string, pass: boolean): Verdict {
  return { measured, target, pass };
}
