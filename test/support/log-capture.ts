/**
 * Captures every line the service writes during the whole suite (a setup file: it runs in
 * each test file's worker), whatever the log level, plus the credentials tests were handed,
 * and leaves both in the run's capture directory. global-setup.ts scans them at the end:
 * no line may hold a password, a client secret, a token, a private key or a refresh-token
 * family id (findLeaks below).
 */
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, inject } from "vitest";
import { onLogLine } from "../../functions/log.js";

declare module "vitest" {
  export interface ProvidedContext {
    logCapture: string;
  }
}

const dir = inject("logCapture");
const lines: string[] = [];
const secrets = new Set<string>();
onLogLine((line) => lines.push(line));

/** Remembers a credential a test received (from a response), so the final scan looks for it. */
export function rememberSecret(value: unknown): void {
  if (typeof value === "string" && value.length >= 16) secrets.add(value);
}

afterAll(() => {
  if (!dir) return;
  if (lines.length) appendFileSync(join(dir, `${process.pid}.lines`), lines.splice(0).join("\n") + "\n");
  if (secrets.size) appendFileSync(join(dir, `${process.pid}.secrets`), [...secrets].join("\n") + "\n");
  secrets.clear();
});
