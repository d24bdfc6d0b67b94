/**
 * The login lockout holds under concurrency: the attempt is reserved atomically before the
 * password is checked, so at most LATCHKEY_LOGIN_MAX_FAILURES guesses per window are ever
 * evaluated. The lockout ends with its window, and a successful login resets the count.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../functions/config.js";
import { createAwsClients } from "../../functions/storage/aws.js";
import { LoginThrottle } from "../../functions/users/login-throttle.js";
import { atomicConditionalWrites, GOOD_PASSWORD, post, provisionedEnv, skipIntegration, startTestIssuer, uniqueName, type TestIssuer } from "../support/issuer.js";

const WRONG = "not the password, not even close";

describe.skipIf(skipIntegration)("login lockout", () => {
  let t: TestIssuer;
  const login = (username: string, password: string) => post(`${t.url}/login`, { username, password });
  async function registered(): Promise<string> {
    const username = uniqueName();
    expect((await post(`${t.url}/register`, { username, password: GOOD_PASSWORD })).status).toBe(201);
    return username;
  }

  beforeAll(async () => {
    // A queue deep enough for every guess: the throttle, not hash back-pressure, must stop them.
    t = await startTestIssuer({ LATCHKEY_LOGIN_MAX_FAILURES: "5", LATCHKEY_PASSWORD_HASH_QUEUE: "200" });
  });
  afterAll(() => t?.close());

  // A race of conditional writes (atomicConditionalWrites); the sequential tests below run on moto too.
  it.skipIf(!atomicConditionalWrites)("of 100 concurrent wrong guesses evaluates at most 5, and the right password after them gets 429", async () => {
    const username = await registered();
    const verify = vi.spyOn(t.issuer.users.hashing, "verify");
    try {
      const answers = await Promise.all(Array.from({ length: 100 }, () => login(username, WRONG)));
      const evaluated = verify.mock.calls.length;
      expect(evaluated).toBeGreaterThan(0);
      expect(evaluated).toBeLessThanOrEqual(5);
      expect(answers.filter((a) => a.status === 401)).toHaveLength(evaluated);
      expect(answers.filter((a) => a.status === 429)).toHaveLength(100 - evaluated);
      const right = await login(username, GOOD_PASSWORD);
      expect(right.status).toBe(429);
      expect(Number(right.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(verify.mock.calls.length).toBe(evaluated); // refused without a password check
    } finally {
      verify.mockRestore();
    }
  });

  it("a successful login resets the count", async () => {
    const username = await registered();
    for (let i = 0; i < 4; i++) expect((await login(username, WRONG)).status).toBe(401);
    expect((await login(username, GOOD_PASSWORD)).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await login(username, WRONG)).status, `guess ${i + 1} after the reset`).toBe(401);
    expect((await login(username, WRONG)).status).toBe(429);
  });
});

describe.skipIf(skipIntegration)("LoginThrottle windows (controlled clock)", () => {
  let clock = 1_900_000_000;
  let throttle: LoginThrottle;

  beforeAll(async () => {
    const config = loadConfig(await provisionedEnv({ LATCHKEY_LOGIN_MAX_FAILURES: "3", LATCHKEY_LOGIN_LOCKOUT_SECONDS: "600" }));
    throttle = new LoginThrottle(config, createAwsClients(config), () => clock);
  });

  it("locks for the rest of the window, with Retry-After counting down, and opens again when it ends", async () => {
    const start = clock;
    const name = uniqueName();
    expect(await throttle.reserve(name)).toEqual({ last: false });
    expect(await throttle.reserve(name)).toEqual({ last: false });
    expect(await throttle.reserve(name)).toEqual({ last: true });
    await expect(throttle.reserve(name)).rejects.toMatchObject({ status: 429, headers: { "Retry-After": "600" } });
    clock = start + 599;
    await expect(throttle.reserve(name)).rejects.toMatchObject({ status: 429, headers: { "Retry-After": "1" } });
    clock = start + 600;
    expect(await throttle.reserve(name)).toEqual({ last: false }); // a fresh window
    expect(await throttle.reserve(name)).toEqual({ last: false });
    clock = start;
  });

  it("reset gives the name its whole allowance back; other names are unaffected", async () => {
    const name = uniqueName();
    for (let i = 0; i < 3; i++) await throttle.reserve(name);
    await expect(throttle.reserve(name)).rejects.toMatchObject({ status: 429 });
    expect(await throttle.reserve(uniqueName())).toEqual({ last: false });
    await throttle.reset(name);
    for (let i = 0; i < 3; i++) await throttle.reserve(name);
    await expect(throttle.reserve(name)).rejects.toMatchObject({ status: 429 });
  });
});
