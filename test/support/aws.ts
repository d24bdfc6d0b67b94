/**
 * AWS clients with DynamoDB calls routed through a test's hook first: to count reads, inject
 * an SDK error, or answer from a snapshot (a stale read), with everything else untouched.
 */
import type { AwsClients } from "../../functions/storage/aws.js";

export type DdbSend = (command: unknown) => Promise<unknown>;

export function interceptDdb(aws: AwsClients, intercept: (command: unknown, send: DdbSend) => Promise<unknown>): AwsClients {
  const ddb = new Proxy(aws.ddb, {
    get: (target, prop) =>
      prop === "send" ? (command: unknown) => intercept(command, (c) => target.send(c as never)) : Reflect.get(target, prop),
  });
  return { ...aws, ddb };
}
