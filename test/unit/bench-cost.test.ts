/**
 * The cost model `npm run bench` prices tokens with (bench/support/cost.ts): Lambda CPU share
 * scales with memory up to one vCPU at 1769 MB, duration is billed rounded up to the
 * millisecond, and every token pays one Lambda, HTTP API and CloudFront request.
 */
import { describe, expect, it } from "vitest";
import { billedMs, costPerMillion, durationMs, PRICES, requestUnits } from "../../bench/support/cost.js";

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

  it("counts DynamoDB reads and writes by operation name", () => {
    expect(requestUnits({ GetItem: 3, Query: 1, PutItem: 2, UpdateItem: 1, DeleteItem: 1, DescribeTable: 5 })).toEqual({ readUnits: 4, writeUnits: 4 });
  });
});
