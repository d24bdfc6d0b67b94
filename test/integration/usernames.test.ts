/**
 * Username uniqueness by confusable skeleton, against real storage: a lookalike of an existing
 * user is a 409 like a case variant, concurrent lookalikes have one winner, a claim whose user
 * never appeared is reclaimed after its grace period (and not before), and a failed user write
 * releases its claim. Every refusal is a 4xx with the rule, never a 500.
 */
import { createHash, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { skeleton } from "../../functions/users/confusables.js";
import { nowSeconds } from "../../functions/storage/dynamo.js";
import type { AwsClients } from "../../functions/storage/aws.js";
import { atomicConditionalWrites, GOOD_PASSWORD, post, skipIntegration, startTestIssuer, uniqueName, type TestIssuer } from "../support/issuer.js";

const skeletonKey = async (name: string) => ({
  pk: `SKELETON#${createHash("sha256").update(await skeleton(name)).digest("base64url")}`,
  sk: "SKELETON",
});

describe.skipIf(skipIntegration)("username lookalikes", () => {
  let t: TestIssuer;
  let failUserWrites = false;
  beforeAll(async () => {
    const wrapAws = (aws: AwsClients): AwsClients => {
      const send = aws.ddb.send.bind(aws.ddb) as (c: unknown, ...rest: unknown[]) => Promise<unknown>;
      aws.ddb.send = ((command: unknown, ...rest: unknown[]) => {
        if (failUserWrites && command instanceof PutCommand && String(command.input.Item?.pk).startsWith("USER#")) {
          return Promise.reject(Object.assign(new Error("injected"), { name: "InternalServerError", $fault: "server", $metadata: {} }));
        }
        return send(command, ...rest);
      }) as typeof aws.ddb.send;
      return aws;
    };
    t = await startTestIssuer({}, { wrapAws });
  });
  afterAll(() => t?.close());

  const register = (username: string) => post(`${t.url}/register`, { username, password: GOOD_PASSWORD });

  it("b\\u043Eb.smith (Cyrillic o) is taken once bob.smith exists, like a case variant", async () => {
    const id = randomUUID().slice(0, 6);
    expect((await register(`bob.smith.${id}`)).status).toBe(201);
    for (const lookalike of [`b\u043Eb.smith.${id}`, `BOB.SMITH.${id}`, `bob.srnith.${id}`]) {
      const res = await register(lookalike);
      expect(res.status, lookalike).toBe(409);
    }
    expect((await register(`bob.smyth.${id}`)).status).toBe(201); // a different name is fine
  });

  it.skipIf(!atomicConditionalWrites)("simultaneous registrations of lookalikes give exactly one 201", async () => {
    const id = randomUUID().slice(0, 6);
    const variants = [`olga.${id}`, `\u043Elga.${id}`, `OLGA.${id}`, `o1ga.${id}`, `\u043El\u0261a.${id}`, `olga.${id}`];
    const statuses = (await Promise.all(variants.map(register))).map((r) => r.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409, 409]);
  });

  it("a claim left by a crashed registration blocks its name for the grace period, then is taken over", async () => {
    const fresh = uniqueName("ghost");
    const stale = uniqueName("ghost");
    const table = t.config.table;
    const orphan = async (name: string, createdAt: number) =>
      t.issuer.aws.ddb.send(new PutCommand({ TableName: table, Item: { ...(await skeletonKey(name)), key: "never-written", sub: randomUUID(), createdAt } }));
    await orphan(fresh, nowSeconds());
    await orphan(stale, nowSeconds() - 120);
    expect((await register(fresh)).status).toBe(409); // may still be in flight
    const res = await register(stale);
    expect(res.status).toBe(201);
    const claim = (await t.issuer.aws.ddb.send(new GetCommand({ TableName: table, Key: await skeletonKey(stale), ConsistentRead: true }))).Item!;
    expect(claim).toMatchObject({ key: stale, sub: res.json.sub });
  });

  it("a failed user write releases its claim, so the name stays available", async () => {
    const name = uniqueName("retry");
    failUserWrites = true;
    try {
      const res = await register(name);
      expect(res.status).toBe(503);
    } finally {
      failUserWrites = false;
    }
    const claim = await t.issuer.aws.ddb.send(new GetCommand({ TableName: t.config.table, Key: await skeletonKey(name), ConsistentRead: true }));
    expect(claim.Item).toBeUndefined();
    expect((await register(name)).status).toBe(201);
  });

  it("an account made before the reserved list still logs in", async () => {
    const passwordHash = await t.issuer.users.hashing.hash(GOOD_PASSWORD);
    await t.issuer.aws.ddb.send(
      new PutCommand({ TableName: t.config.table, Item: { pk: "USER#admin", sk: "USER", sub: randomUUID(), username: "admin", passwordHash, createdAt: 1 } }),
    );
    expect((await post(`${t.url}/login`, { username: "admin", password: GOOD_PASSWORD })).status).toBe(200);
  });

  it.each([
    ["admin", /reserved/],
    ["\u0430dmin", /reserved/],
    ["lkc_" + "A".repeat(22), /reserved/],
    ["bob\u034Fsmith", /U\+034F/],
    ["\u200B\u200B\u200B", /U\+200B/],
  ])("POST /register refuses %j with 400 and the rule", async (username, rule) => {
    const res = await register(username);
    expect(res.status).toBe(400);
    expect(res.json.error_description).toMatch(rule);
  });
});
