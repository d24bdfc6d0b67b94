import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    // Every line the service writes is captured and scanned for secrets at the end of the run.
    setupFiles: ["test/support/log-capture.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Two cores here: argon2 and RSA keygen are CPU-bound, so more workers only add contention.
    pool: "forks",
    maxWorkers: 2,
  },
});
