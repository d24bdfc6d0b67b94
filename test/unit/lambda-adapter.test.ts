/**
 * The Lambda adapter (functions/http/lambda-adapter.ts): payload 2.0 events in, proxy results
 * out, the body handed to the app beside the request, and StringResponse behaving as a
 * Response everywhere something looks, without Node's Request and Response globals touched. The app's own routes are covered end to end in
 * test/integration/lambda-handler.test.ts; here a small Hono app shows each translation.
 */
import { describe, expect, it } from "vitest";
import { Hono } from "hono";
import type { AppEnv } from "../../functions/http/env.js";
import { lambdaHttpHandler, StringResponse, type HttpApiEvent } from "../../functions/http/lambda-adapter.js";
import { httpApiEvent } from "../support/events.js";
import { requestHeader } from "../../functions/http/request-header.js";
import { carriesStandardHeaders, plainAnswer } from "../../functions/http/responses.js";
import type { Context } from "hono";

const app = new Hono<AppEnv>();
app.post("/echo", (c) =>
  c.json({
    body: typeof c.env.body === "string" ? c.env.body : Buffer.from(c.env.body ?? new Uint8Array()).toString("hex"),
    cookie: c.req.header("cookie") ?? null,
    query: c.req.query("q") ?? null,
    agent: c.req.header("x-agent") ?? null,
    hasStream: c.req.raw.body !== null,
  }),
);
app.get("/cookies", (c) => {
  c.header("Set-Cookie", "a=1; Path=/", { append: true });
  c.header("Set-Cookie", "b=2; Path=/", { append: true });
  return c.text("ok");
});
app.get("/png", () => new Response(new Uint8Array([0x89, 0x50, 0x4e, 0x47]), { headers: { "Content-Type": "image/png" } }));
app.get("/stream", () => new Response(new Blob(["streamed"]).stream(), { headers: { "Content-Type": "text/plain" } }));
// Answers made with their headers as a plain record (functions/http/responses.ts plainAnswer).
const record = (headers: Record<string, string>) => () => new StringResponse("{}", { headers }) as unknown as Response;
app.get("/plain", record({ "Content-Type": "application/json", "X-Request-Id": "r-1", "Cache-Control": "no-store" }));
app.get("/plain-untyped", record({ "X-A": "1" }));
app.get("/plain-padded", record({ "X-A": " padded " }));
app.get("/plain-twice", record({ "X-A": "1", "x-a": "2" }));
app.get("/plain-cookie", record({ "Set-Cookie": "s=1; Path=/" }));
app.get("/plain-newline", record({ "X-A": "a\r\nX-Injected: 1" }));
app.get("/plain-bad-name", record({ "X A": "1" }));
app.get("/plain-added", async (c, next) => {
  await next();
  c.res.headers.set("X-Added", "later"); // as a middleware (Hono's cors) does after the route
});
app.get("/plain-added", record({ "X-A": "1" }));
// What a route sees of the request (functions/http/request-header.ts and the adapter's EventRequest).
const NAMES = ["cookie", "x-agent", "x-padded", "x-mixed", "x-absent", "tostring", "__proto__"];
app.get("/request", async (c) => {
  const mine = Object.fromEntries(NAMES.map((n) => [n, requestHeader(c, n) ?? null])); // before anything builds Headers
  const raw = c.req.raw;
  return c.json({
    mine,
    hono: Object.fromEntries(NAMES.map((n) => [n, c.req.header(n) ?? null])),
    url: raw.url,
    method: raw.method,
    isRequest: raw instanceof Request,
    body: raw.body,
    bodyUsed: raw.bodyUsed,
    signal: raw.signal instanceof AbortSignal,
    cloneText: await raw.clone().text(),
  });
});
const handler = lambdaHttpHandler(app);
const invoke = (event: object) => handler(event as HttpApiEvent);

describe("Lambda adapter", () => {
  it("hands the event's body to the app beside a bodyless request, with cookies and the query string", async () => {
    const event = { ...httpApiEvent("POST", "/echo", "grant_type=x", { "x-agent": "tést" }), cookies: ["s=1", "t=2"], rawQueryString: "q=v" };
    const res = await invoke(event);
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ body: "grant_type=x", cookie: "s=1; t=2", query: "v", agent: "t%C3%A9st", hasStream: false });
    expect(res.isBase64Encoded).toBe(false);
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
  });

  it("decodes a base64-encoded body to bytes", async () => {
    const res = await invoke({ ...httpApiEvent("POST", "/echo", Buffer.from([0xff, 0x00]).toString("base64")), isBase64Encoded: true });
    expect(JSON.parse(res.body).body).toBe("ff00");
  });

  it("answers a header undici refuses with a 400 JSON error, not a 500", async () => {
    const res = await invoke(httpApiEvent("POST", "/echo", "", { "x-agent": "a\nb" }));
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: "invalid_request" });
  });

  it("gives routes the request's headers as undici would, without building a Request until something asks for more", async () => {
    const event = {
      ...httpApiEvent("GET", "/request", undefined, { "x-agent": "tést", "x-padded": "  v \t", "X-Mixed": "M", ["__proto__"]: "p" }),
      cookies: ["s=1", "t=2"],
      rawQueryString: "q=1",
    };
    const res = await invoke(event);
    expect(res.statusCode).toBe(200);
    const seen = JSON.parse(res.body);
    expect(seen.mine).toEqual(seen.hono);
    expect(seen.mine).toEqual({ cookie: "s=1; t=2", "x-agent": "t%C3%A9st", "x-padded": "v", "x-mixed": "M", "x-absent": null, tostring: null, ["__proto__"]: "p" });
    // Request's members, but not an instance: that would read the Request global (undici).
    expect(seen).toMatchObject({ method: "GET", isRequest: false, body: null, bodyUsed: false, signal: true, cloneText: "" });
    expect(seen.url).toMatch(/^https:\/\/[^/]+\/request\?q=1$/);
  });

  it("lets a cookie header in the event win over its cookies, as before", async () => {
    const res = await invoke({ ...httpApiEvent("GET", "/request", undefined, { cookie: "h=1" }), cookies: ["s=1"] });
    expect(JSON.parse(res.body).mine.cookie).toBe("h=1");
  });

  it("answers a header name undici refuses with a 400 JSON error too", async () => {
    const res = await invoke(httpApiEvent("GET", "/request", undefined, { "x bad": "1" }));
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: "invalid_request" });
  });

  it("returns every Set-Cookie in cookies, not folded into headers", async () => {
    const res = await invoke(httpApiEvent("GET", "/cookies"));
    expect(res.cookies).toEqual(["a=1; Path=/", "b=2; Path=/"]);
    expect(res.headers).not.toHaveProperty("set-cookie");
    expect(res.body).toBe("ok");
    expect(res.headers["content-type"]).toMatch(/^text\/plain/);
  });

  it("base64-encodes a binary answer and reads a streamed one", async () => {
    const png = await invoke(httpApiEvent("GET", "/png"));
    expect(png).toMatchObject({ statusCode: 200, isBase64Encoded: true, body: Buffer.from([0x89, 0x50, 0x4e, 0x47]).toString("base64") });
    const streamed = await invoke(httpApiEvent("GET", "/stream"));
    expect(streamed).toMatchObject({ isBase64Encoded: false, body: "streamed" });
  });

  it("answers unknown routes through the app (404), not the adapter", async () => {
    expect((await invoke(httpApiEvent("GET", "/nowhere"))).statusCode).toBe(404);
  });
});

