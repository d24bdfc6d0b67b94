/**
 * `npm start` and the admin CLI as a user runs them: the local issuer starts on emulators,
 * prints its URL (which is the discovery issuer), and `latchkey` commands run in the same
 * directory act on it. A second start in that directory refuses, a port clash says PORT=,
 * the emulators refuse requests without the instance's credentials, and SIGTERM to the
 * `npm start` process leaves nothing running.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EMULATOR_CREDENTIALS } from "../../functions/storage/aws.js";
import { GOOD_PASSWORD, post, skipIntegration } from "../support/issuer.js";
import { checkoutDir, repo, startLocal, type LocalInstance } from "../support/local-instance.js";

const run = promisify(execFile);

/** Every live descendant of a process (Linux /proc). */
function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parents) if (parent === p) found.push(child), walk(child);
  };
  walk(pid);
  return found;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe.skipIf(skipIntegration)("local mode (npm start) and the admin CLI", () => {
  let local: LocalInstance;
  let dir: string;
  let url: string;
  const otherDirs: string[] = [];

  beforeAll(async () => {
    dir = await checkoutDir();
    local = startLocal(dir, "0", "npm");
    url = await local.ready;
  }, 60_000);

  afterAll(async () => {
    // Also the server itself, should a failed test have left it behind.
    for (const pid of local?.child.pid ? [local.child.pid, ...descendants(local.child.pid)] : []) if (alive(pid)) process.kill(pid, "SIGKILL");
    for (const d of [dir, ...otherDirs]) if (d) await rm(d, { recursive: true, force: true });
  });

  const cliIn = (cwd: string, ...args: string[]) =>
    run(process.execPath, [join(repo, "bin/latchkey.js"), ...args], { cwd, env: { ...process.env, LATCHKEY_LOG_LEVEL: "warn" } });
  const cli = async (...args: string[]) => JSON.parse((await cliIn(dir, ...args)).stdout);
  const jwksKids = async () => ((await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
  const eventually = async (check: () => Promise<boolean> | boolean, ms = 9000) => {
    const end = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > end) throw new Error("condition not met in time");
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const state = () => JSON.parse(readFileSync(join(dir, ".latchkey/local.json"), "utf8")) as { pid: number; issuer: string; env: Record<string, string> };

  it("serves on the printed URL, and discovery names that URL as the issuer", async () => {
    const doc = (await (await fetch(`${url}/.well-known/openid-configuration`)).json()) as { issuer: string };
    expect(doc.issuer).toBe(url);
    expect(local.output()).toContain("for development only");
    const registered = await post(`${url}/register`, { username: "local-alice", password: GOOD_PASSWORD });
    expect(registered.status).toBe(201);
    // Local mode prints the same JSON lines as Lambda: the audit record and the EMF metrics.
    const requestId = registered.headers.get("x-request-id")!;
    const records = () => local.output().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, any>);
    await eventually(() => records().some((r) => r._aws && r.route === "/register"));
    expect(records().filter((r) => r.msg === "audit" && r.event === "user.registered")).toEqual([expect.objectContaining({ requestId, username: "local-alice" })]);
    expect(local.output()).not.toContain(GOOD_PASSWORD);
  });

  it("keys list / rotate --force / revoke act on the running instance", async () => {
    const listed = await cli("keys", "list");
    expect(listed.target).toBe(`local instance ${url}`);
    expect(listed.keys.map((k: { status: string }) => k.status).sort()).toEqual(["current", "next"]);
    // Refused (the next key was published moments ago): a failure, exit 2, and why.
    const refused = await cliIn(dir, "keys", "rotate").catch((e: { code: number; stderr: string }) => e);
    expect(refused).toMatchObject({ code: 2, stderr: expect.stringContaining("--force") });
    const rotated = await cli("keys", "rotate", "--force");
    expect(rotated.changed).toBe(true);
    await eventually(async () => (await jwksKids()).length === 3);
    const current = rotated.published.find((k: { status: string }) => k.status === "current").kid;
    await cli("keys", "revoke", current);
    await eventually(async () => !(await jwksKids()).includes(current));
  });

  it("clients create + token fetch a working machine token", async () => {
    const created = await cli("clients", "create", "--name", "local-svc", "--scopes", "read,write", "--audiences", "https://api.example.com");
    expect(created.client_secret).toMatch(/^lks_/);
    const token = await cli("token", "--client-id", created.client_id, "--client-secret", created.client_secret, "--scope", "read");
    expect(token.token_type).toBe("Bearer");
    const check = await fetch(`${url}/validate?scope=read&audience=${encodeURIComponent("https://api.example.com")}`, { headers: { authorization: `Bearer ${token.access_token}` } });
    expect(check.status).toBe(200);
    // The secret is never shown again.
    expect(JSON.stringify(await cli("clients", "show", created.client_id))).not.toContain(created.client_secret);
  });

  it("a usage mistake exits 1 with a message (the grammar itself is pinned in test/cli)", async () => {
    const err = await cliIn(dir, "clients", "create", "--name", "x", "--scope", "a").catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 1, stderr: expect.stringMatching(/^latchkey: --scope is not a flag/) });
  });

  it("a second start in the same directory refuses, names the running one, and leaves its state alone", async () => {
    const before = readFileSync(join(dir, ".latchkey/local.json"), "utf8");
    const second = startLocal(dir, "0", "node");
    expect(await second.exited).toBe(1);
    expect(second.output()).toContain(`another local instance is running from this directory: ${url} (pid ${state().pid})`);
    expect(readFileSync(join(dir, ".latchkey/local.json"), "utf8")).toBe(before);
    expect((await cli("keys", "list")).target).toBe(`local instance ${url}`);
  });

  it("a port clash says which port and suggests PORT=, leaving no state behind", async () => {
    const other = await checkoutDir();
    otherDirs.push(other);
    const port = Number(new URL(url).port);
    const clash = startLocal(other, String(port), "node");
    expect(await clash.exited).toBe(1);
    expect(clash.output()).toContain(`port ${port} on 127.0.0.1 is in use`);
    expect(clash.output()).toContain(`PORT=${port + 1} npm start`);
    expect(existsSync(join(other, ".latchkey/local.json"))).toBe(false);
  });

  it("the emulators listen on 127.0.0.1 and refuse requests without the instance's credentials", async () => {
    const { env } = state();
    const s3 = env.LATCHKEY_S3_ENDPOINT!;
    const ddb = env.LATCHKEY_DYNAMODB_ENDPOINT!;
    expect(new URL(s3).hostname).toBe("127.0.0.1");
    expect(new URL(ddb).hostname).toBe("127.0.0.1");
    // With the instance's credentials the bucket holds the private keys ...
    const owner = new S3Client({ region: "us-east-1", endpoint: s3, forcePathStyle: true, credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! } });
    const objects = (await owner.send(new ListObjectsV2Command({ Bucket: env.LATCHKEY_KEY_BUCKET! }))).Contents ?? [];
    const keyObject = objects.find((o) => o.Key !== "secrets/client-secret-pepper")?.Key;
    expect(keyObject).toBeTruthy();
    // ... which anonymous requests do not get.
    for (const path of [`/${env.LATCHKEY_KEY_BUCKET}/${keyObject}`, `/${env.LATCHKEY_KEY_BUCKET}/secrets/client-secret-pepper`, `/${env.LATCHKEY_KEY_BUCKET}?list-type=2`, "/"]) {
      const res = await fetch(`${s3}${path}`);
      expect(res.status, path).toBe(403);
      expect(await res.text(), path).not.toContain("PRIVATE");
    }
    // Nor do requests signed with the emulators' well-known default key.
    const stranger = new S3Client({ region: "us-east-1", endpoint: s3, forcePathStyle: true, credentials: EMULATOR_CREDENTIALS });
    await expect(stranger.send(new ListObjectsV2Command({ Bucket: env.LATCHKEY_KEY_BUCKET! }))).rejects.toMatchObject({ name: "AccessDenied" });
    const scan = await fetch(ddb, {
      method: "POST",
      headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": "DynamoDB_20120810.Scan" },
      body: JSON.stringify({ TableName: env.LATCHKEY_TABLE }),
    });
    expect(scan.status).toBe(400);
    expect(await scan.text()).toContain("UnrecognizedClientException");
  });

  it("SIGTERM to the npm start process stops the server and leaves no process holding the port", async () => {
    const npmPid = local.child.pid!;
    const tree = descendants(npmPid);
    expect(tree.length).toBeGreaterThan(0);
    local.child.kill("SIGTERM");
    await eventually(() => [npmPid, ...tree].every((p) => !alive(p)), 8000);
    await expect(fetch(`${url}/.well-known/jwks.json`)).rejects.toThrow();
    expect(existsSync(join(dir, ".latchkey/local.json"))).toBe(false);
  });
});
