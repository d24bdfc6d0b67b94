/**
 * Metric records (functions/observability/metrics.ts) come from one Powertools instance per
 * process (issue 15: an instance per record cost ~0.4 ms of CPU per token). These pin what
 * sharing it must not change: each record carries only its own dimensions and metrics, and
 * the dimension sets that share a key on purpose write no warning line per record.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
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
