/**
 * Chooses the storage backend for the integration suite. One suite, four backends:
 * - embedded (default): dynalite + s3rver in-process;
 * - moto: `moto_server` on loopback (stricter: TTL, SSE-KMS, versioning, condition expressions; not atomic);
 * - localstack: @testcontainers/localstack, opt-in, needs a Docker engine;
 * - endpoint: any endpoint given by AWS_ENDPOINT_URL.
 * Select with LATCHKEY_TEST_BACKEND; AWS_ENDPOINT_URL alone selects "endpoint".
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { startEmulators } from "../../functions/local/emulators.js";
import { freePort } from "../../functions/local/server.js";

export interface BackendInfo {
  name: "embedded" | "moto" | "localstack" | "endpoint";
  region: string;
  dynamodbEndpoint?: string | undefined;
  s3Endpoint?: string | undefined;
  /** Set when the backend could not start; suites skip with this message. */
  skipReason?: string | undefined;
  /**
   * Set (false) when the backend does not evaluate a write's condition and write atomically, as
   * DynamoDB, dynalite and LocalStack do. moto_server serves requests on threads (moto/server.py:
   * run_simple(..., threaded=True)) and its DynamoDB backend takes no lock, so two concurrent
   * conditional writes can both pass there: an emulator race, not ours.
   */
  atomicConditionalWrites?: false | undefined;
}

export interface Backend {
  info: BackendInfo;
  stop(): Promise<void>;
}

const region = process.env.AWS_REGION ?? "us-east-1";

export async function startBackend(): Promise<Backend> {
  const chosen = process.env.LATCHKEY_TEST_BACKEND ?? (process.env.AWS_ENDPOINT_URL ? "endpoint" : "embedded");
  switch (chosen) {
    case "embedded": {
      const e = await startEmulators();
      return { info: { name: "embedded", region, dynamodbEndpoint: e.dynamodbEndpoint, s3Endpoint: e.s3Endpoint }, stop: e.stop };
    }
    case "moto":
      return startMoto();
    case "localstack":
      return startLocalstack();
    case "endpoint": {
      const url = process.env.AWS_ENDPOINT_URL;
      if (!url) throw new Error("LATCHKEY_TEST_BACKEND=endpoint needs AWS_ENDPOINT_URL");
      return { info: { name: "endpoint", region, dynamodbEndpoint: url, s3Endpoint: url }, stop: async () => {} };
    }
    default:
      throw new Error(`unknown LATCHKEY_TEST_BACKEND ${chosen}; use embedded, moto, localstack or endpoint`);
  }
}

export function motoAvailable(): boolean {
  return spawnSync("moto_server", ["--help"], { stdio: "ignore" }).status === 0;
}

export async function startMoto(): Promise<Backend> {
  if (!motoAvailable()) {
    return { info: { name: "moto", region, skipReason: "moto_server is not on PATH" }, stop: async () => {} };
  }
  const port = await freePort();
  const child: ChildProcess = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/moto-api/`);
      if (res.ok || res.status < 500) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill();
      throw new Error("moto_server did not start within 30 s");
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    info: { name: "moto", region, dynamodbEndpoint: url, s3Endpoint: url, atomicConditionalWrites: false },
    stop: async () => {
      child.kill("SIGTERM");
    },
  };
}

/** Images since March 2026 need an auth token; 4.14.0 is the last that runs without one. */
export function localstackImage(env: Record<string, string | undefined> = process.env): string {
  return env.LATCHKEY_LOCALSTACK_IMAGE ?? (env.LOCALSTACK_AUTH_TOKEN ? "localstack/localstack:latest" : "localstack/localstack:4.14.0");
}

async function startLocalstack(): Promise<Backend> {
  const token = process.env.LOCALSTACK_AUTH_TOKEN;
  const image = localstackImage();
  try {
    const { LocalstackContainer } = await import("@testcontainers/localstack");
    let container = new LocalstackContainer(image);
    if (token) container = container.withEnvironment({ LOCALSTACK_AUTH_TOKEN: token });
    const started = await container.start();
    const url = started.getConnectionUri();
    return {
      info: { name: "localstack", region, dynamodbEndpoint: url, s3Endpoint: url },
      stop: async () => {
        await started.stop();
      },
    };
  } catch (err) {
    const reason = `LocalStack could not start (${(err as Error).message.split("\n")[0]}); is a Docker engine reachable?`;
    return { info: { name: "localstack", region, skipReason: reason }, stop: async () => {} };
  }
}
