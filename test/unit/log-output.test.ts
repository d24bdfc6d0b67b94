/**
 * Output buffering (functions/log.ts), which the local server turns on: lines written in one
 * event-loop turn reach stdout in one write, in order, after the turn; off (Lambda), each line
 * is written before the call returns.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { bufferOutput, flushOutput, log, setLogLevel, writeRecord } from "../../functions/log.js";

afterEach(() => {
  bufferOutput(false);
  vi.restoreAllMocks();
});

describe("output buffering", () => {
  it("joins a turn's stdout lines into one write after the turn, in order", async () => {
    setLogLevel("info");
    const writes: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: unknown) => (writes.push(String(chunk)), true));
    bufferOutput(true);
    log.info("first");
    writeRecord({ second: true });
    log.info("third");
    expect(writes).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(writes).toHaveLength(1);
    expect(writes[0]!.trimEnd().split("\n").map((l) => JSON.parse(l).msg ?? "record")).toEqual(["first", "record", "third"]);
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
