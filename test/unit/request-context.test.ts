/**
 * The request context (functions/log.ts). In sequential mode (a Lambda instance, the CLI) one
 * slot holds it: every line written inside `withRequestContext`, also after awaits, carries the
 * request id, and nothing carries it once the work is over. In explicit mode (the local server,
 * many requests at once) there is no slot: a line carries the context it is given, and only that.
 */
import { afterEach, describe, expect, it } from "vitest";
import { currentRequest, onLogLine, setContextMode, setLogLevel, withRequestContext, log } from "../../functions/log.js";

afterEach(() => {
  setContextMode("explicit");
  setLogLevel("info");
});

const tick = () => new Promise((r) => setTimeout(r, 1));

function capture(): { lines: Record<string, unknown>[]; stop: () => void } {
  setLogLevel("silent");
  const lines: Record<string, unknown>[] = [];
  const stop = onLogLine((l) => lines.push(JSON.parse(l)));
  return { lines, stop };
}

describe("request context (sequential)", () => {
  it("is visible across awaits inside the work, restored after nesting, and gone once the work settles", async () => {
    setContextMode("sequential");
    const { lines, stop } = capture();
    try {
      await withRequestContext({ requestId: "outer", route: "/a" }, async () => {
        await tick();
        log.info("one");
        withRequestContext({ requestId: "inner", route: "/b" }, () => log.info("two"));
        await tick();
        log.info("three");
        log.info("four", {}, { requestId: "given", route: "/c" }); // an explicit context wins
      });
      log.info("after");
      expect(currentRequest()).toBeUndefined();
    } finally {
      stop();
    }
    expect(lines.map((l) => [l.msg, l.requestId, l.route])).toEqual([
      ["one", "outer", "/a"],
      ["two", "inner", "/b"],
      ["three", "outer", "/a"],
      ["four", "given", "/c"],
      ["after", undefined, undefined],
    ]);
  });

  it("is cleared when the work throws or rejects", async () => {
    setContextMode("sequential");
    expect(() => withRequestContext({ requestId: "x", route: "/" }, () => { throw new Error("boom"); })).toThrow("boom");
    expect(currentRequest()).toBeUndefined();
    await expect(withRequestContext({ requestId: "y", route: "/" }, async () => { await tick(); throw new Error("late"); })).rejects.toThrow("late");
    expect(currentRequest()).toBeUndefined();
  });
});

describe("request context (explicit, the default)", () => {
  it("has no slot: interleaved requests' lines carry the context each passes, never another's", async () => {
    const { lines, stop } = capture();
    const serve = (requestId: string, delay: number) => {
      const context = { requestId, route: "/r" };
      return withRequestContext(context, async () => {
        expect(currentRequest()).toBeUndefined();
        log.info("unattributed");
        await new Promise((r) => setTimeout(r, delay));
        log.info("attributed", {}, context);
      });
    };
    try {
      await Promise.all([serve("slow", 5), serve("fast", 1)]);
    } finally {
      stop();
    }
    expect(lines.map((l) => [l.msg, l.requestId])).toEqual([
      ["unattributed", undefined],
      ["unattributed", undefined],
      ["attributed", "fast"],
      ["attributed", "slow"],
    ]);
  });
});
