/**
 * The Lambda adapter looks Node's `Request` and `Response` up on first need (reading either
 * global loads undici, 35-50 ms of a cold start; functions/http/lambda-adapter.ts `native()`).
 * Here the two globals are lazy the way Node defines them (a getter that loads, then redefines
 * the global as its value) before the adapter is imported, so the test sees what a fresh Lambda
 * process sees. Forks run each test file in its own process: the globals changed here stay here.
 * The fresh-process image test checks the same on the built bundle (test/image/bundle.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Hono } from "hono";
import type { AppEnv } from "../../functions/http/env.js";
import type { HttpApiEvent, HttpApiResult } from "../../functions/http/lambda-adapter.js";
import { httpApiEvent } from "../support/events.js";

const RealRequest = globalThis.Request;
const RealResponse = globalThis.Response;
const RealHeaders = globalThis.Headers;
const NAMES = ["Request", "Response", "Headers"] as const;
const saved = NAMES.map((name) => [name, Object.getOwnPropertyDescriptor(globalThis, name)!] as const);
const reads: string[] = [];

/** As node's defineLazyProperties does it (lib/internal/util.js). */
function lazyGlobal(name: (typeof NAMES)[number], value: unknown): void {
  const set = (v: unknown) => Object.defineProperty(globalThis, name, { configurable: true, enumerable: false, writable: true, value: v });
  Object.defineProperty(globalThis, name, {
    configurable: true,
    enumerable: false,
    get() {
      reads.push(name);
      set(value);
      return value;
    },
    set,
  });
}

let invoke: (event: object) => Promise<HttpApiResult>;

beforeAll(async () => {
  lazyGlobal("Request", RealRequest);
  lazyGlobal("Response", RealResponse);
  lazyGlobal("Headers", RealHeaders);
  const { lambdaHttpHandler } = await import("../../functions/http/lambda-adapter.js");
  const app = new Hono<AppEnv>();
  app.post("/plain", (c) => new Response(JSON.stringify({ ok: true }), { status: 200, headers: { "content-type": "application/json" } }));
  // The first thing this route does with undici is `instanceof Request` on the adapter's request.
  app.get("/is-request", (c) => {
    const readsBefore = [...reads];
    const isRequest = c.req.raw instanceof Request;
    return new Response(JSON.stringify({ isRequest, readsBefore }), { headers: { "content-type": "application/json" } });
  });
  const handler = lambdaHttpHandler(app);
  invoke = (event) => handler(event as HttpApiEvent);
});

afterAll(() => {
  for (const [name, descriptor] of saved) Object.defineProperty(globalThis, name, descriptor);
});

describe("the Lambda adapter's view of Request and Response in a fresh process", () => {
  it("imports and answers a plain request without reading Request, Response or Headers", async () => {
    expect(reads).toEqual([]);
    const res = await invoke(httpApiEvent("POST", "/plain", "x=1", { "content-type": "application/x-www-form-urlencoded" }));
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ ok: true });
    expect(reads).toEqual([]);
  });

  it("makes `instanceof Request` true for its request even when that is the first thing asked", async () => {
    const res = await invoke(httpApiEvent("GET", "/is-request"));
    const seen = JSON.parse(res.body);
    expect(seen.readsBefore).toEqual([]);
    expect(seen.isRequest).toBe(true);
    // Node's classes were looked up through the globals' own getters, once each...
    expect(reads.sort()).toEqual(["Request", "Response"]);
    // ...and the globals are what the adapter serves with: its Response, Node's Request.
    expect(globalThis.Response).not.toBe(RealResponse);
    expect(new Response("x")).toBeInstanceOf(RealResponse);
    expect(Object.getOwnPropertyDescriptor(globalThis, "Request")!.value).toBe(RealRequest);
  });
});
