/**
 * Output buffering (functions/log.ts), which the local server turns on: lines written close
 * together reach stdout in one write, in order, at most OUTPUT_FLUSH.afterMs later, or at once
 * when OUTPUT_FLUSH.atBytes are pending; off (Lambda), each line is written before the call returns.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { bufferOutput, flushOutput, log, OUTPUT_FLUSH, setLogLevel, writeRecord } from "../../functions/log.js";

afterEach(() => {
  vi.useRealTimers();
  bufferOutput(false);
  vi.restoreAllMocks();
});

describe("output buffering", () => {
  it("joins the lines of several event-loop turns into one write, in order, within the interval", async () => {
    setLogLevel("info");
    const writes: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: unknown) => (writes.push(String(chunk)), true));
    // The flush timer is faked so "within the interval" is exact, whatever the machine's load.
    vi.useFakeTimers({ toFake: ["setTimeout"] });
    bufferOutput(true);
    log.info("first");
    writeRecord({ second: true });
    await new Promise((r) => setImmediate(r));
    log.info("third");
    vi.advanceTimersByTime(OUTPUT_FLUSH.afterMs - 1);
    expect(writes).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(writes).toHaveLength(1);
    expect(writes[0]!.trimEnd().split("\n").map((l) => JSON.parse(l).msg ?? "record")).toEqual(["first", "record", "third"]);
  });

  it("writes at once when as much as OUTPUT_FLUSH.atBytes is pending", () => {
    setLogLevel("info");
    const writes: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: unknown) => (writes.push(String(chunk)), true));
    bufferOutput(true);
    const filler = "x".repeat(1024);
    let lines = 0;
    while (writes.length === 0 && lines < 1000) {
      writeRecord({ filler });
      lines++;
    }
    expect(writes).toHaveLength(1);
    expect(writes[0]!.length).toBeGreaterThanOrEqual(OUTPUT_FLUSH.atBytes);
    expect(lines).toBe(Math.ceil(OUTPUT_FLUSH.atBytes / (JSON.stringify({ filler }).length + 1)));
  });

  it("writes at once when off, and turning it off writes what is pending", () => {
    setLogLevel("info");
    const writes: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: unknown) => (writes.push(String(chunk)), true));
    log.info("unbuffered");
    expect(writes).toHaveLength(1);
    bufferOutput(true);
    log.info("pending");
    expect(writes).toHaveLength(1);
    flushOutput();
    expect(writes).toHaveLength(2);
    bufferOutput(false);
    log.info("direct again");
    expect(writes).toHaveLength(3);
  });
});
