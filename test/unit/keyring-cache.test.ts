/**
 * The keyring cache and this instance's own changes: a keyring check that was in flight when
 * this instance rotated (or dropped its cache) must not put the keyring it read back over the
 * newer one. Storage is a fake holding one keyring record; key material is not read here.
 */
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../functions/config.js";
import { KeyStore } from "../../functions/keys/key-store.js";
import type { AwsClients } from "../../functions/storage/aws.js";

const config = loadConfig({ LATCHKEY_ISSUER: "https://issuer.example", LATCHKEY_TABLE: "t-table", LATCHKEY_KEY_BUCKET: "b-bucket", LATCHKEY_KEY_SIZE: "2048" });

type Command = { constructor: { name: string }; input: { Item?: Record<string, unknown>; ProjectionExpression?: string } };

/** One keyring record; version checks (the projected GetItem) and full reads wait while held. */
function storage() {
  let record: Record<string, unknown> | undefined;
  const held = { version: [] as (() => void)[], full: [] as (() => void)[] };
  const state = { holdVersion: false, holdFull: false, holdNextFull: 0, versionReads: 0, fullReads: 0 };
  const aws = {
    ddb: {
      send: async (command: Command) => {
        const name = command.constructor.name;
        if (name === "PutCommand") {
          record = { ...command.input.Item! };
          return {};
        }
        if (name !== "GetCommand") throw new Error(`unexpected ${name}`);
        const versionOnly = Boolean(command.input.ProjectionExpression);
        if (versionOnly) state.versionReads++;
        else state.fullReads++;
        // What storage held when asked.
        const answer = record ? { Item: versionOnly ? { version: record.version } : { ...record } } : {};
        const holdThisFull = !versionOnly && (state.holdFull || (state.holdNextFull > 0 && state.holdNextFull-- > 0));
        if (versionOnly ? state.holdVersion : holdThisFull) await new Promise<void>((resolve) => held[versionOnly ? "version" : "full"].push(resolve));
        return answer;
      },
    },
    s3: { send: async () => ({}) },
  } as unknown as AwsClients;
  const release = (kind: "version" | "full") => held[kind].splice(0).forEach((resolve) => resolve());
  return { aws, state, release };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("keyring cache and this instance's own changes", () => {
  it("a rotation written here while a keyring check is in flight stays: the older check does not replace it", async () => {
    const s = storage();
    let now = 1_000_000;
    const keys = new KeyStore(config, s.aws, () => now);
    await keys.ensureKeys();
    const before = await keys.state();
    expect(before?.version).toBe(1);

    now += config.keyCacheSeconds; // the cached keyring is due for its check
    s.state.holdVersion = true;
    const checking = keys.state(); // reads version 1 and waits
    await tick();
    expect(s.state.versionReads).toBe(1);
    const rotated = await keys.rotate({ force: true }); // this instance writes version 2
    expect(rotated.version).toBe(2);

    s.release("version");
    expect((await checking)?.version).toBe(1); // what storage said when that check asked
    expect((await keys.state())?.version).toBe(2); // but the cache kept this instance's write
    expect(s.state.versionReads).toBe(1); // without another read
  });

  it("a rotation written here while a full keyring read is in flight stays too", async () => {
    const s = storage();
    const keys = new KeyStore(config, s.aws, () => 1_000_000);
    await keys.ensureKeys();
    keys.invalidate(); // the next state() reads the whole record
    s.state.holdNextFull = 1;
    const reading = keys.state();
    await tick();
    expect((await keys.rotate({ force: true })).version).toBe(2); // its own read is not held
    s.release("full");
    expect((await reading)?.version).toBe(1);
    const reads = s.state.fullReads;
    expect((await keys.state())?.version).toBe(2);
    expect(s.state.fullReads).toBe(reads);
  });

  it("after invalidate(), a check already in flight is neither joined nor allowed to end the newer one", async () => {
    const s = storage();
    let now = 1_000_000;
    const keys = new KeyStore(config, s.aws, () => now);
    await keys.ensureKeys();
    const fullReadsBefore = s.state.fullReads;
    now += config.keyCacheSeconds;
    s.state.holdVersion = true;
    s.state.holdFull = true;
    const first = keys.state(); // a version check, held
    await tick();
    keys.invalidate();
    const second = keys.state(); // not joined to the first: a read of its own
    await tick();
    expect(s.state.fullReads).toBe(fullReadsBefore + 1);
    s.release("version"); // the first check ends
    expect((await first)?.version).toBe(1);
    const third = keys.state(); // joins the second, which is still in flight
    await tick();
    expect(s.state.fullReads).toBe(fullReadsBefore + 1);
    s.release("full");
    expect((await second)?.version).toBe(1);
    expect((await third)?.version).toBe(1);
  });
});
