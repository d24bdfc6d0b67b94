/**
 * Child process: the Latchkey router on Node's http server (what `npm start` runs), talking
 * to storage at the endpoints in its environment. Its CPU time is the issuer's alone.
 *
 * Calls: `cpu`; `createClient` -> { clientId, clientSecret } (a secret client, created the way
 * the admin CLI does, through `issuer.clients.create`).
 */
import { loadConfig } from "../../functions/config.js";
import { createIssuer } from "../../functions/issuer.js";
import { listen } from "../../functions/local/server.js";
import { freePort } from "../../functions/local/server.js";
import type { NewClient } from "../../functions/clients/clients.js";
import { serveParent } from "./child.js";

export interface LatchkeyReady {
  url: string;
  keyCacheSeconds: number;
  /** libuv's pool size this process started with (set by npm start's preload unless given). */
  threadPoolSize: string | undefined;
}

async function main(): Promise<void> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = loadConfig({ ...process.env, LATCHKEY_ISSUER: url });
  const issuer = createIssuer(config);
  await issuer.keys.ensureKeys();
  await issuer.clients.digester.ensurePepper();
  const server = await listen(issuer, port);
  serveParent(
    { url, keyCacheSeconds: config.keyCacheSeconds, threadPoolSize: process.env.UV_THREADPOOL_SIZE } satisfies LatchkeyReady,
    {
      createClient: async (input) => {
        const { client, clientSecret } = await issuer.clients.create(input as NewClient);
        return { clientId: client.clientId, clientSecret };
      },
    },
    () => server.close(),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`latchkey bench server: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
