/** Serves the HTTP app on Node's http server, on loopback. Used by `npm start` and the tests. */
import { serve } from "@hono/node-server";
import { createServer, type AddressInfo } from "node:net";
import type { Issuer } from "../issuer.js";
import { createApp } from "../http/app.js";
import { bufferOutput } from "../log.js";

export interface RunningServer {
  url: string;
  port: number;
  /** As the listening server has them (read back from it). */
  timeouts: { headersMs: number; requestMs: number };
  close(): Promise<void>;
}

/**
 * How long a client may take (Node's defaults give a request up to five minutes): whole
 * headers within `headersMs`, the whole request within `requestMs`, else 408 and the
 * connection closes. Checked every `checkMs`.
 */
export interface ServerTimeouts {
  headersMs: number;
  requestMs: number;
  checkMs: number;
}

export const SERVER_TIMEOUTS: ServerTimeouts = { headersMs: 10_000, requestMs: 30_000, checkMs: 1_000 };

export async function listen(issuer: Issuer, port = 0, hostname = "127.0.0.1", timeouts = SERVER_TIMEOUTS): Promise<RunningServer> {
  const app = createApp(issuer);
  // Many requests at once: stdout is written every 25 ms or 64 KiB, and metric records are
  // gathered until then (functions/log.ts, functions/observability/metrics.ts).
  bufferOutput(true);
  const serverOptions = {
    headersTimeout: timeouts.headersMs,
    requestTimeout: timeouts.requestMs,
    connectionsCheckingInterval: timeouts.checkMs,
  };
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port, hostname, serverOptions }, (info: AddressInfo) => {
      const http = server as import("node:http").Server;
      resolve({
        url: `http://${hostname}:${info.port}`,
        port: info.port,
        timeouts: { headersMs: http.headersTimeout, requestMs: http.requestTimeout },
        close: () =>
          new Promise<void>((done) => {
            (server as import("node:http").Server).closeAllConnections?.();
            server.close(() => done());
          }),
      });
    });
    server.once("error", reject);
  });
}

/** A free TCP port on loopback (for servers whose URL must be known before they listen). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
