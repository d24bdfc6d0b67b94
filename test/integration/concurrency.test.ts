/**
 * Races that must have exactly one winner: registrations of one name, refreshes of one token.
 * Each is a race of conditional writes, so it runs where those are atomic (atomicConditionalWrites).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { atomicConditionalWrites, GOOD_PASSWORD, post, skipIntegration, startTestIssuer, uniqueName, type TestIssuer } from "../support/issuer.js";

describe.skipIf(skipIntegration || !atomicConditionalWrites)("concurrency", () => {
  let t: TestIssuer;
  beforeAll(async () => {
    t = await startTestIssuer();
  });
  afterAll(() => t?.close());

  it("8 simultaneous registrations of one name give exactly one 201", async () => {
    const username = uniqueName("race");
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => post(`${t.url}/register`, { username: i % 2 ? username : username.toUpperCase(), password: GOOD_PASSWORD })),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
    // The winner can log in; exactly one account exists.
    expect((await post(`${t.url}/login`, { username, password: GOOD_PASSWORD })).status).toBe(200);
  });

  it("6 simultaneous refreshes of one token give exactly one 200", async () => {
    const username = uniqueName("race");
    await post(`${t.url}/register`, { username, password: GOOD_PASSWORD });
    const login = await post(`${t.url}/login`, { username, password: GOOD_PASSWORD });
    const results = await Promise.all(
      Array.from({ length: 6 }, () => post(`${t.url}/refresh`, { refresh_token: login.json.refresh_token })),
    );
    const ok = results.filter((r) => r.status === 200);
    expect(ok).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 200)) {
      expect(r.status).toBe(400);
      expect(r.json.error).toBe("invalid_grant");
    }
  });
});
