/**
 * Starts the chosen storage backend once for the whole run and hands its endpoints to suites.
 * Also gives the run a directory where every worker leaves the lines the service wrote
 * (test/support/log-capture.ts); at the end, any secret in any of them fails the run.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startBackend, type BackendInfo } from "./backend.js";
import { findLeaks } from "./log-capture-scan.js";
import { GOOD_PASSWORD } from "./passwords.js";

declare module "vitest" {
  export interface ProvidedContext {
    backend: BackendInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const backend = await startBackend();
  if (backend.info.skipReason) {
    process.stderr.write(`\n[latchkey] integration tests SKIPPED on backend ${backend.info.name}: ${backend.info.skipReason}\n\n`);
  } else {
    process.stderr.write(`[latchkey] integration backend: ${backend.info.name}\n`);
    if (backend.info.atomicConditionalWrites === false) {
      process.stderr.write(`[latchkey] ${backend.info.name} does not write conditionally and atomically: the tests that race conditional writes SKIP on it\n`);
    }
  }
  project.provide("backend", backend.info);
  const capture = mkdtempSync(join(tmpdir(), "latchkey-log-capture-"));
  project.provide("logCapture", capture);
  return async () => {
    await backend.stop();
    const read = (suffix: string) =>
      readdirSync(capture)
        .filter((f) => f.endsWith(suffix))
        .flatMap((f) => readFileSync(join(capture, f), "utf8").split("\n").filter(Boolean));
    const lines = read(".lines");
    const leaks = findLeaks(lines, read(".secrets"), [GOOD_PASSWORD]);
    rmSync(capture, { recursive: true, force: true });
    if (leaks.length) {
      // Vitest reports an error thrown here but still exits 0: set the exit code too.
      process.exitCode = 1;
      throw new Error(`${leaks.length} captured log line(s) hold a secret:\n${leaks.slice(0, 10).join("\n")}`);
    }
    process.stderr.write(`[latchkey] scanned ${lines.length} log lines written during the run: no secret, token or family id\n`);
  };
}
