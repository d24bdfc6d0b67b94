/**
 * The request context (functions/log.ts) in both modes: AsyncLocalStorage for a concurrent
 * server, one slot for a Lambda instance (one request at a time, no promise hooks). Either way
 * every line written inside `withRequestContext`, also after awaits, carries the request id,
 * and nothing carries it once the work is over.
 */
import { afterEach, describe, expect, it } from "vitest";
import { currentRequest, onLogLine, setContextMode, setLogLevel, withRequestContext, log, type ContextMode } from "../../functions/log.js";

afterEach(() => {
  setContextMode("concurrent");
  setLogLevel("info");
});

const tick = () => new Promise((r) => setTimeout(r, 1));

describe.each(["concurrent", "sequential"] as ContextMode[])("request context (%s)", (mode) => {
  it("is visible across awaits inside the work, restored after nesting, and gone once the work settles", async () => {
    setContextMode(mode);
    setLogLevel("silent");
    const lines: Record<string, unknown>[] = [];
    const stop = onLogLine((l) => lines.push(JSON.parse(l)));
    try {
      await withRequestContext({ requestId: "outer", route: "/a" }, async () => {
        await tick();
        log.info("one");
        withRequestContext({ requestId: "inner", route: "/b" }, () => log.info("two"));
        await tick();
        log.info("three");
      });
      log.info("after");
      expect(currentRequest()).toBeUndefined();
    } finally {
      stop();
    }
    expect(lines.map((l) => [l.msg, l.requestId])).toEqual([
      ["one", "outer"],
      ["two", "inner"],
      ["three", "outer"],
      ["after", undefined],
    ]);
  });

  it("is cleared when the work throws or rejects", async () => {
    setContextMode(mode);
    expect(() => withRequestContext({ requestId: "x", route: "/" }, () => { throw new Error("boom"); })).toThrow("boom");
    expect(currentRequest()).toBeUndefined();
    await expect(withRequestContext({ requestId: "y", route: "/" }, async () => { await tick(); throw new Error("late"); })).rejects.toThrow("late");
    expect(currentRequest()).toBeUndefined();
  });
});
