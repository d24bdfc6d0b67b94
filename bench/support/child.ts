/**
 * Benchmark servers run in their own Node processes, so their CPU time is theirs alone and
 * the load generator's work never counts against them. The parent talks to each child over
 * the IPC channel: the child announces `ready` (with whatever the parent needs, e.g. its URL)
 * and answers calls such as `cpu` (its own `process.cpuUsage()`).
 *
 * @example
 *   const server = await startChild("bench/support/latchkey-server.ts", env);
 *   const before = await server.cpu();
 *   // ... load ...
 *   const usedMicros = (await server.cpu()) - before;
 *   await server.stop();
 */
import { spawn, type ChildProcess } from "node:child_process";

type Handler = (payload: unknown) => unknown;

interface CallMessage {
  id: number;
  call: string;
  payload: unknown;
}
interface ReplyMessage {
  id: number;
  result?: unknown;
  error?: string;
}

export interface Child<Ready> {
  pid: number;
  ready: Ready;
  /** User + system CPU time of the child process so far, in microseconds. */
  cpu(): Promise<number>;
  call<T>(name: string, payload?: unknown): Promise<T>;
  stop(): Promise<void>;
}

/**
 * Spawns `node --import tsx <script>` with an IPC channel and waits for its `ready` message.
 * The child's stdout and stderr go to this process's stderr, so the bench's stdout stays one
 * JSON document.
 */
export async function startChild<Ready>(
  script: string,
  env: Record<string, string | undefined>,
  options: { timeoutMs?: number; nodeArgs?: string[]; discardStdout?: boolean } = {},
): Promise<Child<Ready>> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const proc = spawn(process.execPath, [...(options.nodeArgs ?? []), "--import", "tsx", script], {
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    env: { ...process.env, ...env },
  });
  // discardStdout: the child still writes every line into a pipe, as a Lambda's stdout is (so
  // what logging costs is measured), and this side drops them.
  if (options.discardStdout) proc.stdout?.resume();
  else proc.stdout?.pipe(process.stderr);
  proc.stderr?.pipe(process.stderr);
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let nextId = 1;

  const ready = await new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`${script} did not become ready within ${timeoutMs} ms`));
    }, timeoutMs);
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with code ${code} before it was ready`));
    });
    proc.on("message", (msg: { ready?: Ready } & Partial<ReplyMessage>) => {
      if (msg.ready !== undefined) {
        clearTimeout(timer);
        resolve(msg.ready);
        return;
      }
      if (typeof msg.id === "number") {
        const p = pending.get(msg.id);
        pending.delete(msg.id);
        if (msg.error !== undefined) p?.reject(new Error(msg.error));
        else p?.resolve(msg.result);
      }
    });
  });
  proc.removeAllListeners("exit");
  proc.once("exit", () => {
    for (const p of pending.values()) p.reject(new Error(`${script} exited`));
    pending.clear();
  });

  const call = <T>(name: string, payload?: unknown): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      proc.send({ id, call: name, payload } satisfies CallMessage);
    });

  return {
    pid: proc.pid!,
    ready,
    call,
    async cpu() {
      const usage = await call<{ user: number; system: number }>("cpu");
      return usage.user + usage.system;
    },
    stop: () => stopProcess(proc),
  };
}

function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => proc.kill("SIGKILL"), 5_000);
    proc.once("exit", () => {
      clearTimeout(force);
      resolve();
    });
    proc.kill("SIGTERM");
  });
}

/**
 * The child side: announce readiness and answer calls. `cpu` is always available.
 * The process exits on SIGTERM (after `onStop`) or when the parent goes away.
 */
export function serveParent(ready: unknown, handlers: Record<string, Handler> = {}, onStop?: () => Promise<void>): void {
  if (!process.send) throw new Error("this script is meant to be started by a bench (no IPC channel)");
  const all: Record<string, Handler> = { cpu: () => process.cpuUsage(), ...handlers };
  process.on("message", (msg: CallMessage) => {
    const handler = all[msg.call];
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown call ${msg.call}`);
        return handler(msg.payload);
      })
      .then(
        (result) => process.send!({ id: msg.id, result } satisfies ReplyMessage),
        (err: unknown) => process.send!({ id: msg.id, error: err instanceof Error ? err.message : String(err) }),
      );
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void (onStop?.() ?? Promise.resolve()).finally(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  process.once("disconnect", stop);
  process.send({ ready });
}
