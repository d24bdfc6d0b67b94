/** Starts the chosen storage backend once for the whole run and hands its endpoints to suites. */
import type { TestProject } from "vitest/node";
import { startBackend, type BackendInfo } from "./backend.js";

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
  }
  project.provide("backend", backend.info);
  return () => backend.stop();
}
