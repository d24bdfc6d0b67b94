/**
 * nginx auth_request in front of a dummy upstream, using the shipped example config
 * (test/nginx/latchkey-auth.conf) against a real issuer. Skips with a message where nginx
 * (with ngx_http_auth_request_module) is not installed.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:http";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../functions/local/server.js";
import { skipIntegration, startTestIssuer, type TestIssuer } from "../support/issuer.js";

const nginxBuild = spawnSync("nginx", ["-V"], { encoding: "utf8" });
const hasNginx = nginxBuild.status === 0 && /auth_request/.test(nginxBuild.stderr + nginxBuild.stdout);
if (!hasNginx) console.warn("[latchkey] nginx tests skipped: nginx with auth_request is not installed (apt-get install nginx-light)");

describe.skipIf(skipIntegration || !hasNginx)("nginx auth_request with GET /validate", () => {
  let t: TestIssuer;
  let upstream: Server;
  let nginx: ChildProcess;
  let dir: string;
  let base: string;
  let token: string;
  let otherApiToken: string;

  beforeAll(async () => {
    t = await startTestIssuer();
    const { client, clientSecret } = await t.issuer.clients.create({ name: "nginx-test", scopes: ["orders:read", "orders:write"], audiences: ["orders", "billing"] });
    const basic = Buffer.from(`${client.clientId}:${clientSecret}`).toString("base64");
    const tokenFor = async (audience: string) => {
      const res = await fetch(`${t.url}/token`, {
        method: "POST",
        headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" },
        body: `grant_type=client_credentials&scope=orders:read&audience=${audience}`,
      });
      return ((await res.json()) as { access_token: string }).access_token;
    };
    token = await tokenFor("orders");
    otherApiToken = await tokenFor("billing");

    // The dummy upstream echoes the identity headers nginx passed on.
    upstream = createServer((req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ subject: req.headers["x-auth-subject"], clientId: req.headers["x-auth-client-id"], scope: req.headers["x-auth-scope"] }));
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", () => r()));
    const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;

    dir = await mkdtemp(join(tmpdir(), "latchkey-nginx-"));
    const example = (await readFile(join(import.meta.dirname, "../nginx/latchkey-auth.conf"), "utf8"))
      .replaceAll("LATCHKEY_URL", t.url)
      .replaceAll("UPSTREAM_URL", upstreamUrl)
      .replaceAll("REQUIRED_SCOPE", "orders:read")
      .replaceAll("REQUIRED_AUDIENCE", "orders");
    const port = await freePort();
    await writeFile(
      join(dir, "nginx.conf"),
      `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    ${example}
  }
}
`,
    );
    nginx = spawn("nginx", ["-p", dir, "-c", join(dir, "nginx.conf"), "-g", "daemon off;"], { stdio: "ignore" });
    base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await fetch(`${base}/`);
        break;
      } catch {
        if (Date.now() > deadline || nginx.exitCode !== null) throw new Error(`nginx did not start: ${await readFile(join(dir, "error.log"), "utf8").catch(() => "")}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  });

  afterAll(async () => {
    nginx?.kill("SIGTERM");
    upstream?.close();
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("passes a valid token through with identity headers", async () => {
    const res = await fetch(`${base}/api/orders`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, string>;
    expect(body.clientId).toMatch(/^lkc_/);
    expect(body.subject).toBe(body.clientId);
    expect(body.scope).toBe("orders:read");
  });

  it("answers 401 with a Bearer challenge for missing or bad tokens, without reaching the upstream", async () => {
    for (const headers of [{}, { authorization: "Bearer not.a.token" }] as Record<string, string>[]) {
      const res = await fetch(`${base}/api/orders`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    }
  });

  it("refuses a token minted for another API with 403 (the example passes the audience)", async () => {
    const res = await fetch(`${base}/api/orders`, { headers: { authorization: `Bearer ${otherApiToken}` } });
    expect(res.status).toBe(403);
  });

  it("ignores identity headers forged by the client", async () => {
    const res = await fetch(`${base}/api/orders`, { headers: { authorization: `Bearer ${token}`, "x-auth-subject": "admin" } });
    const body = (await res.json()) as Record<string, string>;
    expect(body.subject).not.toBe("admin");
  });
});
