/**
 * Metric records (functions/observability/metrics.ts), written by hand in CloudWatch's
 * Embedded Metric Format: each record carries only its own dimensions and metrics, in the
 * shape infra/monitoring.ts's alarms read, and the dimension sets that share a key on purpose
 * write no warning line. During a request they wait for its end and go out in one write.
 */
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from "vitest";
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
