/**
 * `.latchkey/local.json`: written by `npm start`, read by the admin CLI, so `npx latchkey ...`
 * in the same directory acts on the running instance. One instance per directory: a second
 * `npm start` refuses and names the running one instead of taking the file over.
 *
 * The file holds the emulators' local credentials, so it is private to its owner (0600).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const LOCAL_STATE_FILE = join(".latchkey", "local.json");

export interface LocalState {
  pid: number;
  issuer: string;
  /** Environment the CLI needs to act on the instance; absent while it is still starting. */
  env?: Record<string, string>;
}

/** The state file, if there is one (whether or not its process still runs). */
export function readLocalState(file = LOCAL_STATE_FILE): LocalState | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as LocalState;
  } catch {
    return undefined; // half-written by a crashed start: nobody owns it
  }
}

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export class LocalInstanceRunning extends Error {
  constructor(readonly running: LocalState) {
    super(
      `another local instance is running from this directory: ${running.issuer} (pid ${running.pid}). ` +
        `Stop it first (kill ${running.pid}), or start this one from another directory.`,
    );
  }
}

/**
 * Claims the directory for this process: creates the file exclusively (O_EXCL), so two
 * starts racing cannot both win. A file left by a process that is gone is taken over.
 */
export function claimLocalState(state: LocalState, file = LOCAL_STATE_FILE): void {
  mkdirSync(join(file, ".."), { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(file, JSON.stringify(state, null, 2), { flag: "wx", mode: 0o600 });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const existing = readLocalState(file);
    if (existing && existing.pid !== state.pid && isRunning(existing.pid)) throw new LocalInstanceRunning(existing);
    rmSync(file, { force: true });
  }
  throw new Error(`could not claim ${file}`);
}

/** Rewrites this process's state (after the claim), e.g. once the instance is ready. */
export function publishLocalState(state: LocalState, file = LOCAL_STATE_FILE): void {
  writeFileSync(file, JSON.stringify(state, null, 2), { mode: 0o600 });
}

/** Removes the file if this process owns it; never another instance's. */
export function releaseLocalState(pid = process.pid, file = LOCAL_STATE_FILE): void {
  if (readLocalState(file)?.pid === pid) rmSync(file, { force: true });
}
