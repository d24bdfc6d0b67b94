/**
 * The README's SDK examples, run as written (extracted from README.md, resolved through the
 * package's own exports) against a real issuer, so they cannot go stale.
 */
import { execFile, spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../functions/local/server.js";
import { GOOD_PASSWORD, post, skipIntegration, startTestIssuer, uniqueName, type TestIssuer } from "../support/issuer.js";

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, "../..");
const tsx = join(repo, "node_modules/.bin/tsx");
// Inside the package, so `latchkey/client` resolves by self-reference; git-ignored.
const dir = join(repo, ".latchkey/readme-examples");

async function examples(): Promise<Record<string, string>> {
  const readme = await readFile(join(repo, "README.md"), "utf8");
  const found: Record<string, string> = {};
  for (const m of readme.matchAll(/<!-- example: ([\w-]+) -->\n```ts\n([\s\S]*?)```/g)) found[m[1]!] = m[2]!;
  return found;
}

describe.skipIf(skipIntegration)("README SDK examples", () => {
  let t: TestIssuer;
  let api: Server;
  let ordersUrl: string;
  let code: Record<string, string>;
  const file = async (name: string) => {
    const path = join(dir, `${name}.mts`);
    await writeFile(path, code[name]!);
    return path;
  };

  beforeAll(async () => {
    code = await examples();
    await mkdir(dir, { recursive: true });
    t = await startTestIssuer();
    api = createServer((req, res) => res.writeHead(req.headers.authorization?.startsWith("Bearer ey") ? 200 : 401).end("orders"));
    await new Promise<void>((r) => api.listen(0, "127.0.0.1", () => r()));
    ordersUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}/orders`;
  });
  afterAll(async () => {
    api?.close();
    await t?.close();
  });

  it("the README has the three examples", () => {
    expect(Object.keys(code).sort()).toEqual(["machine-client", "user-session", "verifier"]);
  });

  it("machine-client fetches a protected resource with a bearer token", async () => {
    const { client, clientSecret } = await t.issuer.clients.create({ name: "readme", scopes: ["orders:read"], audiences: ["orders"] });
    const { stdout } = await run(tsx, ["--conditions=source", await file("machine-client")], {
      cwd: repo,
      env: { ...process.env, LATCHKEY_ISSUER: t.url, CLIENT_ID: client.clientId, CLIENT_SECRET: clientSecret!, ORDERS_URL: ordersUrl },
    });
    expect(stdout.trim()).toBe("200 orders");
  });

  it("user-session logs in, calls the API and logs out", async () => {
    const username = uniqueName();
    await post(`${t.url}/register`, { username, password: GOOD_PASSWORD });
    const { stdout } = await run(tsx, ["--conditions=source", await file("user-session")], {
      cwd: repo,
      env: { ...process.env, LATCHKEY_ISSUER: t.url, USERNAME: username, PASSWORD: GOOD_PASSWORD, ORDERS_URL: ordersUrl },
    });
    expect(stdout.trim()).toBe("200");
  });

  it("verifier guards a node:http server", async () => {
    const port = await freePort();
    const child = spawn(tsx, ["--conditions=source", await file("verifier")], { cwd: repo, env: { ...process.env, LATCHKEY_ISSUER: t.url, PORT: String(port) } });
    try {
      const url = `http://127.0.0.1:${port}/`;
      for (let i = 0; ; i++) {
        try {
          await fetch(url);
          break;
        } catch {
          if (i > 100) throw new Error("example server did not start");
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      expect((await fetch(url)).status).toBe(401);
      const { client, clientSecret } = await t.issuer.clients.create({ name: "readme-v", scopes: ["orders:read"], audiences: ["orders"] });
      const token = await post(`${t.url}/token`, "grant_type=client_credentials", {
        "content-type": "application/x-www-form-urlencoded",
        authorization: `Basic ${Buffer.from(`${client.clientId}:${clientSecret}`).toString("base64")}`,
      });
      const ok = await fetch(url, { headers: { authorization: `Bearer ${token.json.access_token}` } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toBe(`hello ${client.clientId}`);
    } finally {
      child.kill("SIGTERM");
    }
  });
});
