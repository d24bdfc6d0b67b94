/** The revocation state's per-instance cache: within its bound it saves reads, and it stays bounded. */
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../functions/config.js";
import { Revocations } from "../../functions/revocations/revocations.js";
import type { AwsClients } from "../../functions/storage/aws.js";

function counting() {
  const reads: number[] = [];
  const aws = {
    ddb: {
      send: async (command: { input: { RequestItems?: Record<string, { Keys: unknown[] }> } }) => {
        reads.push(Object.values(command.input.RequestItems ?? {})[0]?.Keys.length ?? 0);
        return { Responses: {}, UnprocessedKeys: {} };
      },
    },
  } as unknown as AwsClients;
  return { aws, reads };
}

const config = loadConfig({ LATCHKEY_ISSUER: "https://issuer.example", LATCHKEY_TABLE: "t-table", LATCHKEY_KEY_BUCKET: "b-bucket", LATCHKEY_REVOCATION_CACHE_SECONDS: "5" });
const claims = (n: number) => ({ sub: `u${n}`, jti: `j${n}`, iat: 1 });

describe("reading marks", () => {
  it("treats a mark DynamoDB TTL has not removed yet, but whose ttl has passed, as gone", async () => {
    const nowSeconds = Math.floor(Date.now() / 1000);
    for (const [ttl, expected] of [[nowSeconds - 10, undefined], [nowSeconds + 10, "token_revoked"]] as const) {
      const aws = { ddb: { send: async () => ({ Responses: { "t-table": [{ pk: "REVOKED#jti#j1", sk: "REVOKED", ttl }] }, UnprocessedKeys: {} }) } } as unknown as AwsClients;
      expect(await new Revocations(config, aws).check(claims(1))).toBe(expected);
    }
  });
});

describe("revocation cache", () => {
  it("reads once within the bound and again after it", async () => {
    const { aws, reads } = counting();
    let now = 1_000_000;
    const revocations = new Revocations(config, aws, () => now);
    await revocations.check(claims(1));
    now += 4_999;
    await revocations.check(claims(1));
    expect(reads).toEqual([2]);
    now += 1;
    await revocations.check(claims(1));
    expect(reads).toEqual([2, 2]);
  });

  it("stays bounded: a burst of distinct tokens evicts what it cached", async () => {
    const { aws, reads } = counting();
    const revocations = new Revocations(config, aws, () => 1_000_000);
    await revocations.check(claims(0));
    for (let n = 1; n <= 10_001; n++) await revocations.check(claims(n));
    const before = reads.length;
    await revocations.check(claims(0));
    expect(reads.length).toBe(before + 1);
  });
});

describe("revocation cache and this instance's own writes", () => {
  it("a token revoked here while a check's read is in flight stays revoked here: the older read does not replace the mark", async () => {
    const held: (() => void)[] = [];
    let batches = 0;
    const aws = {
      ddb: {
        send: async (command: { constructor: { name: string } }) => {
          if (command.constructor.name !== "BatchGetCommand") return {};
          batches++;
          await new Promise<void>((resolve) => held.push(resolve));
          return { Responses: {}, UnprocessedKeys: {} }; // storage had no mark when it was asked
        },
      },
    } as unknown as AwsClients;
    const revocations = new Revocations(config, aws);
    const inFlight = revocations.check(claims(1));
    await new Promise((r) => setImmediate(r));
    await revocations.revokeToken("j1", Math.floor(Date.now() / 1000) + 600);
    held.splice(0).forEach((release) => release());
    expect(await inFlight).toBeUndefined(); // the answer storage gave when asked
    expect(await revocations.check(claims(1))).toBe("token_revoked");
    expect(batches).toBe(1); // from the cache: the write, not a re-read
  });
});
