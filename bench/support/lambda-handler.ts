/**
 * A built router bundle's Lambda handler in its own process (lambda-handler-server.ts), as the
 * Lambda benches start it: storage and issuer from `env`, no AWS credentials inherited from
 * this shell (the emulators' come with `env`), stdout written into a pipe and dropped, as a
 * Lambda's stdout is a pipe.
 *
 * @example
 *   const handler = await startLambdaHandler("dist/lambda/index.mjs", { ...stack.storageEnv, LATCHKEY_ISSUER: url, LATCHKEY_LOG_LEVEL: "info" });
 *   await handler.call("invoke", { event, count: 100 });
 */
import { startChild, type Child } from "./child.js";

export function startLambdaHandler(
  entry: string,
  env: Record<string, string | undefined>,
  options: { nodeArgs?: string[] } = {},
): Promise<Child<{ pid: number }>> {
  return startChild<{ pid: number }>("bench/support/lambda-handler-server.ts", {
    AWS_ACCESS_KEY_ID: undefined,
    AWS_SECRET_ACCESS_KEY: undefined,
    ...env,
    BENCH_LAMBDA_ENTRY: entry,
  }, { discardStdout: true, ...options });
}
