/**
 * Metric records (functions/observability/metrics.ts), written by hand in CloudWatch's
 * Embedded Metric Format: each record carries only its own dimensions and metrics, in the
 * shape infra/monitoring.ts's alarms read, and the dimension sets that share a key on purpose
 * write no warning line. During a request they wait for its end and go out in one write; where
 * output is buffered (the local server) they are gathered into one document per shape and
 * dimension values until the output is written.
 */
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from "vitest";
import { onLogLine, setLogLevel } from "../../functions/log.js";
import { metrics } from "../../functions/observability/metrics.js";

let lines: Record<string, any>[] = [];
let stop: () => void = () => {};
beforeEach(() => {
  lines = [];
  setLogLevel("silent"); // listeners still see every line
  stop = onLogLine((line) => lines.push(JSON.parse(line)));
});
afterEach(() => {
  stop();
  setLogLevel("info");
});

describe("metric records", () => {
  it("carry only their own dimensions and metrics, one record after another", () => {
    metrics.tokenIssued("client_credentials", "lkc_abcdefghijklmnopqrstuv");
    metrics.lockout();
    metrics.response("/token", 200, 1.5);
    const [token, lockout, response] = lines;
    expect(token!._aws.CloudWatchMetrics[0].Dimensions).toEqual([["service", "grant"], ["service", "grant", "clientId"]]);
    expect(token!.TokensIssued).toBe(1);
    expect(lockout!._aws.CloudWatchMetrics[0]).toMatchObject({ Dimensions: [["service"]], Metrics: [{ Name: "Lockouts", Unit: "Count" }] });
    expect(Object.keys(lockout!).sort()).toEqual(["Lockouts", "_aws", "service"]);
    expect(response!._aws.CloudWatchMetrics[0].Dimensions).toEqual([["service", "route"], ["service", "route", "statusClass"], ["service"]]);
    expect(response).not.toHaveProperty("clientId");
    expect(response).not.toHaveProperty("TokensIssued");
    expect(lines).toHaveLength(3);
  });

  it("write no warning for the dimension sets that share a key by design", () => {
    metrics.tokenIssued("client_credentials", "lkc_abcdefghijklmnopqrstuv");
    metrics.response("/token", 200, 1.5);
    expect(lines.filter((l) => l.level === "warn")).toEqual([]);
    expect(lines).toHaveLength(2);
  });
});

describe("metric records during a request (a Lambda instance: sequential context)", () => {
  it("wait in the request's context and go out together in one write when it flushes; log lines do not wait", async () => {
    const { flushDeferredRecords, setContextMode, withRequestContext } = await import("../../functions/log.js");
    setContextMode("sequential");
    onTestFinished(() => setContextMode("explicit"));
    setLogLevel("info");
    const writes: string[] = [];
    const context = { requestId: "r-1", route: "/token", deferred: [] as string[], records: { write: (chunk: string) => writes.push(chunk) } };
    withRequestContext(context, () => {
      metrics.tokenIssued("client_credentials", "lkc_abcdefghijklmnopqrstuv");
      metrics.response("/token", 200, 1.5);
    });
    expect(writes).toEqual([]);
    expect(lines).toHaveLength(0);
    flushDeferredRecords(context);
    expect(writes).toHaveLength(1);
    expect(writes[0]!.trimEnd().split("\n").map((l) => JSON.parse(l).TokensIssued ?? JSON.parse(l).Responses)).toEqual([1, 1]);
    expect(lines).toHaveLength(2);
    flushDeferredRecords(context); // nothing left: no empty write
    expect(writes).toHaveLength(1);
    // Without a deferring context (scheduled events, the CLI) a record is written at once.
    setLogLevel("silent");
    metrics.lockout();
    expect(lines).toHaveLength(3);
  });
});

describe("metric records where output is buffered (the local server)", () => {
  it("gather until the output is written: one document per shape and dimension values, values as arrays", async () => {
    const { bufferOutput, flushOutput } = await import("../../functions/log.js");
    bufferOutput(true);
    onTestFinished(() => bufferOutput(false));
    metrics.tokenIssued("client_credentials", "lkc_aaaaaaaaaaaaaaaaaaaaaa");
    metrics.response("/token", 200, 1.5);
    metrics.tokenIssued("client_credentials", "lkc_aaaaaaaaaaaaaaaaaaaaaa");
    metrics.response("/token", 201, 2.25);
    metrics.tokenIssued("client_credentials", "lkc_bbbbbbbbbbbbbbbbbbbbbb");
    metrics.response("/token", 401, 0.5);
    expect(lines).toEqual([]);
    flushOutput();
    const tokensFor = (id: string) => lines.filter((l) => l.clientId === id);
    expect(tokensFor("lkc_aaaaaaaaaaaaaaaaaaaaaa")).toEqual([expect.objectContaining({ TokensIssued: [1, 1], grant: "client_credentials" })]);
    expect(tokensFor("lkc_bbbbbbbbbbbbbbbbbbbbbb")).toEqual([expect.objectContaining({ TokensIssued: 1 })]);
    const responses = lines.filter((l) => l.route === "/token");
    expect(responses.map((r) => [r.statusClass, r.Responses, r.Latency])).toEqual([
      ["2xx", [1, 1], [1.5, 2.25]],
      ["4xx", 1, 0.5],
    ]);
    expect(responses[0]!._aws.CloudWatchMetrics[0].Dimensions).toEqual([["service", "route"], ["service", "route", "statusClass"], ["service"]]);
    expect(typeof responses[0]!._aws.Timestamp).toBe("number");
    expect(lines).toHaveLength(4);
    flushOutput(); // nothing gathered since: nothing written
    expect(lines).toHaveLength(4);
  });

  it("write a document as soon as one metric holds 100 values (the specification's limit)", async () => {
    const { bufferOutput, flushOutput } = await import("../../functions/log.js");
    bufferOutput(true);
    onTestFinished(() => bufferOutput(false));
    for (let i = 0; i < 101; i++) metrics.response("/jwks", 200, i);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.Latency).toEqual(Array.from({ length: 100 }, (_, i) => i));
    flushOutput();
    expect(lines.map((l) => l.Latency)).toEqual([lines[0]!.Latency, 100]);
  });
});

