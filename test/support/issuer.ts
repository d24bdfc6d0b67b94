/**
 * Starts a real issuer for a test: its own table and bucket on the run's backend, keys
 * ensured, the HTTP app on 127.0.0.1. Everything a user would hit, nothing mocked.
 */
import { randomUUID } from "node:crypto";
import { inject } from "vitest";
import { loadConfig, type Config } from "../../functions/config.js";
import { createIssuer, type Issuer } from "../../functions/issuer.js";
import { createAwsClients, type AwsClients } from "../../functions/storage/aws.js";
import { provision } from "../../functions/local/emulators.js";
import { freePort, listen } from "../../functions/local/server.js";
import { rememberSecret } from "./log-capture.js";

export const backend = inject("backend");
/** Use as `describe.skipIf(skipIntegration)` so an unavailable backend skips with its reason. */
export const skipIntegration = Boolean(backend.skipReason);
/**
 * Whether the backend writes conditionally and atomically, as DynamoDB does (not moto_server:
 * BackendInfo.atomicConditionalWrites). Tests that race conditional writes on purpose run only
 * where it holds: `it.skipIf(!atomicConditionalWrites)`.
 */
export const atomicConditionalWrites = backend.atomicConditionalWrites !== false;

export interface TestIssuer {
  url: string;
  issuer: Issuer;
  config: Config;
  env: Record<string, string>;
  close(): Promise<void>;
}

/** Environment for a fresh table and bucket on the run's backend. */
export async function provisionedEnv(overrides: Record<string, string> = {}): Promise<Record<string, string>> {
  const id = randomUUID().slice(0, 8);
  const env: Record<string, string> = {
    AWS_REGION: backend.region,
    LATCHKEY_ISSUER: "http://127.0.0.1",
    LATCHKEY_TABLE: `latchkey-test-${id}`,
    LATCHKEY_KEY_BUCKET: `latchkey-test-${id}`,
    LATCHKEY_LOG_LEVEL: "silent",
    ...(backend.dynamodbEndpoint ? { LATCHKEY_DYNAMODB_ENDPOINT: backend.dynamodbEndpoint } : {}),
    ...(backend.s3Endpoint ? { LATCHKEY_S3_ENDPOINT: backend.s3Endpoint } : {}),
    ...overrides,
  };
  await provision({
    region: env.AWS_REGION!,
    table: env.LATCHKEY_TABLE!,
    bucket: env.LATCHKEY_KEY_BUCKET!,
    dynamodbEndpoint: env.LATCHKEY_DYNAMODB_ENDPOINT,
    s3Endpoint: env.LATCHKEY_S3_ENDPOINT,
  });
  return env;
}

export async function startTestIssuer(
  overrides: Record<string, string> = {},
  options: { wrapAws?: (aws: AwsClients) => AwsClients; ensureKeys?: boolean } = {},
): Promise<TestIssuer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = await provisionedEnv({ LATCHKEY_ISSUER: url, ...overrides });
  const config = loadConfig(env);
  const aws = createAwsClients(config);
  const issuer = createIssuer(config, options.wrapAws ? options.wrapAws(aws) : aws);
  if (options.ensureKeys !== false) await issuer.keys.ensureKeys();
  const server = await listen(issuer, port);
  return { url, issuer, config, env, close: server.close };
}

/** POST helper: JSON unless a string body and content type are given. */
export async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; json: any }> {
  const isString = typeof body === "string";
  const res = await fetch(url, {
    method: "POST",
    headers: { ...(isString ? {} : { "content-type": "application/json" }), ...headers },
    body: isString ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  // Credentials handed out are looked for in every captured log line at the end of the run.
  const handed = json as Record<string, unknown> | undefined;
  for (const key of ["access_token", "refresh_token", "client_secret", "id_token"]) rememberSecret(handed?.[key]);
  return { status: res.status, headers: res.headers, json };
}

export { GOOD_PASSWORD } from "./passwords.js";

export function uniqueName(prefix = "user"): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}
