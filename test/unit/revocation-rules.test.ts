/** The revocation rules, without storage: what each kind of mark refuses and what it lets pass. */
import { describe, expect, it } from "vitest";
import { coveredBy, laterMark, revocationOf, secondsToWait } from "../../functions/revocations/rules.js";
import { sessionEnded } from "../../functions/users/users.js";

const token = { jti: "j1", sid: "s1", sub: "u1", client_id: undefined, iat: 1000 };

describe("revocationOf", () => {
  it("passes a token no mark concerns", () => {
    expect(revocationOf(token, {})).toBeUndefined();
  });

  it("refuses a revoked token id and a revoked session", () => {
    expect(revocationOf(token, { jti: true })).toBe("token_revoked");
    expect(revocationOf(token, { sid: true })).toBe("session_revoked");
  });

  it("refuses the subject's tokens issued up to and including the mark's second, not after", () => {
    expect(revocationOf(token, { subject: { before: 1000 } })).toBe("subject_revoked");
    expect(revocationOf(token, { subject: { before: 1001 } })).toBe("subject_revoked");
    expect(revocationOf(token, { subject: { before: 999 } })).toBeUndefined();
  });

  it("keeps the excepted session (password change) and refuses the others and tokens without a sid", () => {
    expect(revocationOf(token, { subject: { before: 1000, exceptSid: "s1" } })).toBeUndefined();
    expect(revocationOf({ ...token, sid: "s2" }, { subject: { before: 1000, exceptSid: "s1" } })).toBe("subject_revoked");
    expect(revocationOf({ ...token, sid: undefined }, { subject: { before: 1000, exceptSid: "s1" } })).toBe("subject_revoked");
  });

  it("refuses a disabled client's tokens only when the token names that client", () => {
    expect(revocationOf({ ...token, client_id: "c1" }, { client: { before: 1000 } })).toBe("client_revoked");
    expect(revocationOf({ ...token, client_id: "c1" }, { client: { before: 999 } })).toBeUndefined();
    expect(revocationOf(token, { client: { before: 1000 } })).toBeUndefined();
  });
});

describe("laterMark", () => {
  it("never moves a mark back", () => {
    expect(laterMark({ before: 10 }, { before: 5 })).toEqual({ before: 10 });
    expect(laterMark({ before: 10 }, { before: 12, exceptSid: "a" })).toEqual({ before: 12, exceptSid: "a" });
    expect(laterMark(undefined, { before: 3 })).toEqual({ before: 3 });
  });

  it("in the same second keeps an exception only when both marks make it", () => {
    expect(laterMark({ before: 10, exceptSid: "a" }, { before: 10, exceptSid: "a" })).toEqual({ before: 10, exceptSid: "a" });
    expect(laterMark({ before: 10, exceptSid: "a" }, { before: 10, exceptSid: "b" })).toEqual({ before: 10 });
    expect(laterMark({ before: 10, exceptSid: "a" }, { before: 10 })).toEqual({ before: 10 });
    expect(laterMark({ before: 10 }, { before: 10, exceptSid: "a" })).toEqual({ before: 10 });
  });
});

describe("coveredBy and secondsToWait", () => {
  it("covers the mark's own second", () => {
    expect(coveredBy({ before: 7 }, 7, "x")).toBe(true);
    expect(coveredBy({ before: 7 }, 8, "x")).toBe(false);
  });

  it("waits out the rest of the revocation's second, and only then", () => {
    expect(secondsToWait(undefined, 5_500)).toBe(0);
    expect(secondsToWait(5, 5_250)).toBeCloseTo(0.75);
    expect(secondsToWait(5, 6_000)).toBe(0);
    expect(secondsToWait(4, 5_250)).toBe(0);
  });
});

describe("sessionEnded (refresh and browser sessions against the account state)", () => {
  const account = { disabled: false, sessionsRevokedAt: 100, survivingSid: "keep" };
  it("ends sessions created up to the account's mark except the surviving one", () => {
    expect(sessionEnded(account, { sid: "other", createdAt: 100 })).toBe(true);
    expect(sessionEnded(account, { sid: "keep", createdAt: 50 })).toBe(false);
    expect(sessionEnded(account, { sid: "new", createdAt: 101 })).toBe(false);
  });
  it("ends every session of a disabled account, and none of an account never revoked", () => {
    expect(sessionEnded({ ...account, disabled: true }, { sid: "new", createdAt: 500 })).toBe(true);
    expect(sessionEnded({ disabled: false, sessionsRevokedAt: undefined, survivingSid: undefined }, { sid: "x", createdAt: 1 })).toBe(false);
  });
});
