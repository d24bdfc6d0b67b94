/**
 * `npm start` and the admin CLI as a user runs them: the local issuer starts on emulators,
 * prints its URL (which is the discovery issuer), and `latchkey` commands run in the same
 * directory act on it.
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GOOD_PASSWORD, post, skipIntegration } from "../support/issuer.js";

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, "../..");
const tsx = join(repo, "node_modules/.bin/tsx");

describe.skipIf(skipIntegration)("local mode (npm start) and the admin CLI", () => {
  let child: ChildProcess;
  let dir: string;
  let url: string;
  let output = "";

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "latchkey-local-"));
    child = spawn(tsx, [join(repo, "functions/local/main.ts")], { cwd: dir, env: { ...process.env, PORT: "0", LATCHKEY_LOG_LEVEL: "warn" } });
    url = await new Promise<string>((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start printed no URL in 30 s:\n${output}`)), 30_000);
      const onData = (d: Buffer) => {
        output += d.toString();
        const m = /running at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
        if (m) {
          clearTimeout(timer);
          resolvePromise(m[1]!);
        }
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      child.once("exit", (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
    });
  }, 60_000);

  afterAll(async () => {
    child?.kill("SIGTERM");
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const cli = async (...args: string[]) => {
    const { stdout } = await run(process.execPath, [join(repo, "bin/latchkey.js"), ...args], { cwd: dir, env: { ...process.env, LATCHKEY_LOG_LEVEL: "warn" } });
    return JSON.parse(stdout);
  };
  const jwksKids = async () => ((await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
  const eventually = async (check: () => Promise<boolean>, ms = 9000) => {
    const end = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > end) throw new Error("condition not met in time");
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  it("serves on the printed URL, and discovery names that URL as the issuer", async () => {
    const doc = (await (await fetch(`${url}/.well-known/openid-configuration`)).json()) as { issuer: string };
    expect(doc.issuer).toBe(url);
    expect((await post(`${url}/register`, { username: "local-alice", password: GOOD_PASSWORD })).status).toBe(201);
  });

  it("keys list / rotate --force / revoke act on the running instance", async () => {
    const listed = await cli("keys", "list");
    expect(listed.target).toBe(`local instance ${url}`);
    expect(listed.keys.map((k: { status: string }) => k.status).sort()).toEqual(["current", "next"]);
    await expect(run(process.execPath, [join(repo, "bin/latchkey.js"), "keys", "rotate"], { cwd: dir })).rejects.toMatchObject({ code: 2 });
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

  it("bad flags fail with a clear message and exit code 1", async () => {
    for (const args of [["clients", "create"], ["clients", "create", "--name", "x", "--auth", "magic"], ["keys", "revoke"], ["nonsense"], ["clients", "create", "--name", "x", "--ttl", "-5"]]) {
      const err = await run(process.execPath, [join(repo, "bin/latchkey.js"), ...args], { cwd: dir }).catch((e: { code: number; stderr: string }) => e);
      expect((err as { code: number }).code, args.join(" ")).toBe(1);
      expect((err as { stderr: string }).stderr, args.join(" ")).toMatch(/^latchkey: /);
    }
  });
});
