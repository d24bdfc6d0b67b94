/**
 * The image contents without Docker: `npm run build` produces exactly what the Dockerfile
 * copies (dist/lambda/index.mjs), and a FRESH Node process that loads it answers an HTTP API
 * v2 event, a Scheduler rotation event and the deploy-hook event against the test backend.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { provisionedEnv, skipIntegration, GOOD_PASSWORD } from "../support/issuer.js";
import { ensureKeysEvent, httpApiEvent, schedulerRotateEvent } from "../support/events.js";

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, "../..");
const bundle = resolve(repo, "dist/lambda/index.mjs");

/** Loads the bundle in a new process and feeds it events in order; prints each result. */
const DRIVER = `
const { handler } = await import(process.argv[1]);
const events = JSON.parse(process.argv[2]);
const out = [];
for (const e of events) {
  try { out.push({ ok: await handler(e, { awsRequestId: "test" }) }); }
  catch (err) { out.push({ error: String(err && err.message) }); }
}
process.stdout.write(JSON.stringify(out));
`;

describe.skipIf(skipIntegration)("router bundle (image contents)", () => {
  let env: Record<string, string>;
  beforeAll(async () => {
    await run("npm", ["run", "build", "--silent"], { cwd: repo });
    env = await provisionedEnv({ LATCHKEY_ISSUER: "https://issuer.example.com" });
  }, 120_000);

  it("the Dockerfile copies the build output and names its handler", () => {
    const dockerfile = readFileSync(resolve(repo, "Dockerfile"), "utf8");
    expect(dockerfile).toMatch(/RUN npm run build/);
    expect(dockerfile).toMatch(/COPY --from=build \/src\/dist\/lambda\/ \$\{LAMBDA_TASK_ROOT\}\//);
    expect(dockerfile).toMatch(/CMD \["index\.handler"\]/);
    expect(dockerfile).toMatch(/^FROM public\.ecr\.aws\/lambda\/nodejs:22$/m);
  });

  it("answers the deploy hook, HTTP API v2 events and a scheduled rotation in a fresh process", async () => {
    const events = [
      ensureKeysEvent,
      ensureKeysEvent,
      httpApiEvent("GET", "/.well-known/openid-configuration"),
      httpApiEvent("POST", "/register", JSON.stringify({ username: "bundle-user", password: GOOD_PASSWORD }), { "content-type": "application/json" }),
      httpApiEvent("POST", "/login", JSON.stringify({ username: "bundle-user", password: GOOD_PASSWORD }), { "content-type": "application/json" }),
      schedulerRotateEvent,
      { action: "rotate", force: true },
      httpApiEvent("GET", "/.well-known/jwks.json"),
      { unexpected: true },
    ];
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", DRIVER, bundle, JSON.stringify(events)], {
      cwd: repo,
      env: { ...process.env, ...env, LATCHKEY_LOG_LEVEL: "silent" },
      timeout: 60_000,
    });
    const [ensure1, ensure2, discovery, register, login, scheduled, forced, jwks, junk] = JSON.parse(stdout) as any[];
    expect(ensure1.ok).toMatchObject({ ok: true, action: "ensure-keys", changed: true });
    expect(ensure2.ok).toMatchObject({ ok: true, action: "ensure-keys", changed: false });
    expect(discovery.ok.statusCode).toBe(200);
    expect(JSON.parse(discovery.ok.body).issuer).toBe("https://issuer.example.com");
    expect(register.ok.statusCode).toBe(201);
    expect(login.ok.statusCode).toBe(200); // argon2 (the one external module) loads from the image's node_modules
    expect(JSON.parse(login.ok.body).access_token).toMatch(/^eyJ/);
    expect(scheduled.ok).toMatchObject({ ok: false, action: "rotate", changed: false });
    expect(forced.ok).toMatchObject({ ok: true, action: "rotate", changed: true });
    expect(JSON.parse(jwks.ok.body).keys).toHaveLength(3);
    expect(junk.error).toMatch(/unrecognised event/);
  });
});
