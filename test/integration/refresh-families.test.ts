/**
 * Refresh-token families against real storage with a controlled clock: the absolute lifetime
 * and the use limit end a family, the conditional write refuses a stale digest
 * deterministically, a token the family never issued neither counts as reuse nor revokes, and
 * logs name a family only by a short hash.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { loadConfig } from "../../functions/config.js";
import { setLogLevel } from "../../functions/log.js";
import { createAwsClients, type AwsClients } from "../../functions/storage/aws.js";
import { familyRef, RefreshTokens } from "../../functions/tokens/refresh-tokens.js";
import { provisionedEnv, skipIntegration } from "../support/issuer.js";
import { interceptDdb } from "../support/aws.js";

const GRANT = { sub: "user-1", aud: "latchkey", scope: ["openid"] };

describe.skipIf(skipIntegration)("refresh-token families", () => {
  let aws: AwsClients;
  let env: Record<string, string>;
  let clock = 1_800_000_000;
  const families = (overrides: Record<string, string> = {}, clients = aws) =>
    new RefreshTokens(loadConfig({ ...env, ...overrides }), clients, { revokeSession: async () => {} }, () => clock);
  const familyIdOf = (token: string) => token.slice(4, 26);
  const stored = async (token: string) =>
    (await aws.ddb.send(new GetCommand({ TableName: env.LATCHKEY_TABLE, Key: { pk: `RTFAM#${familyIdOf(token)}`, sk: "FAMILY" }, ConsistentRead: true }))).Item!;

  beforeAll(async () => {
    env = await provisionedEnv();
    aws = createAwsClients(loadConfig(env));
  });
  afterAll(() => setLogLevel("silent"));

  it("refuses the refresh after LATCHKEY_REFRESH_MAX_USES with invalid_grant", async () => {
    const rt = families({ LATCHKEY_REFRESH_MAX_USES: "2" });
    let token = await rt.start(GRANT);
    token = (await rt.rotate(token)).token;
    token = (await rt.rotate(token)).token;
    await expect(rt.rotate(token)).rejects.toMatchObject({ code: "invalid_grant", description: expect.stringMatching(/maximum number of uses/) });
  });

  it("refuses the refresh once LATCHKEY_REFRESH_FAMILY_TTL has passed since login, however recent the last refresh", async () => {
    const rt = families({ LATCHKEY_REFRESH_FAMILY_TTL: "3600" });
    const start = clock;
    let token = await rt.start(GRANT);
    clock = start + 3599;
    token = (await rt.rotate(token)).token;
    clock = start + 3600;
    await expect(rt.rotate(token)).rejects.toMatchObject({ code: "invalid_grant" });
    clock = start;
  });

  it("refuses a stale digest at the conditional write, leaving the family as the winner wrote it", async () => {
    const rt = families();
    const first = await rt.start(GRANT);
    const snapshot = await stored(first);
    const second = (await rt.rotate(first)).token;
    // This instance reads the family as it was before the rotation (as a racing request would).
    const stale = interceptDdb(aws, (cmd, send) => (cmd instanceof GetCommand ? Promise.resolve({ Item: snapshot }) : send(cmd)));
    await expect(families({}, stale).rotate(first)).rejects.toMatchObject({ code: "invalid_grant", description: expect.stringMatching(/already been used/) });
    const after = await stored(first);
    expect(after.uses).toBe(1);
    expect(after.revoked).toBe(false);
    expect((await rt.rotate(second)).token).toMatch(/^lkr_/);
  });

  it("treats a spent token the family issued as reuse (revokes), but a made-up one as merely invalid", async () => {
    const rt = families();
    const first = await rt.start(GRANT);
    const made = first.slice(0, 26) + "x".repeat(43) + first.slice(-22);
    await expect(rt.rotate(made)).rejects.toMatchObject({ code: "invalid_grant" });
    const second = (await rt.rotate(first)).token;
    await expect(rt.rotate(first)).rejects.toMatchObject({ description: expect.stringMatching(/already been used/) });
    expect((await stored(second)).revoked).toBe(true);
  });

  it("revokes only for a token the family issued, current or spent", async () => {
    const rt = families();
    const first = await rt.start(GRANT);
    const second = (await rt.rotate(first)).token;
    for (const made of [second.slice(0, 69) + "A".repeat(22), second.slice(0, 26) + "B".repeat(61)]) {
      expect(await rt.revoke(made)).toBe(false);
    }
    expect((await stored(second)).revoked).toBe(false);
    expect(await rt.revoke(first)).toBe(true); // a spent token the family issued still ends the session
    expect((await stored(second)).revoked).toBe(true);
  });

  it("logs a short hash of the family id, never the id", async () => {
    const rt = families();
    const first = await rt.start(GRANT);
    await rt.rotate(first);
    setLogLevel("warn");
    const lines: string[] = [];
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => (lines.push(String(chunk)), true));
    try {
      await expect(rt.rotate(first)).rejects.toMatchObject({ code: "invalid_grant" });
    } finally {
      spy.mockRestore();
      setLogLevel("silent");
    }
    const line = lines.find((l) => l.includes("reuse"));
    expect(line).toBeDefined();
    expect(line).not.toContain(familyIdOf(first));
    expect(JSON.parse(line!).familyRef).toBe(familyRef(familyIdOf(first)));
    expect(familyRef(familyIdOf(first))).toHaveLength(12);
  });
});
