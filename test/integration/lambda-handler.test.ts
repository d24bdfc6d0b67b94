/** The Lambda entry end to end: each event shape against real storage. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handler, resetForTests } from "../../functions/lambda.js";
import { onLogLine } from "../../functions/log.js";
import { GOOD_PASSWORD, provisionedEnv, skipIntegration, uniqueName } from "../support/issuer.js";
import { ensureKeysEvent, httpApiEvent, scheduledEvent, schedulerRotateEvent } from "../support/events.js";

type HttpResult = { statusCode: number; headers: Record<string, string>; body: string; isBase64Encoded?: boolean };

describe.skipIf(skipIntegration)("Lambda handler", () => {
  const saved = { ...process.env };
  beforeAll(async () => {
    Object.assign(process.env, await provisionedEnv({ LATCHKEY_ISSUER: "https://issuer.example.com" }));
    resetForTests();
  });
  afterAll(() => {
    process.env = saved;
    resetForTests();
  });

  it("answers HTTP with 503 before any key exists, then ensure-keys makes the issuer serve", async () => {
    const before = (await handler(httpApiEvent())) as HttpResult;
    expect(before.statusCode).toBe(503);
    // The rollout's smoke invocation fails while the version could not sign: the alias stays put.
    await expect(handler({ action: "smoke", function: "api", version: "1" })).rejects.toThrow(/no signing key/);
    const first = (await handler(ensureKeysEvent)) as Record<string, unknown>;
    expect(first).toMatchObject({ ok: true, action: "ensure-keys", changed: true, version: 1 });
    const again = (await handler(ensureKeysEvent)) as Record<string, unknown>;
    expect(again).toMatchObject({ ok: true, changed: false, version: 1 }); // idempotent
    expect(await handler({ action: "smoke", function: "api", version: "1" })).toEqual({ ok: true, action: "smoke" });
    const res = (await handler(httpApiEvent())) as HttpResult;
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body).keys).toHaveLength(2);
    expect(res.headers["cache-control"]).toMatch(/max-age/);
  });

  it("serves POST bodies, plain and base64-encoded, and uses the API Gateway request id", async () => {
    const body = JSON.stringify({ username: uniqueName(), password: GOOD_PASSWORD });
    const lines: Record<string, any>[] = [];
    const stop = onLogLine((line) => lines.push(JSON.parse(line)));
    const plain = (await handler(httpApiEvent("POST", "/register", body, { "content-type": "application/json" }))) as HttpResult;
    stop();
    expect(plain.statusCode).toBe(201);
    expect(plain.headers["x-request-id"]).toBe("JKJaXmPLvHcESHA=");
    // The instance keeps the context in one slot (no AsyncLocalStorage); lines still carry it.
    expect(lines.find((l) => l.event === "user.registered")).toMatchObject({ requestId: "JKJaXmPLvHcESHA=", route: "/register", sourceIp: "203.0.113.7" });
    expect(lines.filter((l) => l.Responses === 1)).toHaveLength(1);
    const b64 = { ...httpApiEvent("POST", "/register", Buffer.from(JSON.stringify({ username: uniqueName(), password: GOOD_PASSWORD })).toString("base64"), { "content-type": "application/json" }), isBase64Encoded: true };
    expect(((await handler(b64)) as HttpResult).statusCode).toBe(201);
    const bad = (await handler(httpApiEvent("POST", "/register", "{", { "content-type": "application/json" }))) as HttpResult;
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(bad.body).error).toBe("invalid_request");
  });

  it("answers the token endpoint with its JSON, the no-store headers and the standard ones, once each", async () => {
    const credentials = { username: uniqueName(), password: GOOD_PASSWORD };
    const json = { "content-type": "application/json" };
    expect(((await handler(httpApiEvent("POST", "/register", JSON.stringify(credentials), json))) as HttpResult).statusCode).toBe(201);
    const login = (await handler(httpApiEvent("POST", "/login", JSON.stringify(credentials), json))) as HttpResult;
    const refreshToken = JSON.parse(login.body).refresh_token as string;
    const form = { "content-type": "application/x-www-form-urlencoded" };
    const res = (await handler(httpApiEvent("POST", "/token", `grant_type=refresh_token&refresh_token=${encodeURIComponent(refreshToken)}`, form))) as HttpResult;
    expect(res.statusCode).toBe(200);
    expect(res.headers).toEqual({
      "content-type": "application/json",
      "cache-control": "no-store",
      pragma: "no-cache",
      "x-request-id": "JKJaXmPLvHcESHA=",
      "x-content-type-options": "nosniff",
    });
    expect(JSON.parse(res.body)).toMatchObject({ token_type: "Bearer", refresh_token: expect.any(String) });
  });

  it("refuses a body over the limit with 413, counted in bytes and whatever Content-Length claims, plain or base64", async () => {
    // 16 KiB limit (default): 6,000 three-byte characters are 18,000 bytes in 6,000 string units.
    const wide = JSON.stringify({ username: uniqueName(), password: "€".repeat(6000) });
    const plain = (await handler(httpApiEvent("POST", "/register", wide, { "content-type": "application/json", "content-length": "10" }))) as HttpResult;
    expect(plain.statusCode).toBe(413);
    expect(JSON.parse(plain.body).error).toBe("payload_too_large");
    const b64 = { ...httpApiEvent("POST", "/register", Buffer.from(wide).toString("base64"), { "content-type": "application/json" }), isBase64Encoded: true };
    expect(((await handler(b64)) as HttpResult).statusCode).toBe(413);
    const invalidUtf8 = { ...httpApiEvent("POST", "/register", Buffer.from([0x7b, 0xff, 0x7d]).toString("base64"), { "content-type": "application/json" }), isBase64Encoded: true };
    const refused = (await handler(invalidUtf8)) as HttpResult;
    expect(refused.statusCode).toBe(400);
    expect(JSON.parse(refused.body).error_description).toMatch(/UTF-8/);
  });

  it("refuses a scheduled rotation that would outrun verifier caches, and rotates when forced", async () => {
    const refused = (await handler(schedulerRotateEvent)) as Record<string, unknown>;
    expect(refused).toMatchObject({ ok: false, action: "rotate", changed: false });
    expect(String(refused.reason)).toMatch(/published for/);
    const raw = (await handler(scheduledEvent)) as Record<string, unknown>;
    expect(raw).toMatchObject({ ok: false, action: "rotate" });
    const forced = (await handler({ action: "rotate", force: true })) as { ok: boolean; version: number; published: unknown[] };
    expect(forced).toMatchObject({ ok: true, changed: true, version: 2 });
    expect(forced.published).toHaveLength(3);
  });

  it("reports the signing key's age (report-key-age, rotation, ensure-keys) in lines carrying the Lambda request id", async () => {
    const lines: Record<string, any>[] = [];
    const stop = onLogLine((line) => lines.push(JSON.parse(line)));
    try {
      const report = (await handler({ action: "report-key-age" }, { awsRequestId: "report-1" })) as { ok: boolean; ageSeconds: number };
      expect(report).toMatchObject({ ok: true, action: "report-key-age" });
      expect(report.ageSeconds).toBeGreaterThanOrEqual(0);
      expect(report.ageSeconds).toBeLessThan(600); // the key forced current by the test above
      await handler({ action: "rotate", force: true }, { awsRequestId: "rotate-1" });
      await handler(ensureKeysEvent, { awsRequestId: "ensure-1" });
    } finally {
      stop();
    }
    const ages = lines.filter((l) => l._aws?.CloudWatchMetrics?.[0]?.Metrics?.[0]?.Name === "SigningKeyAge");
    expect(ages).toHaveLength(3);
    expect(ages[0]!._aws.CloudWatchMetrics[0].Metrics[0].Unit).toBe("Seconds");
    expect(lines.find((l) => l.msg === "rotation")).toMatchObject({ requestId: "rotate-1", route: "rotate" });
    expect(lines.find((l) => l.msg === "audit" && l.event === "key.rotated")).toMatchObject({ requestId: "rotate-1", route: "rotate", forced: true });
    expect(lines.find((l) => l.msg === "ensure-keys")).toMatchObject({ requestId: "ensure-1", route: "ensure-keys" });
  });

  it("throws on an unrecognised event so a misconfigured trigger fails loudly", async () => {
    await expect(handler({ hello: "world" })).rejects.toThrow(/unrecognised event/);
  });
});
