/** The Lambda entry tells events apart by shape (realistic samples of each). */
import { describe, expect, it } from "vitest";
import { classifyEvent, ridingOutIamPropagation } from "../../functions/lambda.js";
import { ensureKeysEvent, httpApiEvent, scheduledEvent, schedulerRotateEvent } from "../support/events.js";

describe("classifyEvent", () => {
  it("routes HTTP API 2.0 events to the HTTP app", () => {
    expect(classifyEvent(httpApiEvent())).toBe("http");
  });

  it("treats the Scheduler input and raw Scheduled Events as rotation", () => {
    expect(classifyEvent(schedulerRotateEvent)).toBe("rotate");
    expect(classifyEvent(scheduledEvent)).toBe("rotate");
    expect(classifyEvent({ ...scheduledEvent, source: "aws.events" })).toBe("rotate");
    expect(classifyEvent({ action: "report-key-age" })).toBe("report-key-age");
  });

  it("recognises the deploy hook and declared-client events", () => {
    expect(classifyEvent(ensureKeysEvent)).toBe("ensure-keys");
    expect(classifyEvent({ action: "ensure-client", client: {} })).toBe("ensure-client");
    expect(classifyEvent({ action: "ensure-client", client: {}, tf: { action: "delete", prev_input: {} } })).toBe("ensure-client");
  });

  it("recognises the rollout's smoke test and an operator's revocation", () => {
    expect(classifyEvent({ action: "smoke", function: "api", version: "7" })).toBe("smoke");
    expect(classifyEvent({ action: "revoke", kid: "abc" })).toBe("revoke");
  });

  it("rejects everything else", () => {
    for (const e of [null, undefined, 42, "rotate", [], {}, { action: "drop-table" }, { version: "1.0", requestContext: { http: {} } }, { ...scheduledEvent, source: "custom.app" }, { version: "2.0", requestContext: {} }]) {
      expect(classifyEvent(e), JSON.stringify(e)).toBe("unknown");
    }
  });
});

describe("ridingOutIamPropagation", () => {
  const denied = () => Object.assign(new Error("not authorized"), { name: "AccessDenied" });

  it("retries AccessDenied until the work succeeds", async () => {
    let calls = 0;
    const result = await ridingOutIamPropagation(async () => {
      if (++calls < 3) throw denied();
      return "done";
    }, [1, 1, 1]);
    expect(result).toBe("done");
    expect(calls).toBe(3);
  });

  it("gives up after the last delay, and never retries other errors", async () => {
    let calls = 0;
    await expect(ridingOutIamPropagation(async () => { calls++; throw denied(); }, [1, 1])).rejects.toThrow("not authorized");
    expect(calls).toBe(3);
    calls = 0;
    await expect(ridingOutIamPropagation(async () => { calls++; throw new Error("boom"); }, [1, 1])).rejects.toThrow("boom");
    expect(calls).toBe(1);
  });
});
