/**
 * The configuration is parsed once per process, on a cold start's path: zod's eval-compiled
 * fast path (code generated with `new Function` on an object schema's first parse) costs more
 * than it saves there, 3-10 ms (functions/config.ts, issue 15). This file's first parse of the
 * config schema is watched for generated code; it runs alone in its process (vitest forks).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const RealFunction = globalThis.Function;
let generated = 0;

beforeAll(() => {
  globalThis.Function = new Proxy(RealFunction, {
    construct(target, args, newTarget) {
      generated++;
      return Reflect.construct(target, args, newTarget);
    },
    apply(target, self, args) {
      generated++;
      return Reflect.apply(target, self, args);
    },
  });
});

afterAll(() => {
  globalThis.Function = RealFunction;
});

describe("loadConfig on a cold start", () => {
  it("parses the environment without generating code", async () => {
    const { loadConfig } = await import("../../functions/config.js");
    const before = generated;
    const config = loadConfig({ LATCHKEY_ISSUER: "https://issuer.example.com", LATCHKEY_TABLE: "latchkey-table", LATCHKEY_KEY_BUCKET: "latchkey-keys", AWS_REGION: "eu-west-1" });
    expect(config.issuer).toBe("https://issuer.example.com");
    expect(generated - before).toBe(0);
  });
});
