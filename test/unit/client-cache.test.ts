/**
 * The per-instance client cache under concurrency: requests that find an id missing or stale
 * at the same moment share one storage read, a failed read is not remembered, and an update
 * made on this instance while a read is in flight is not overwritten by that read.
 */
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../functions/config.js";
import { Clients, type Client } from "../../functions/clients/clients.js";
import type { AwsClients } from "../../functions/storage/aws.js";
import type { Revocations } from "../../functions/revocations/revocations.js";

const ID = "lkc_AAAAAAAAAAAAAAAAAAAAAA";
const ENV = { LATCHKEY_ISSUER: "https://issuer.example", LATCHKEY_TABLE: "t-table", LATCHKEY_KEY_BUCKET: "b-bucket" };
const config = loadConfig(ENV);

function stored(enabled: boolean, updatedAt: number): Record<string, unknown> {
  return { pk: `CLIENT#${ID}`, sk: "CLIENT", kind: "client", clientId: ID, name: "svc", auth: "secret", secrets: [], scopes: ["read"], audiences: ["https://api.example"], enabled, createdAt: 1, updatedAt };
}

/** A table holding one client; GetItem answers when `release()` is called (or at once). */
function storage(cacheConfig = config) {
  let item = stored(true, 1);
  const gets: (() => void)[] = [];
  let failNext = false;
  let hold = false;
  let queries = 0;
  const aws = {
    ddb: {
      send: async (command: { constructor: { name: string }; input: { Item?: Record<string, unknown> } }) => {
        if (command.constructor.name === "QueryCommand") {
          queries++;
          if (hold) await new Promise<void>((resolve) => gets.push(resolve));
          return { Items: [{ pk: "ORIGIN#https://app.example", sk: `CLIENT#${ID}` }] };
        }
        if (command.constructor.name === "PutCommand") {
          item = { ...command.input.Item! };
          return {};
        }
        const answer = { Item: { ...item } };
        if (hold) await new Promise<void>((resolve) => gets.push(resolve));
        if (failNext) {
          failNext = false;
          throw Object.assign(new Error("throttled"), { name: "ThrottlingException" });
        }
        return answer;
      },
    },
  } as unknown as AwsClients;
  return {
    clients: new Clients(cacheConfig, aws, { revokeClient: async () => {}, reinstateClient: async () => {} } as unknown as Revocations),
    gets,
    holdReads: (on: boolean) => (hold = on),
    failNextRead: () => (failNext = true),
    release: () => gets.splice(0).forEach((resolve) => resolve()),
    queries: () => queries,
  };
}

describe("client cache", () => {
  it("sixteen requests for an uncached id send one read and all get its record", async () => {
    const s = storage();
    s.holdReads(true);
    const pending = Array.from({ length: 16 }, () => s.clients.get(ID));
    await new Promise((r) => setImmediate(r));
    expect(s.gets).toHaveLength(1);
    s.release();
    const answers = await Promise.all(pending);
    expect(answers.every((c) => c?.clientId === ID && c.enabled)).toBe(true);
    expect(s.clients.cached(ID)?.client?.clientId).toBe(ID);
  });

  it("a failed read fails the requests that shared it, and the next request reads again", async () => {
    const s = storage();
    s.holdReads(true);
    s.failNextRead();
    const pending = Array.from({ length: 3 }, () => s.clients.get(ID).then(() => "ok", (e: Error) => e.name));
    await new Promise((r) => setImmediate(r));
    s.release();
    expect(await Promise.all(pending)).toEqual(["ThrottlingException", "ThrottlingException", "ThrottlingException"]);
    expect(s.clients.cached(ID)).toBeUndefined();
    const again = s.clients.get(ID);
    await new Promise((r) => setImmediate(r));
    expect(s.gets).toHaveLength(1); // a new read, not the failed one
    s.release();
    expect((await again)?.clientId).toBe(ID);
  });

  it("an update on this instance during a read keeps that read's older record out of the cache", async () => {
    const s = storage();
    s.holdReads(true);
    const before = s.clients.get(ID); // reads the enabled record, answered later
    await new Promise((r) => setImmediate(r));
    s.holdReads(false);
    const disabled: Client = await s.clients.setEnabled(ID, false);
    expect(disabled.enabled).toBe(false);
    s.release();
    expect((await before)?.enabled).toBe(true); // what that request read
    expect(s.clients.cached(ID)).toBeUndefined(); // but it is not what the next one uses
    expect((await s.clients.get(ID))?.enabled).toBe(false);
  });

  it("sixteen browser requests from an origin not yet cached send one query", async () => {
    const s = storage();
    s.holdReads(true);
    const pending = Array.from({ length: 16 }, () => s.clients.allowsBrowserOrigin("https://app.example"));
    await new Promise((r) => setImmediate(r));
    expect(s.queries()).toBe(1);
    s.release();
    expect((await Promise.all(pending)).every((allowed) => allowed)).toBe(true);
    expect(await s.clients.allowsBrowserOrigin("https://app.example")).toBe(true); // cached now
    expect(s.queries()).toBe(1);
  });

  it("a finished origin query is not shared with later requests: with no cache, each one asks again", async () => {
    const s = storage(loadConfig({ ...ENV, LATCHKEY_CLIENT_CACHE_SECONDS: "0" }));
    expect(await s.clients.allowsBrowserOrigin("https://app.example")).toBe(true);
    expect(await s.clients.allowsBrowserOrigin("https://app.example")).toBe(true);
    expect(s.queries()).toBe(2);
  });
});
