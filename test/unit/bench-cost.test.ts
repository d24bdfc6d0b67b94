/**
 * The cost model `npm run bench` prices tokens with (bench/support/cost.ts): Lambda CPU share
 * scales with memory up to one vCPU at 1769 MB, duration is billed rounded up to the
 * millisecond, and every token pays one Lambda, HTTP API and CloudFront request.
 */
import { describe, expect, it } from "vitest";
import { billedMs, costPerMillion, durationMs, platformLogBytes, PRICES, requestUnits } from "../../bench/support/cost.js";
import { ACCESS_LOG_FORMAT } from "../../infra/access-log.js";

describe("bench cost model", () => {
  it("stretches CPU time below one vCPU (1769 MB) and not above it; waits do not stretch", () => {
    expect(durationMs({ cpuMicros: 1000, waitMicros: 0 }, 1769)).toBeCloseTo(1, 6);
    expect(durationMs({ cpuMicros: 1000, waitMicros: 0 }, 3538)).toBeCloseTo(1, 6);
    expect(durationMs({ cpuMicros: 1000, waitMicros: 0 }, 512)).toBeCloseTo(1769 / 512, 6);
    expect(durationMs({ cpuMicros: 1000, waitMicros: 4000 }, 256)).toBeCloseTo(1769 / 256 + 4, 6);
  });

  it("bills duration rounded up to the next millisecond, at least 1 ms", () => {
    expect(billedMs(0.2)).toBe(1);
    expect(billedMs(1)).toBe(1);
    expect(billedMs(1.0001)).toBe(2);
    expect(billedMs(6.9)).toBe(7);
  });

  it("prices a million tokens: requests, GB-seconds at the billed duration, storage units", () => {
    const c = costPerMillion({ cpuMicros: 1200, waitMicros: 0, memoryMb: 1024, storage: { readUnits: 1, writeUnits: 2 } });
    // 1.2 ms * 1769/1024 = 2.07 ms -> billed 3 ms at 1 GB.
    expect(c.billedMs).toBe(3);
    expect(c.items.lambdaDurationUsd).toBeCloseTo(1e6 * 0.003 * PRICES.lambdaArmPerGbSecond, 4);
    expect(c.items.lambdaRequestsUsd).toBeCloseTo(0.2, 6);
    expect(c.items.httpApiUsd).toBeCloseTo(1, 6);
    expect(c.items.cloudFrontRequestsUsd).toBeCloseTo(1, 6);
    expect(c.items.dynamoDbUsd).toBeCloseTo(0.125 + 2 * 0.625, 4);
    expect(c.totalUsd).toBeCloseTo(0.2 + 1 + 1 + 0.04 + 1.375, 2);
  });

  it("prices the log bytes a token leaves in CloudWatch Logs at $0.50 per GB ingested", () => {
    const base = { cpuMicros: 300, waitMicros: 0, memoryMb: 1769, storage: { readUnits: 0, writeUnits: 0 } };
    const without = costPerMillion(base);
    const withLogs = costPerMillion({ ...base, logBytes: 1024 });
    // A million tokens of 1 KiB each: 1e6 / 1024 ** 2 GiB.
    expect(without.items.cloudWatchLogsUsd).toBe(0);
    expect(withLogs.items.cloudWatchLogsUsd).toBeCloseTo((1e6 / 1024 ** 2) * 0.5, 4);
    expect(withLogs.totalUsd - without.totalUsd).toBeCloseTo(withLogs.items.cloudWatchLogsUsd, 3);
  });

  it("sizes the platform's three lines per invocation and the HTTP API's access log line in the stack's format", () => {
    const { lambda, accessLog } = platformLogBytes(1769);
    // START (~72), END (~52) and REPORT (~135) bytes with a UUID request id each.
    expect(lambda).toBeGreaterThan(3 * 36 + 120);
    expect(lambda).toBeLessThan(400);
    expect(platformLogBytes(256).lambda).toBe(lambda - 1); // "Memory Size: 256 MB" is one digit shorter
    // Every field of infra/access-log.ts, each with a sample value in place of its variable.
    const line = JSON.stringify(Object.fromEntries(Object.keys(ACCESS_LOG_FORMAT).map((k) => [k, "x"])));
    expect(accessLog).toBeGreaterThan(line.length);
    expect(accessLog).toBeLessThan(line.length + 80);
  });

  it("counts DynamoDB reads and writes by operation name", () => {
    expect(requestUnits({ GetItem: 3, Query: 1, PutItem: 2, UpdateItem: 1, DeleteItem: 1, DescribeTable: 5 })).toEqual({ readUnits: 4, writeUnits: 4 });
  });
});
