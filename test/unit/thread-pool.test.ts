/**
 * `npm start` sizes libuv's thread pool to the machine's cores (functions/local/thread-pool.cjs):
 * the start script's own node flags, run on a probe instead of the server, give a process
 * with as many threads as one started with that size named outright. The thread counts come
 * from /proc, so this runs on Linux only.
 */
import { execFile, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, "../..");
const probe = join(repo, "test/support/pool-probe.ts");
const start = (JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { scripts: { start: string } }).scripts.start;
const expected = Math.max(2, availableParallelism());

/** The start script's command with the probe in place of the server's entry point. */
function startArgs(): string[] {
  const [command, ...args] = start.split(/\s+/);
  expect(command).toBe("node");
  expect(args.at(-1)).toBe("functions/local/main.ts");
  return [...args.slice(0, -1), probe];
}

/**
 * The probe's pool size and thread count. libuv starts all its pool threads at once, but a
 * process may hold a short-lived thread of its own at the moment of counting (seen once in
 * several runs on Node 22), so the count is the least of three runs: a stray thread only adds.
 */
async function probeWith(args: string[], env: Record<string, string | undefined>, cpus?: string): Promise<{ threads: number; size: string | null }> {
  const { UV_THREADPOOL_SIZE: _inherited, ...base } = process.env;
  const [file, argv] = cpus ? ["taskset", ["-c", cpus, process.execPath, ...args]] : [process.execPath, args];
  const runs = await Promise.all([0, 1, 2].map(async () => JSON.parse((await run(file, argv, { cwd: repo, env: { ...base, ...env } })).stdout) as { threads: number; size: string | null }));
  return { threads: Math.min(...runs.map((r) => r.threads)), size: runs[0]!.size };
}

function hasTaskset(): boolean {
  try {
    execFileSync("taskset", ["-c", "0", "true"]);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(process.platform !== "linux")("npm start's thread pool", () => {
  it("has one thread per core (at least 2), as if started with UV_THREADPOOL_SIZE set to that", async () => {
    const started = await probeWith(startArgs(), {});
    const named = await probeWith(["--import", "tsx", probe], { UV_THREADPOOL_SIZE: String(expected) });
    const larger = await probeWith(["--import", "tsx", probe], { UV_THREADPOOL_SIZE: String(expected + 3) });
    expect(started.size).toBe(String(expected));
    expect(started.threads).toBe(named.threads);
    // The counts do measure the pool: three more threads, three more in the process.
    expect(larger.threads - named.threads).toBe(3);
  }, 30_000);

  it.skipIf(!hasTaskset())("has 2 threads on one core, so a password hash never holds up every signature", async () => {
    const started = await probeWith(startArgs(), {}, "0");
    expect(started.size).toBe("2");
  }, 30_000);

  it("keeps an operator's own UV_THREADPOOL_SIZE", async () => {
    const started = await probeWith(startArgs(), { UV_THREADPOOL_SIZE: String(expected + 2) });
    const named = await probeWith(["--import", "tsx", probe], { UV_THREADPOOL_SIZE: String(expected + 2) });
    expect(started.size).toBe(String(expected + 2));
    expect(started.threads).toBe(named.threads);
  }, 30_000);
});
