/**
 * Access tokens are signed inline on Lambda (one request per instance at a time: the thread
 * pool's hand-off would be CPU for nothing) and on libuv's thread pool on a server; either
 * way the token is the same RS256 JWT.
 */
import { generateKeyPairSync } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { importSPKI, jwtVerify } from "jose";
import { issueAccessToken, setSigningMode, type SigningMode } from "../../functions/tokens/access-token.js";
import type { KeyStore } from "../../functions/keys/key-store.js";
import type { Config } from "../../functions/config.js";

const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const header = Buffer.from(JSON.stringify({ alg: "RS256", typ: "at+jwt", kid: "k1" })).toString("base64url");
const keys = { signingKeyIfReady: () => undefined, signingKey: async () => ({ kid: "k1", privateKey, encodedHeader: header }) } as unknown as KeyStore;
const config = { issuer: "https://issuer.example", accessTokenTtlSeconds: 900, maxAccessTokenTtlSeconds: 3600 } as Config;

/** Issues one token; reports whether it was done within microtasks (no event-loop turn). */
async function issue(mode: SigningMode) {
  setSigningMode(mode);
  let done = false;
  const pending = issueAccessToken(keys, config, { sub: "svc", aud: "https://api.example", scope: ["read"] }).then((t) => {
    done = true;
    return t;
  });
  for (let i = 0; i < 50; i++) await Promise.resolve();
  return { doneWithoutALoopTurn: done, token: (await pending).token };
}

describe("signing mode", () => {
  afterEach(() => setSigningMode("thread-pool"));

  for (const mode of ["inline", "thread-pool"] as const) {
    it(`${mode}: issues an RS256 at+jwt that verifies with the public key`, async () => {
      const { token } = await issue(mode);
      const key = await importSPKI(publicKey.export({ format: "pem", type: "spki" }) as string, "RS256");
      const { payload, protectedHeader } = await jwtVerify(token, key, { issuer: "https://issuer.example", audience: "https://api.example", typ: "at+jwt" });
      expect(protectedHeader.kid).toBe("k1");
      expect(payload.scope).toBe("read");
    });
  }

  it("inline signs within the current turn of the event loop; the thread pool answers in a later one", async () => {
    expect((await issue("inline")).doneWithoutALoopTurn).toBe(true);
    expect((await issue("thread-pool")).doneWithoutALoopTurn).toBe(false);
  });
});
