/**
 * Operations on the local server: every line a request writes carries its request id and
 * route; a token request emits its Embedded Metric Format record with the right dimensions;
 * each security event is recorded exactly once, with the request id the response's
 * X-Request-Id shows; and nothing secret (nor a refresh-token family id) appears in any line.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { flushOutput, onLogLine } from "../../functions/log.js";
import { AUDIT_EVENTS } from "../../functions/observability/audit.js";
import { atomicConditionalWrites, GOOD_PASSWORD, post, skipIntegration, startTestIssuer, uniqueName, type TestIssuer } from "../support/issuer.js";

type Line = Record<string, any>;

describe.skipIf(skipIntegration)("operations: logs, metrics and the audit trail", () => {
  let t: TestIssuer;
  const lines: Line[] = [];
  const raw: string[] = [];
  /** Everything secret this suite handled: no line may contain any of it. */
  const secrets = new Set<string>();
  let stop: () => void;

  beforeAll(async () => {
    stop = onLogLine((line) => {
      raw.push(line);
      lines.push(JSON.parse(line) as Line);
    });
    t = await startTestIssuer({ LATCHKEY_LOGIN_MAX_FAILURES: "3", LATCHKEY_CLIENT_CACHE_SECONDS: "0", LATCHKEY_SERVICE_NAME: "latchkey-test" });
  });
  afterAll(async () => {
    stop?.();
    await t?.close();
  });

  const audits = (event: string, match: Record<string, unknown> = {}) =>
    lines.filter((l) => l.msg === "audit" && l.event === event && Object.entries(match).every(([k, v]) => l[k] === v));
  // The local server gathers metric records until its output is written (functions/observability/metrics.ts).
  const emf = (metric: string) => {
    flushOutput();
    return lines.filter((l) => l._aws?.CloudWatchMetrics?.[0]?.Metrics?.some((m: { Name: string }) => m.Name === metric));
  };

  async function register(username = uniqueName(), password = GOOD_PASSWORD) {
    secrets.add(password);
    const res = await post(`${t.url}/register`, { username, password }, { "x-forwarded-for": "203.0.113.7" });
    expect(res.status).toBe(201);
    return { username, sub: res.json.sub as string, requestId: res.headers.get("x-request-id")! };
  }

  async function login(username: string, password = GOOD_PASSWORD) {
    const res = await post(`${t.url}/login`, { username, password });
    if (res.json?.refresh_token) {
      secrets.add(res.json.refresh_token);
      secrets.add(res.json.access_token);
    }
    return res;
  }

  const form = (params: Record<string, string>) =>
    post(`${t.url}/token`, new URLSearchParams(params).toString(), { "content-type": "application/x-www-form-urlencoded" });

  it("a token request emits its metric record: TokensIssued by grant and by client_id, in the namespace, for the stack", async () => {
    const { client, clientSecret } = await t.issuer.clients.create({ name: "metrics", scopes: ["read"], audiences: ["https://api.example.com"] });
    secrets.add(clientSecret!);
    const res = await form({ grant_type: "client_credentials", client_id: client.clientId, client_secret: clientSecret!, audience: "https://api.example.com" });
    expect(res.status).toBe(200);
    secrets.add(res.json.access_token);
    const records = emf("TokensIssued").filter((r) => r.clientId === client.clientId);
    expect(records).toHaveLength(1);
    const [record] = records;
    expect(record!._aws.CloudWatchMetrics[0]).toEqual({
      Namespace: "Latchkey",
      Dimensions: [
        ["service", "grant"],
        ["service", "grant", "clientId"],
      ],
      Metrics: [{ Name: "TokensIssued", Unit: "Count" }],
    });
    expect(record).toMatchObject({ service: "latchkey-test", grant: "client_credentials", clientId: client.clientId, TokensIssued: 1 });
    expect(typeof record!._aws.Timestamp).toBe("number");
  });

  it("counts every response by route and status class and times it by route", async () => {
    const bad = await form({ grant_type: "client_credentials", client_id: "lkc_nobody_nobody_nobody", client_secret: "x" });
    expect(bad.status).toBe(401);
    const requestId = bad.headers.get("x-request-id")!;
    const responses = emf("Responses").filter((r) => r.route === "/token" && r.statusClass === "4xx");
    expect(responses.length).toBeGreaterThan(0);
    expect(responses[0]!._aws.CloudWatchMetrics[0].Dimensions).toEqual([["service", "route"], ["service", "route", "statusClass"], ["service"]]);
    expect(responses[0]!.Latency).toBeGreaterThanOrEqual(0);
    const failures = emf("AuthenticationFailures").filter((r) => r.reason === "invalid_client");
    expect(failures.length).toBeGreaterThan(0);
    // A path no route serves is one bounded dimension value, not the path itself.
    await fetch(`${t.url}/no/such/${uniqueName()}`);
    expect(emf("Responses").some((r) => r.route === "(unmatched)" && r.statusClass === "4xx")).toBe(true);
    expect(emf("Responses").some((r) => String(r.route).startsWith("/no/such"))).toBe(false);
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("every line a request writes carries its request id and route", async () => {
    const { username } = await register();
    const res = await login(username);
    const requestId = res.headers.get("x-request-id")!;
    const own = lines.filter((l) => l.requestId === requestId);
    expect(own.map((l) => l.event ?? l.msg)).toContain("user.login_succeeded");
    for (const l of own) expect(l.route).toBe("/login");
  });

  it("user.registered, user.login_succeeded and user.login_failed: once each, with the response's request id and the caller's address", async () => {
    const { username, sub, requestId } = await register();
    expect(audits("user.registered", { sub })).toEqual([expect.objectContaining({ requestId, username, route: "/register", sourceIp: expect.stringMatching(/127\.0\.0\.1/), forwardedFor: "203.0.113.7" })]);

    const ok = await login(username);
    expect(ok.status).toBe(200);
    expect(audits("user.login_succeeded", { sub })).toEqual([expect.objectContaining({ requestId: ok.headers.get("x-request-id"), username })]);

    const wrong = await login(username, "not the password at all!");
    expect(wrong.status).toBe(401);
    expect(audits("user.login_failed", { sub })).toEqual([
      expect.objectContaining({ requestId: wrong.headers.get("x-request-id"), reason: "wrong_password", username }),
    ]);

    // An unknown name is recorded without the name: it may be a password typed in the wrong box.
    const typo = `${GOOD_PASSWORD} typed as a name`;
    const unknown = await login(typo);
    const unknownId = unknown.headers.get("x-request-id");
    expect(audits("user.login_failed", { requestId: unknownId })).toEqual([expect.objectContaining({ reason: "unknown_user" })]);
    expect(raw.some((l) => l.includes(typo))).toBe(false);
  });

  it("requests served at the same time each record their own request id (the local server passes contexts, it keeps none in a shared slot)", async () => {
    const people = await Promise.all(Array.from({ length: 6 }, () => register()));
    const failures = await Promise.all(people.map((p) => login(p.username, `not ${p.username}'s password`)));
    expect(failures.map((f) => f.status)).toEqual(people.map(() => 401));
    people.forEach((p, i) => {
      expect(audits("user.login_failed", { sub: p.sub })).toEqual([
        expect.objectContaining({ requestId: failures[i]!.headers.get("x-request-id"), route: "/login" }),
      ]);
    });
  });

  it("user.locked: once, on the failure that reaches the limit, not on the refusals after it", async () => {
    const { username, sub } = await register();
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await login(username, `wrong password number ${i}`));
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401, 429, 429]);
    expect(audits("user.locked", { sub })).toEqual([expect.objectContaining({ requestId: answers[2]!.headers.get("x-request-id") })]);
    expect(audits("user.login_failed", { sub })).toHaveLength(3);
    expect(emf("Lockouts").length).toBeGreaterThan(0);
  });

  it("refresh.reuse_detected: once per family, even when the spent token is replayed concurrently and again later", async () => {
    const { username, sub } = await register();
    const first = await login(username);
    const spent = first.json.refresh_token as string;
    const rotated = await post(`${t.url}/refresh`, { refresh_token: spent });
    expect(rotated.status).toBe(200);
    secrets.add(rotated.json.refresh_token);
    // Where conditional writes are not atomic (moto: atomicConditionalWrites) it replays in turn.
    const replay = () => post(`${t.url}/refresh`, { refresh_token: spent });
    const replays = atomicConditionalWrites ? await Promise.all([1, 2, 3].map(replay)) : [await replay(), await replay(), await replay()];
    expect(replays.map((r) => r.status)).toEqual([400, 400, 400]);
    const later = await post(`${t.url}/refresh`, { refresh_token: rotated.json.refresh_token });
    expect(later.status).toBe(400);
    const detected = audits("refresh.reuse_detected", { sub });
    expect(detected).toHaveLength(1);
    expect(replays.map((r) => r.headers.get("x-request-id"))).toContain(detected[0]!.requestId);
    expect(detected[0]).not.toHaveProperty("familyId");
    expect(emf("RefreshReuseDetected").length).toBeGreaterThan(0);
  });

  // A deliberate race of conditional writes (atomicConditionalWrites).
  it.skipIf(!atomicConditionalWrites)("refresh.reuse_detected: once when concurrent replays all read the family before any of them revokes it", async () => {
    // Hold every family-revoking write until all three replays have reached it: a real race.
    let arrived = 0;
    let release!: () => void;
    const together = new Promise<void>((resolve) => (release = resolve));
    const racing = await startTestIssuer({ LATCHKEY_LOG_LEVEL: "silent" }, {
      wrapAws: (aws) => ({
        ...aws,
        ddb: {
          send: async (command: { input?: { UpdateExpression?: string } }, ...rest: unknown[]) => {
            if (command.input?.UpdateExpression?.includes("revoked = :true")) {
              if (++arrived === 3) release();
              await Promise.race([together, new Promise((r) => setTimeout(r, 1000))]);
            }
            return (aws.ddb.send as (...a: unknown[]) => Promise<unknown>)(command, ...rest);
          },
        } as unknown as typeof aws.ddb,
      }),
    });
    try {
      const family = await racing.issuer.refreshTokens.start({ sub: "racer", aud: "latchkey", scope: [] });
      secrets.add(family);
      const next = await racing.issuer.refreshTokens.rotate(family);
      secrets.add(next.token);
      const outcomes = await Promise.allSettled([1, 2, 3].map(() => racing.issuer.refreshTokens.rotate(family)));
      expect(outcomes.map((o) => o.status)).toEqual(["rejected", "rejected", "rejected"]);
      expect(arrived).toBe(3);
      expect(audits("refresh.reuse_detected", { sub: "racer" })).toHaveLength(1);
    } finally {
      await racing.close();
    }
  });

  it("client.created, client.disabled, client.enabled, client.secret_rotated: once per change", async () => {
    const { client, clientSecret } = await t.issuer.clients.create({ name: "audited" });
    secrets.add(clientSecret!);
    const clientId = client.clientId;
    await t.issuer.clients.setEnabled(clientId, false);
    await t.issuer.clients.setEnabled(clientId, false); // no change, no record
    await t.issuer.clients.setEnabled(clientId, true);
    const rotated = await t.issuer.clients.rotateSecret(clientId);
    secrets.add(rotated.clientSecret);
    expect(audits("client.created", { clientId })).toEqual([expect.objectContaining({ name: "audited", auth: "secret" })]);
    expect(audits("client.disabled", { clientId })).toHaveLength(1);
    expect(audits("client.enabled", { clientId })).toHaveLength(1);
    expect(audits("client.secret_rotated", { clientId })).toHaveLength(1);
  });

  it("key.rotated and key.revoked: once each, naming the keys", async () => {
    const before = (await t.issuer.keys.read())!;
    const nextKid = before.keys.find((k) => k.status === "next")!.kid;
    await t.issuer.keys.rotate({ force: true });
    expect(audits("key.rotated", { kid: nextKid })).toEqual([expect.objectContaining({ forced: true })]);
    await t.issuer.keys.revoke(nextKid);
    expect(audits("key.revoked", { kid: nextKid })).toHaveLength(1);
    expect(audits("key.rotated")).toHaveLength(1);
  });

  describe("with an EventBridge bus (LATCHKEY_AUDIT_EVENT_BUS)", () => {
    // A stand-in for the EventBridge API (JSON 1.1 protocol): records PutEvents calls, and
    // refuses them while `refuse` is set: the whole call (a missing bus, a denied call), or the
    // entry inside a 200 answer (PutEvents reports per-entry failures that way).
    const calls: { target: string; body: any }[] = [];
    let refuse: false | "call" | "entry" = false;
    let bus: Server;
    let withBus: TestIssuer;

    beforeAll(async () => {
      bus = createServer((req, res) => {
        let body = "";
        req.on("data", (chunk) => (body += chunk));
        req.on("end", () => {
          calls.push({ target: String(req.headers["x-amz-target"]), body: JSON.parse(body) });
          res.setHeader("content-type", "application/x-amz-json-1.1");
          if (refuse === "call") {
            res.statusCode = 400;
            res.end(JSON.stringify({ __type: "ResourceNotFoundException", message: "Event bus security-events does not exist." }));
          } else if (refuse === "entry") {
            res.end(JSON.stringify({ FailedEntryCount: 1, Entries: [{ ErrorCode: "InternalException", ErrorMessage: "try again" }] }));
          } else {
            res.end(JSON.stringify({ FailedEntryCount: 0, Entries: [{ EventId: `e-${calls.length}` }] }));
          }
        });
      });
      await new Promise<void>((resolve) => bus.listen(0, "127.0.0.1", resolve));
      const endpoint = `http://127.0.0.1:${(bus.address() as AddressInfo).port}`;
      withBus = await startTestIssuer({ LATCHKEY_AUDIT_EVENT_BUS: "security-events", LATCHKEY_EVENTBRIDGE_ENDPOINT: endpoint });
    });
    afterAll(async () => {
      await withBus?.close();
      bus?.close();
    });

    it("puts each audit record on the bus once, before the response: source latchkey, detail-type the event", async () => {
      const username = uniqueName();
      const res = await post(`${withBus.url}/register`, { username, password: GOOD_PASSWORD });
      expect(res.status).toBe(201);
      // Delivery is awaited before the response goes out: it is there already.
      const entries = calls.filter((c) => c.target === "AWSEvents.PutEvents").flatMap((c) => c.body.Entries);
      const registered = entries.filter((e: any) => e.DetailType === "user.registered" && JSON.parse(e.Detail).username === username);
      expect(registered).toHaveLength(1);
      expect(registered[0]).toMatchObject({ EventBusName: "security-events", Source: "latchkey" });
      expect(JSON.parse(registered[0].Detail)).toMatchObject({ event: "user.registered", requestId: res.headers.get("x-request-id"), sub: res.json.sub });
    });

    it.each([
      ["call", "ResourceNotFoundException"],
      ["entry", "InternalException"],
    ] as const)("a bus that refuses the %s fails nothing: the request succeeds and the failure is logged with the request id", async (mode, error) => {
      refuse = mode;
      try {
        const res = await post(`${withBus.url}/register`, { username: uniqueName(), password: GOOD_PASSWORD });
        expect(res.status).toBe(201);
        const requestId = res.headers.get("x-request-id");
        expect(lines.filter((l) => l.requestId === requestId && l.msg === "audit event not delivered to the event bus")).toEqual([
          expect.objectContaining({ level: "error", event: "user.registered", error }),
        ]);
        expect(audits("user.registered", { requestId })).toHaveLength(1); // the log line is still written
      } finally {
        refuse = false;
      }
    });
  });

  it("records only the event names in the list, and none of them twice for one request", () => {
    const recorded = lines.filter((l) => l.msg === "audit");
    expect(recorded.length).toBeGreaterThan(10);
    for (const r of recorded) expect(AUDIT_EVENTS).toContain(r.event);
    const seen = new Set<string>();
    for (const r of recorded.filter((r) => r.requestId)) {
      const key = `${r.requestId} ${r.event}`;
      expect(seen.has(key), key).toBe(false);
      seen.add(key);
    }
  });

  it("every audit record an HTTP request caused carries a request id and route (the context was passed all the way down)", () => {
    // This suite also changes clients and keys, and races refresh tokens ("racer"), by calling
    // the services directly (no request): those records carry none.
    const direct = (l: Line) => l.event.startsWith("client.") || l.event.startsWith("key.") || l.sub === "racer";
    const recorded = lines.filter((l) => l.msg === "audit" && !direct(l));
    expect(new Set(recorded.map((r) => r.event)).size).toBeGreaterThanOrEqual(5);
    for (const r of recorded) expect(r, r.event).toMatchObject({ requestId: expect.any(String), route: expect.stringMatching(/^\//) });
  });

  it("no line holds a password, a client secret, a token or a refresh-token family id", () => {
    expect(secrets.size).toBeGreaterThan(5);
    const familyIds = [...secrets].filter((s) => s.startsWith("lkr_")).map((s) => s.slice(4, 26));
    expect(familyIds.length).toBeGreaterThan(2);
    for (const line of raw) {
      for (const s of [...secrets, ...familyIds]) expect(line.includes(s), `a line contains ${s.slice(0, 8)}...`).toBe(false);
    }
  });
});
