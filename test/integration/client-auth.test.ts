/**
 * Client authentication reveals nothing before the client is proven: every failure has the
 * same status, body and challenge (the cause is logged with the request id), and an unknown
 * id is cached like a known one, so repeated probes cost no more storage reads than real use.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import type { AwsClients } from "../../functions/storage/aws.js";
import { post, skipIntegration, startTestIssuer, type TestIssuer } from "../support/issuer.js";
import { captureLogs } from "../support/logs.js";
import { interceptDdb } from "../support/aws.js";

const API = "https://api.example.com";
const BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const GENERIC = { error: "invalid_client", error_description: "client authentication failed" };

describe.skipIf(skipIntegration)("client authentication failures", () => {
  let t: TestIssuer;
  let clientReads = 0;
  const cases: [string, () => Promise<{ body: Record<string, string>; headers?: Record<string, string> }>][] = [];

  const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}` });
  const token = (body: Record<string, string>, headers: Record<string, string> = {}) =>
    post(`${t.url}/token`, new URLSearchParams({ grant_type: "client_credentials", ...body }).toString(), { "content-type": "application/x-www-form-urlencoded", ...headers });

  beforeAll(async () => {
    // Count client-record reads: the only storage work that could set unknown ids apart.
    const countingReads = (aws: AwsClients) =>
      interceptDdb(aws, (cmd, send) => {
        if (cmd instanceof GetCommand && String(cmd.input.Key?.pk).startsWith("CLIENT#")) clientReads++;
        return send(cmd);
      });
    t = await startTestIssuer({}, { wrapAws: countingReads });
    const pair = await generateKeyPair("ES256", { extractable: true });
    const jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256" }] };
    const assertionFor = (clientId: string) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: clientId, sub: clientId, aud: `${t.url}/token`, iat: now, exp: now + 60, jti: crypto.randomUUID() })
        .setProtectedHeader({ alg: "ES256", kid: "k1" })
        .sign(pair.privateKey);
    };
    const secret = await t.issuer.clients.create({ name: "s", scopes: ["read"], audiences: [API] });
    const jwt = await t.issuer.clients.create({ name: "j", auth: "private_key_jwt", scopes: ["read"], audiences: [API], jwks });
    const both = await t.issuer.clients.create({ name: "b", auth: "both", scopes: ["read"], audiences: [API], jwks });
    const off = await t.issuer.clients.create({ name: "d", scopes: ["read"], audiences: [API] });
    await t.issuer.clients.setEnabled(off.client.clientId, false);
    const sid = secret.client.clientId;
    cases.push(
      ["no credentials", async () => ({ body: {} })],
      ["client_id alone", async () => ({ body: { client_id: sid } })],
      ["an unknown well-formed id", async () => ({ body: {}, headers: basic("lkc_" + "Z".repeat(22), secret.clientSecret!) })],
      ["a malformed id", async () => ({ body: {}, headers: basic("nobody", secret.clientSecret!) })],
      ["a wrong secret", async () => ({ body: {}, headers: basic(sid, "lks_" + "A".repeat(43)) })],
      ["a secret of another client", async () => ({ body: {}, headers: basic(sid, both.clientSecret!) })],
      ["malformed Basic credentials", async () => ({ body: {}, headers: { authorization: "Basic !!!" } })],
      ["a secret for a private_key_jwt client", async () => ({ body: { client_id: jwt.client.clientId, client_secret: secret.clientSecret! } })],
      ["an assertion for a secret client", async () => ({ body: { client_assertion_type: BEARER_ASSERTION, client_assertion: await assertionFor(sid) } })],
      ["only the secret of a both client", async () => ({ body: {}, headers: basic(both.client.clientId, both.clientSecret!) })],
      ["a disabled client's right secret", async () => ({ body: {}, headers: basic(off.client.clientId, off.clientSecret!) })],
      ["ids that disagree", async () => ({ body: { client_id: jwt.client.clientId }, headers: basic(sid, secret.clientSecret!) })],
    );
  });
  afterAll(() => t?.close());

  it("answers every failure with the same status, body and challenge, and logs the cause with the request id", async () => {
    const causes = new Set<string>();
    for (const [label, make] of cases) {
      const { body, headers } = await make();
      const logs = captureLogs();
      let res;
      try {
        res = await token(body, headers);
      } finally {
        logs.stop();
      }
      expect(res.status, label).toBe(401);
      expect(res.json, label).toEqual(GENERIC);
      expect(res.headers.get("www-authenticate"), label).toBe('Basic realm="latchkey", error="invalid_client"');
      const logged = logs.find(res.headers.get("x-request-id"), "request refused");
      expect(logged, label).toMatchObject({ error: "invalid_client", detail: expect.any(String) });
      causes.add(String(logged!.detail));
    }
    // The log keeps the causes apart even though the answers do not.
    expect(causes.size).toBeGreaterThanOrEqual(8);
  });

  it("an unknown id, probed again, costs no storage read, as a known id in use does not", async () => {
    const unknown = "lkc_" + "Q".repeat(22);
    const probe = () => token({}, basic(unknown, "lks_" + "A".repeat(43)));
    expect((await probe()).status).toBe(401);
    const before = clientReads;
    for (let i = 0; i < 5; i++) expect((await probe()).status).toBe(401);
    expect(clientReads - before).toBe(0);
  });
});
