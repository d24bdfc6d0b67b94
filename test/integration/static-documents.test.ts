/**
 * The static /.well-known documents CloudFront serves first: ensure-keys (every deploy),
 * rotation and revocation publish them to the documents bucket, and they are byte for byte what
 * the router answers on the same paths, so a client cannot tell which origin served it.
 * Without a documents bucket (local mode) nothing is published and the router serves them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import type { CreateInvalidationCommand } from "@aws-sdk/client-cloudfront";
import { handler, resetForTests } from "../../functions/lambda.js";
import { loadConfig } from "../../functions/config.js";
import { createIssuer } from "../../functions/issuer.js";
import { createAwsClients, type AwsClients } from "../../functions/storage/aws.js";
import { publishWellKnownDocuments } from "../../functions/storage/public-documents.js";
import { WELL_KNOWN_PATHS } from "../../functions/http/well-known-documents.js";
import { provisionedEnv, skipIntegration } from "../support/issuer.js";
import { ensureKeysEvent, httpApiEvent } from "../support/events.js";
import { keys } from "../../functions/cli/keys.js";

type HttpResult = { statusCode: number; headers: Record<string, string>; body: string };
const PATHS = Object.values(WELL_KNOWN_PATHS);

describe.skipIf(skipIntegration)("static /.well-known documents", () => {
  const saved = { ...process.env };
  let aws: AwsClients;
  let bucket: string;

  beforeAll(async () => {
    const env = await provisionedEnv({ LATCHKEY_ISSUER: "https://issuer.example.com" });
    bucket = `${env.LATCHKEY_KEY_BUCKET}-docs`;
    aws = createAwsClients(loadConfig(env));
    await aws.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    Object.assign(process.env, env, { LATCHKEY_DOCUMENTS_BUCKET: bucket });
    resetForTests();
  });
  afterAll(() => {
    process.env = saved;
    resetForTests();
  });

  const published = async (path: string) => {
    const out = await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: path.slice(1) }));
    return { body: await out.Body!.transformToString(), contentType: out.ContentType, cacheControl: out.CacheControl };
  };
  const served = async (path: string) => (await handler(httpApiEvent("GET", path))) as HttpResult;

  async function expectPublishedMatchesServed() {
    for (const path of PATHS) {
      const [stored, answer] = [await published(path), await served(path)];
      expect(answer.statusCode, path).toBe(200);
      expect(stored.body, path).toBe(answer.body); // byte for byte
      expect(stored.contentType).toBe(answer.headers["content-type"]);
      expect(stored.cacheControl).toBe(answer.headers["cache-control"]);
    }
  }

  it("ensure-keys publishes all three documents, matching the router's answers", async () => {
    const result = (await handler(ensureKeysEvent)) as { documents: string[] };
    expect(result.documents.sort()).toEqual([...PATHS].sort());
    const listed = await aws.s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    expect(listed.Contents?.map((o) => o.Key).sort()).toEqual(PATHS.map((p) => p.slice(1)).sort());
    await expectPublishedMatchesServed();
    expect(JSON.parse((await published(WELL_KNOWN_PATHS.jwks)).body).keys).toHaveLength(2);
  });

  it("a rotation republishes the JWKS with the new key, still matching the router", async () => {
    const before = JSON.parse((await published(WELL_KNOWN_PATHS.jwks)).body).keys.map((k: { kid: string }) => k.kid);
    const rotated = (await handler({ action: "rotate", force: true })) as { changed: boolean; documents: string[] };
    expect(rotated.changed).toBe(true);
    expect(rotated.documents).toHaveLength(3);
    const after = JSON.parse((await published(WELL_KNOWN_PATHS.jwks)).body).keys.map((k: { kid: string }) => k.kid);
    expect(after).toHaveLength(3);
    expect(after.filter((kid: string) => !before.includes(kid))).toHaveLength(1);
    await expectPublishedMatchesServed();
  });

  it("a revocation (operator's invoke of the rotation function) drops the key from the published JWKS", async () => {
    const jwks = JSON.parse((await published(WELL_KNOWN_PATHS.jwks)).body).keys as { kid: string }[];
    const victim = jwks[0]!.kid;
    const result = (await handler({ action: "revoke", kid: victim })) as { ok: boolean; documents: string[] };
    expect(result).toMatchObject({ ok: true, action: "revoke", changed: true, documents: PATHS });
    const after = JSON.parse((await published(WELL_KNOWN_PATHS.jwks)).body).keys.map((k: { kid: string }) => k.kid);
    expect(after).not.toContain(victim);
    await expectPublishedMatchesServed();
    await expect(handler({ action: "revoke" })).rejects.toThrow(/needs the kid/);
  });

  it("the admin CLI's rotate and revoke republish them too when the stack's documents bucket is configured", async () => {
    const rotated = (await keys.commands.rotate!.run({}, { force: true }, { note: () => {} })) as { changed: boolean; documents: string[] };
    expect(rotated).toMatchObject({ changed: true, documents: PATHS });
    const kids = JSON.parse((await published(WELL_KNOWN_PATHS.jwks)).body).keys.map((k: { kid: string }) => k.kid) as string[];
    const revoked = (await keys.commands.revoke!.run({ kid: kids[0]! }, {}, { note: () => {} })) as { changed: boolean; documents: string[] };
    expect(revoked).toMatchObject({ changed: true, documents: PATHS });
    const after = JSON.parse((await published(WELL_KNOWN_PATHS.jwks)).body).keys.map((k: { kid: string }) => k.kid);
    expect(after).not.toContain(kids[0]);
    resetForTests(); // the handler's issuer cached the keyring before the CLI changed it
    await expectPublishedMatchesServed();
  });

  it("a revocation invalidates the /.well-known paths in CloudFront; a rotation or a deploy does not", async () => {
    const config = loadConfig({ ...process.env, LATCHKEY_DISTRIBUTION_ID: "E2EXAMPLE123" });
    const sent: CreateInvalidationCommand[] = [];
    const recorder = { send: async (command: CreateInvalidationCommand) => (sent.push(command), { Invalidation: { Id: "I2J0I21PCUYOIK" } }) };
    const issuer = createIssuer(config, { ...createAwsClients(config), cloudFront: async () => recorder as never });
    expect(await publishWellKnownDocuments(issuer)).toEqual({ published: PATHS });
    expect(sent).toHaveLength(0);
    expect(await publishWellKnownDocuments(issuer, { invalidate: true })).toEqual({ published: PATHS, invalidationId: "I2J0I21PCUYOIK" });
    expect(sent).toHaveLength(1);
    const batch = sent[0]!.input;
    expect(batch.DistributionId).toBe("E2EXAMPLE123");
    expect(batch.InvalidationBatch!.Paths).toEqual({ Quantity: 3, Items: PATHS });
    expect(batch.InvalidationBatch!.CallerReference).toMatch(/^latchkey-/);
  });

  it("publishes nothing without a documents bucket (local mode: the router serves them)", async () => {
    const config = loadConfig({ ...process.env, LATCHKEY_DOCUMENTS_BUCKET: "" });
    expect(await publishWellKnownDocuments(createIssuer(config))).toEqual({ published: [] });
  });
});
