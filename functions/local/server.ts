/** Serves the HTTP app on Node's http server, on loopback. Used by `npm start` and the tests. */
import { serve } from "@hono/node-server";
import { createServer, type AddressInfo } from "node:net";
import type { Issuer } from "../issuer.js";
import { createApp } from "../http/app.js";

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function listen(issuer: Issuer, port = 0, hostname = "127.0.0.1"): Promise<RunningServer> {
  const app = createApp(issuer);
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port, hostname }, (info: AddressInfo) => {
      resolve({
        url: `http://${hostname}:${info.port}`,
        port: info.port,
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