describe("gathered metric records", () => {
  it("belong to no request: written while a request's context is current, they do not go to its sink", async () => {
    const { bufferOutput, flushOutput, setContextMode, withRequestContext } = await import("../../functions/log.js");
    bufferOutput(true);
    setContextMode("sequential"); // e.g. the CLI, in the same process as a local server
    onTestFinished(() => {
      bufferOutput(false);
      setContextMode("explicit");
    });
    setLogLevel("info"); // records go to an output (else only to listeners)
    const written: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: unknown) => (written.push(String(chunk)), true));
    onTestFinished(() => {
      vi.restoreAllMocks();
    });
    metrics.response("/token", 200, 1);
    const sunk: string[] = [];
    withRequestContext({ requestId: "cli", route: "cli token", records: { write: (line: string) => sunk.push(line) } }, () => flushOutput());
    expect(sunk).toEqual([]);
    expect(written.map((w) => JSON.parse(w).route)).toEqual(["/token"]);
  });
});

describe("metric record kinds (what records of one shape and dimension values share, serialized once)", () => {
  it("keep each kind's own dimension values and metric values", () => {
    metrics.tokenIssued("client_credentials", "lkc_aaaaaaaaaaaaaaaaaaaaaa");
    metrics.tokenIssued("client_credentials", "lkc_bbbbbbbbbbbbbbbbbbbbbb");
    metrics.tokenIssued("refresh_token");
    metrics.response("/token", 200, 1.25);
    metrics.response("/token", 503, 7);
    metrics.response("/login", 200, 0.5);
    expect(lines.map((l) => [l.grant, l.clientId, l.route, l.statusClass, l.TokensIssued ?? l.Latency])).toEqual([
      ["client_credentials", "lkc_aaaaaaaaaaaaaaaaaaaaaa", undefined, undefined, 1],
      ["client_credentials", "lkc_bbbbbbbbbbbbbbbbbbbbbb", undefined, undefined, 1],
      ["refresh_token", undefined, undefined, undefined, 1],
      [undefined, undefined, "/token", "2xx", 1.25],
      [undefined, undefined, "/token", "5xx", 7],
      [undefined, undefined, "/login", "2xx", 0.5],
    ]);
    expect(lines[2]!._aws.CloudWatchMetrics[0].Dimensions).toEqual([["service", "grant"]]);
    expect(lines.every((l) => typeof l._aws.Timestamp === "number" && l.service === "latchkey")).toBe(true);
  });

  it("follow a change of namespace and service (configureMetrics)", async () => {
    const { configureMetrics, DEFAULT_NAMESPACE } = await import("../../functions/observability/metrics.js");
    onTestFinished(() => configureMetrics({ namespace: DEFAULT_NAMESPACE, service: "latchkey" }));
    metrics.lockout();
    configureMetrics({ namespace: "Other", service: "stack-b" });
    metrics.lockout();
    expect(lines.map((l) => [l._aws.CloudWatchMetrics[0].Namespace, l.service])).toEqual([
      ["Latchkey", "latchkey"],
      ["Other", "stack-b"],
    ]);
  });

  it("write a value that is not a finite number as null, alone and gathered, so the line stays JSON", async () => {
    const { bufferOutput, flushOutput } = await import("../../functions/log.js");
    metrics.signingKeyAge(Number.NaN);
    bufferOutput(true);
    onTestFinished(() => bufferOutput(false));
    metrics.response("/jwks", 200, Number.POSITIVE_INFINITY);
    metrics.response("/jwks", 200, 2);
    flushOutput();
    expect(lines.map((l) => ("SigningKeyAge" in l ? l.SigningKeyAge : l.Latency))).toEqual([null, [null, 2]]);
  });

  it("are held up to a bound: a flood of distinct dimension values costs time, not memory", async () => {
    const { MAX_KINDS, kindsHeld } = await import("../../functions/observability/metrics.js");
    for (let i = 0; i <= MAX_KINDS + 10; i++) metrics.authenticationFailed(`reason_${i}`);
    expect(kindsHeld()).toBeLessThanOrEqual(MAX_KINDS);
    expect(lines.at(-1)!.reason).toBe(`reason_${MAX_KINDS + 10}`);
  });
});
