/** When a browser session counts as live: not ended, within its absolute and idle lifetimes. */
import { describe, expect, it } from "vitest";
import { isLive, type BrowserSession } from "../../functions/sessions/browser-sessions.js";

const config = { session: { idleSeconds: 3600, absoluteSeconds: 86400 } };
const session = (over: Partial<BrowserSession> = {}): BrowserSession => ({
  sid: "s", sub: "u", username: "alice", user: "alice", authTime: 1000, createdAt: 1000, lastSeenAt: 1000, expiresAt: 1000 + 86400, ended: false, ...over,
});

describe("browser session lifetime", () => {
  it("is live while used within the idle lifetime and before its absolute expiry", () => {
    expect(isLive(session(), 1000 + 3599, config)).toBe(true);
    expect(isLive(session({ lastSeenAt: 50000 }), 50000 + 3000, config)).toBe(true);
  });

  it("expires after the idle lifetime without use", () => {
    expect(isLive(session(), 1000 + 3600, config)).toBe(false);
  });

  it("expires at its absolute lifetime however recently used", () => {
    expect(isLive(session({ lastSeenAt: 1000 + 86399 }), 1000 + 86400, config)).toBe(false);
  });

  it("is not live once ended", () => {
    expect(isLive(session({ ended: true }), 1001, config)).toBe(false);
  });
});
