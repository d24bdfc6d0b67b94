/**
 * Child process: the built router bundle's Lambda handler (`npm run build` ->
 * dist/lambda/index.mjs, or the bench's own bundle), invoked in-process with API Gateway HTTP
 * API (payload 2.0) events, one at a time as a Lambda instance receives them. No HTTP server:
 * what is measured is what a Lambda invocation pays for. A raw RS256 `crypto.sign` is measured
 * in this same process, so the ratio of the two compares like with like.
 *
 * CPU time is `process.cpuUsage()` (all threads: the libuv pool that signs counts too) around
 * each invocation; wall time is `performance.now()` around it.
 *
 * Env: BENCH_LAMBDA_ENTRY (the bundle), plus the router's own environment.
 * Calls:
 * - `invoke` { event, count, chain? } -> InvocationStats. With `chain: "refresh_token"` each
 *   invocation sends `grant_type=refresh_token&refresh_token=<t>` where t is the previous
 *   response's refresh token (the first comes in `chain.token`).
 * - `rawSign` { count, form: "callback" | "sync", bytes } -> InvocationStats for bare signatures.
 * - `memory` -> process.memoryUsage()
 * - `profile` { event, count, file } -> runs `invoke` under the V8 CPU profiler (node:inspector,
 *   50 µs sampling) and writes the .cpuprofile to `file`: one scenario's profile, without the
 *   other scenarios, the emulators or the bench's own set-up in it.
 */
import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { pathToFileURL } from "node:url";
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { serveParent } from "./child.js";
import { percentile } from "./load.js";

export interface InvocationStats {
  count: number;
  statuses: Record<string, number>;
  cpuMicros: { mean: number; p50: number; p99: number };
  wallMicros: { mean: number; p50: number; p99: number };
  /** Mean response body length (bytes). */
  responseBytes: number;
  /**
   * Mean bytes the invocation wrote to stdout (its log lines and metric records: what
   * CloudWatch Logs ingests on Lambda); undefined when stdout is not a pipe or socket.
   */
  stdoutBytes?: number;
  /** First non-2xx answer, if any (truncated). */
  firstFailure?: string;
}

type LambdaResult = { statusCode: number; body?: string; headers?: Record<string, string> };
type Handler = (event: unknown, context: object) => Promise<LambdaResult>;

interface InvokeRequest {
  event: { body?: string; requestContext: { requestId: string } } & Record<string, unknown>;
  count: number;
  chain?: { field: "refresh_token"; token: string };
}

async function main(): Promise<void> {
  const entry = process.env.BENCH_LAMBDA_ENTRY;
  if (!entry) throw new Error("BENCH_LAMBDA_ENTRY is required");
  const { handler } = (await import(pathToFileURL(entry).href)) as { handler: Handler };
  let key: KeyObject | undefined;
  let sequence = 0;

  const calls = {
    invoke: async (payload: unknown) => {
      const { event, count, chain } = payload as InvokeRequest;
      let token = chain?.token;
      const stats = await timed(count, async () => {
        // A shallow copy with a fresh request id (a microsecond, not worth excluding from the timing).
        const e = { ...event, requestContext: { ...event.requestContext, requestId: `bench-${++sequence}` } };
        if (chain) e.body = `grant_type=refresh_token&refresh_token=${encodeURIComponent(token!)}`;
        const res = await handler(e, { awsRequestId: e.requestContext.requestId });
        if (chain && res.statusCode === 200) token = (JSON.parse(res.body!) as Record<string, string>)[chain.field];
        return res;
      });
      return chain ? { ...stats, lastToken: token } : stats;
    },
    rawSign: async (payload: unknown) => {
      const { count, form, bytes } = payload as { count: number; form: "callback" | "sync"; bytes: number };
      key ??= generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
      const k = key;
      const input = Buffer.from("e".repeat(bytes));
      return timed(count, async () => {
        const sig =
          form === "sync"
            ? sign("sha256", input, k)
            : await new Promise<Buffer>((resolve, reject) => sign("sha256", input, k, (err, s) => (err ? reject(err) : resolve(s))));
        return { statusCode: 200, body: sig.toString("base64url") };
      });
    },
    memory: () => process.memoryUsage(),
    profile: async (payload: unknown) => {
      const { file, ...request } = payload as InvokeRequest & { file: string };
      const session = new Session();
      session.connect();
      await session.post("Profiler.enable");
      await session.post("Profiler.setSamplingInterval", { interval: 50 });
      await session.post("Profiler.start");
      const stats = await calls.invoke(request);
      const { profile } = await session.post("Profiler.stop");
      session.disconnect();
      writeFileSync(file, JSON.stringify(profile));
      return stats;
    },
  };
  serveParent({ pid: process.pid }, calls);
}

/** Runs `once` `count` times in sequence, timing each. */
async function timed(count: number, once: () => Promise<LambdaResult>): Promise<InvocationStats> {
  const cpu: number[] = [];
  const wall: number[] = [];
  const statuses: Record<string, number> = {};
  let bytes = 0;
  let firstFailure: string | undefined;
  const stdoutBefore = stdoutBytesWritten();
  for (let i = 0; i < count; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const res = await once();
    const t1 = performance.now();
    const c1 = process.cpuUsage(c0);
    cpu.push(c1.user + c1.system);
    wall.push((t1 - t0) * 1000);
    statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
    bytes += res.body?.length ?? 0;
    if ((res.statusCode < 200 || res.statusCode > 299) && res.statusCode !== 304 && firstFailure === undefined) {
      firstFailure = `${res.statusCode} ${String(res.body).slice(0, 300)}`;
    }
  }
  const stdoutAfter = stdoutBytesWritten();
  return {
    count,
    statuses,
    cpuMicros: summary(cpu),
    wallMicros: summary(wall),
    responseBytes: count ? Math.round(bytes / count) : 0,
    ...(stdoutBefore !== undefined && stdoutAfter !== undefined && count ? { stdoutBytes: Math.round((stdoutAfter - stdoutBefore) / count) } : {}),
    ...(firstFailure ? { firstFailure } : {}),
  };
}

/** Bytes written to stdout so far, where it is a pipe or socket (net.Socket counts them). */
function stdoutBytesWritten(): number | undefined {
  const written = (process.stdout as { bytesWritten?: unknown }).bytesWritten;
  return typeof written === "number" ? written : undefined;
}

function summary(values: number[]): { mean: number; p50: number; p99: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = values.reduce((a, b) => a + b, 0) / (values.length || 1);
  return { mean: Math.round(mean), p50: Math.round(percentile(sorted, 50)), p99: Math.round(percentile(sorted, 99)) };
}

main().catch((err: unknown) => {
  process.stderr.write(`lambda handler bench child: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
