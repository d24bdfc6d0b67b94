/**
 * Bodies and slow clients are bounded: a body past LATCHKEY_MAX_BODY_BYTES gets 413 as soon as
 * the limit is crossed, also when it is chunked without Content-Length, and the local server
 * gives stalled headers and bodies a deadline instead of Node's five minutes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "node:http";
import { connect } from "node:net";
import { listen, type RunningServer } from "../../functions/local/server.js";
import { skipIntegration, startTestIssuer, type TestIssuer } from "../support/issuer.js";

describe.skipIf(skipIntegration)("request limits", () => {
  let t: TestIssuer;
  let strict: RunningServer;

  beforeAll(async () => {
    t = await startTestIssuer({ LATCHKEY_MAX_BODY_BYTES: "2048" });
    strict = await listen(t.issuer, 0, "127.0.0.1", { headersMs: 300, requestMs: 600, checkMs: 100 });
  });
  afterAll(async () => {
    await strict?.close();
    await t?.close();
  });

  it("answers 413 to a chunked body (no Content-Length) once it passes the limit, without waiting for its end", async () => {
    const { port } = new URL(t.url);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, path: "/login", method: "POST", headers: { "content-type": "application/json", "transfer-encoding": "chunked" } });
      req.on("response", (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => {
          req.destroy();
          resolve({ status: res.statusCode!, body });
        });
      });
      req.on("error", reject);
      // 4 KiB, twice the limit, and then the body simply never ends.
      req.write('{"username":"' + "a".repeat(2048));
      req.write("a".repeat(2048));
      setTimeout(() => reject(new Error("no answer within 5 s: the body was buffered to its end")), 5_000).unref();
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).error).toBe("payload_too_large");
  });

  it("the local server's defaults bound headers at 10 s and the whole request at 30 s", async () => {
    const server = await listen(t.issuer);
    try {
      expect(server.timeouts).toEqual({ headersMs: 10_000, requestMs: 30_000 });
    } finally {
      await server.close();
    }
  });

  const stalled = (payload: string) =>
    new Promise<{ closedAfterMs: number; reply: string }>((resolve, reject) => {
      const started = Date.now();
      let reply = "";
      const socket = connect(strict.port, "127.0.0.1", () => socket.write(payload));
      socket.on("data", (d) => (reply += d));
      socket.on("close", () => resolve({ closedAfterMs: Date.now() - started, reply }));
      socket.on("error", () => {});
      setTimeout(() => {
        socket.destroy();
        reject(new Error("the server kept a stalled connection open for 5 s"));
      }, 5_000).unref();
    });

  it("closes a connection whose headers stall", async () => {
    const { closedAfterMs } = await stalled("POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty");
    expect(closedAfterMs).toBeLessThan(3_000);
  });

  it("answers 408 and closes when a body stalls", async () => {
    const { closedAfterMs, reply } = await stalled("POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"grant");
    expect(closedAfterMs).toBeLessThan(3_000);
    expect(reply).toMatch(/^HTTP\/1\.1 408/);
  });
});
