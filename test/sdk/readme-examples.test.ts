/**
 * The README's SDK examples, as a newcomer runs them: `npm pack` (prepack builds dist/ with
 * .d.ts), `npm install <tarball>` into a fresh project, the examples type-checked there by
 * TypeScript and run there by plain `node` (ESM), against a real issuer, and working together:
 * the user session and the machine client call the verifier example's API.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../functions/local/server.js";
import { GOOD_PASSWORD, post, skipIntegration, startTestIssuer, uniqueName, type TestIssuer } from "../support/issuer.js";

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, "../..");

async function examples(): Promise<Record<string, string>> {
  const readme = await readFile(join(repo, "README.md"), "utf8");
  const found: Record<string, string> = {};
  for (const m of readme.matchAll(/<!-- example: ([\w-]+) -->\n```ts\n([\s\S]*?)```/g)) found[m[1]!] = m[2]!;
  return found;
}

/** Packs the repository and installs the tarball into a fresh project; a reason when that cannot work here. */
async function installPackage(project: string): Promise<string | undefined> {
  const packDir = join(project, "..", "pack");
  await mkdir(packDir, { recursive: true });
  // Whatever a previous build left must not stand in for what prepack builds.
  await rm(join(repo, "dist/sdk"), { recursive: true, force: true });
  await run("npm", ["pack", "--silent", "--pack-destination", packDir], { cwd: repo, timeout: 120_000 });
  const tarball = join(packDir, (await readdir(packDir)).find((f) => f.endsWith(".tgz"))!);
  await writeFile(join(project, "package.json"), JSON.stringify({ name: "latchkey-consumer", private: true, type: "module" }));
  const install = (mode: string) => run("npm", ["install", mode, "--no-audit", "--no-fund", "--ignore-scripts", tarball], { cwd: project, timeout: 120_000 });
  try {
    await install("--offline");
  } catch (offline) {
    // Not everything cached: allow the registry for what is missing.
    try {
      await install("--prefer-offline");
    } catch (err) {
      const cached = (offline as { stderr?: string }).stderr?.match(/ENOTCACHED|only-if-cached/);
      if (cached || /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|network/i.test((err as { stderr?: string }).stderr ?? "")) {
        return `npm install of the packed tarball needs packages that are neither cached nor reachable: ${((err as { stderr?: string }).stderr ?? "").split("\n").find((l) => l.includes("error")) ?? ""}`;
      }
      throw err;
    }
  }
  return undefined;
}

describe.skipIf(skipIntegration)("README SDK examples, from the packed package", () => {
  let t: TestIssuer;
  let project: string;
  let code: Record<string, string>;
  let skipReason: string | undefined;
  let api: ChildProcess | undefined;
  let ordersUrl: string;

  beforeAll(async () => {
    code = await examples();
    project = join(await mkdtemp(join(tmpdir(), "latchkey-consumer-")), "app");
    await mkdir(project);
    // The user-session example asks for the API's audience and scope, which the issuer must allow.
    [skipReason, t] = await Promise.all([
      installPackage(project),
      startTestIssuer({ LATCHKEY_USER_AUDIENCES: "latchkey,orders", LATCHKEY_USER_SCOPES: "openid profile orders:read" }),
    ]);
    if (skipReason) {
      process.stderr.write(`[latchkey] packed-SDK README examples SKIPPED: ${skipReason}\n`);
      return;
    }
    for (const [name, source] of Object.entries(code)) {
      await writeFile(join(project, `${name}.ts`), source);
      const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
      await writeFile(join(project, `${name}.mjs`), js);
    }
    // The verifier example is the orders API the other two call.
    const port = await freePort();
    ordersUrl = `http://127.0.0.1:${port}/orders`;
    api = spawn(process.execPath, ["verifier.mjs"], { cwd: project, env: { ...process.env, LATCHKEY_ISSUER: t.url, PORT: String(port) } });
    for (let i = 0; ; i++) {
      try {
        await fetch(ordersUrl);
        break;
      } catch {
        if (i > 100) throw new Error("the verifier example did not start");
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }, 240_000);

  afterAll(async () => {
    api?.kill("SIGTERM");
    await t?.close();
    if (project) await rm(join(project, ".."), { recursive: true, force: true });
  });

  it("the README has the three examples", () => {
    expect(Object.keys(code).sort()).toEqual(["machine-client", "user-session", "verifier"]);
  });

  it("the tarball holds the built SDK with types, and nothing else of the server", async (ctx) => {
    if (skipReason) return ctx.skip(skipReason);
    const pkg = JSON.parse(await readFile(join(project, "node_modules/latchkey/package.json"), "utf8"));
    expect(pkg.exports["./client"]).toMatchObject({ types: "./dist/sdk/index.d.ts", import: "./dist/sdk/index.js" });
    const files = await readdir(join(project, "node_modules/latchkey"), { recursive: true });
    expect(files).toContain("dist/sdk/index.d.ts");
    expect(files.some((f) => f.startsWith("functions"))).toBe(false);
    // What a consumer installs: the SDK's dependency, not the server's (no AWS SDK).
    expect((await readdir(join(project, "node_modules"))).filter((d) => d.startsWith("@aws-sdk"))).toEqual([]);
  });

  it("type-checks in a TypeScript project (NodeNext, strict) through the package's .d.ts", async (ctx) => {
    if (skipReason) return ctx.skip(skipReason);
    await writeFile(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { module: "nodenext", moduleResolution: "nodenext", target: "es2022", strict: true, noEmit: true, skipLibCheck: true, types: ["node"], typeRoots: [join(repo, "node_modules/@types")] },
        include: ["*.ts"],
      }),
    );
    const result = await run(process.execPath, [join(repo, "node_modules/typescript/bin/tsc"), "-p", project]).catch((e: { stdout: string }) => e);
    expect((result as { stdout: string }).stdout).toBe("");
  });

  it("verifier: plain node serves the API; no token is a 401 with a challenge", async (ctx) => {
    if (skipReason) return ctx.skip(skipReason);
    const res = await fetch(ordersUrl);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="api"');
  });

  it("machine-client: plain node calls the verifier's API with a client_credentials token", async (ctx) => {
    if (skipReason) return ctx.skip(skipReason);
    const { client, clientSecret } = await t.issuer.clients.create({ name: "readme", scopes: ["orders:read"], audiences: ["orders"] });
    const { stdout } = await run(process.execPath, ["machine-client.mjs"], {
      cwd: project,
      env: { ...process.env, LATCHKEY_ISSUER: t.url, CLIENT_ID: client.clientId, CLIENT_SECRET: clientSecret!, ORDERS_URL: ordersUrl },
    });
    expect(stdout.trim()).toBe(`200 hello ${client.clientId}`);
  });

  it("user-session: plain node logs in, calls the verifier's API, and logs out", async (ctx) => {
    if (skipReason) return ctx.skip(skipReason);
    const username = uniqueName();
    const registered = await post(`${t.url}/register`, { username, password: GOOD_PASSWORD });
    const { stdout } = await run(process.execPath, ["user-session.mjs"], {
      cwd: project,
      env: { ...process.env, LATCHKEY_ISSUER: t.url, USERNAME: username, PASSWORD: GOOD_PASSWORD, ORDERS_URL: ordersUrl },
    });
    expect(stdout.trim()).toBe(`200 hello ${registered.json.sub}`);
  });
});