describe("Lambda adapter, answers with a plain header record", () => {
  it("writes the record out with lowercased names, as undici's Headers would", async () => {
    const res = await invoke(httpApiEvent("GET", "/plain"));
    expect(res).toEqual({
      statusCode: 200,
      headers: { "content-type": "application/json", "x-request-id": "r-1", "cache-control": "no-store" },
      body: "{}",
      isBase64Encoded: false,
    });
    expect((await invoke(httpApiEvent("GET", "/plain-untyped"))).headers).toEqual({ "x-a": "1", "content-type": "text/plain;charset=UTF-8" });
  });

  it("leaves to undici what is not plainly valid: padded values, a name given twice, Set-Cookie", async () => {
    expect((await invoke(httpApiEvent("GET", "/plain-padded"))).headers["x-a"]).toBe("padded");
    expect((await invoke(httpApiEvent("GET", "/plain-twice"))).headers["x-a"]).toBe("1, 2");
    const cookie = await invoke(httpApiEvent("GET", "/plain-cookie"));
    expect(cookie.cookies).toEqual(["s=1; Path=/"]);
    expect(cookie.headers).not.toHaveProperty("set-cookie");
    // undici refuses these outright; nothing of them reaches API Gateway.
    await expect(invoke(httpApiEvent("GET", "/plain-newline"))).rejects.toThrow(TypeError);
    await expect(invoke(httpApiEvent("GET", "/plain-bad-name"))).rejects.toThrow(TypeError);
  });

  it("includes headers set on the response after it was made", async () => {
    expect((await invoke(httpApiEvent("GET", "/plain-added"))).headers).toMatchObject({ "x-a": "1", "x-added": "later" });
  });
});

describe("StringResponse", () => {
  it("is what plainAnswer builds once the adapter serves, and leaves Node's Response global alone", async () => {
    expect(globalThis.Response).not.toBe(StringResponse);
    const c = { get: (key: string) => (key === "context" ? { requestId: "r-2" } : undefined) } as unknown as Context<AppEnv>;
    const res = plainAnswer(c, 201, "{}", { "Content-Type": "application/json" });
    expect(StringResponse.plainOf(res)).toEqual({ status: 201, text: "{}", headers: { "Content-Type": "application/json", "X-Request-Id": "r-2", "X-Content-Type-Options": "nosniff" } });
    expect(carriesStandardHeaders(res)).toBe(true);
  });

  it("defaults a string body's content type as undici does, and keeps the text without undici", () => {
    const res = new StringResponse("hello", { status: 201 });
    expect(res.status).toBe(201);
    expect(res.ok).toBe(true);
    expect(res.headers.get("content-type")).toBe("text/plain;charset=UTF-8");
    expect(StringResponse.textOf(res)).toBe("hello");
    expect(StringResponse.textOf(new StringResponse(new Uint8Array([1])))).toBeUndefined();
  });

  it("becomes a real Response with the current headers when its body is asked for", async () => {
    const res = new StringResponse(JSON.stringify({ a: 1 }), { status: 400, headers: { "X-A": "1", "Content-Type": "application/json" } });
    res.headers.set("X-B", "2");
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.bodyUsed).toBe(false);
    expect(await res.json()).toEqual({ a: 1 });
    expect(res.bodyUsed).toBe(true);
    expect(StringResponse.textOf(res)).toBeUndefined();
    expect(res.headers.get("x-b")).toBe("2");
    expect(res.status).toBe(400);
  });

  it("leaves undici's checks to undici: bad statuses and bodies on null-body statuses throw as they do natively", () => {
    expect(() => new StringResponse("x", { status: 700 })).toThrow(RangeError);
    expect(() => new StringResponse("x", { status: 204 })).toThrow(TypeError);
    expect(new StringResponse(null, { status: 304 }).status).toBe(304);
    expect(new StringResponse(null, { status: 204, statusText: "None" }).statusText).toBe("None");
  });
});
