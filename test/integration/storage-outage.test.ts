/** When DynamoDB or S3 cannot be reached, callers get 503 with Retry-After, never a 500. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../functions/config.js";
import { createIssuer } from "../../functions/issuer.js";
import { freePort, listen, type RunningServer } from "../../functions/local/server.js";
import { GOOD_PASSWORD, post, provisionedEnv, skipIntegration } from "../support/issuer.js";

describe.skipIf(skipIntegration)("storage outage", () => {
  let server: RunningServer;
  beforeAll(async () => {
    const dead = `http://127.0.0.1:${await freePort()}`; // nothing listens here
    const env = await provisionedEnv();
    const config = loadConfig({ ...env, LATCHKEY_DYNAMODB_ENDPOINT: dead, LATCHKEY_S3_ENDPOINT: dead });
    server = await listen(createIssuer(config));
  });
  afterAll(() => server?.close());

  it.each([
    ["/register", { username: "outage-user", password: GOOD_PASSWORD }],
    ["/login", { username: "outage-user", password: GOOD_PASSWORD }],
    ["/refresh", { refresh_token: "lkr_" + "A".repeat(22) + "B".repeat(43) + "C".repeat(22) }],
    ["/token", { grant_type: "client_credentials", client_id: "lkc_" + "A".repeat(22), client_secret: "lks_" + "B".repeat(43) }],
  ])("POST %s answers 503 temporarily_unavailable", async (path, body) => {
    const res = await post(`${server.url}${path}`, body);
    expect(res.status).toBe(503);
    expect(res.json.error).toBe("temporarily_unavailable");
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(JSON.stringify(res.json)).not.toMatch(/ECONNREFUSED|at .*\.ts|stack/i);
  });

  it("GET /.well-known/jwks.json answers 503", async () => {
    const res = await fetch(`${server.url}/.well-known/jwks.json`);
    expect(res.status).toBe(503);
  });
});
