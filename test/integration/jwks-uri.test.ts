/**
 * jwks_uri fetches are a server-side request forgery surface: registration and every fetch
 * refuse non-https and non-public targets when deployed, the resolved address is checked by the
 * socket's own lookup (DNS rebinding), responses are capped at 64 KiB while streaming, and local
 * mode alone may use http and loopback. Real sockets on 127.0.0.1; DNS answers are injected.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { LookupAddress } from "node:dns";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from "jose";
import { checkJwksUri, isPublicAddress, jwksFetch, JWKS_MAX_BYTES, type JwksUriPolicy } from "../../functions/clients/jwks-uri.js";
import { ConfigError, loadConfig } from "../../functions/config.js";
import { InvalidRequest } from "../../functions/errors.js";
import { post, skipIntegration, startTestIssuer, type TestIssuer } from "../support/issuer.js";

const deployed: JwksUriPolicy = { allowPrivate: false, lambdaRuntimeApi: "127.0.0.1:9001" };
const local: JwksUriPolicy = { allowPrivate: true };
const fetchOptions = () => ({ headers: new Headers(), method: "GET" as const, redirect: "manual" as const, signal: AbortSignal.timeout(2000) });

describe("jwks_uri rules at registration", () => {
  it.each([
    "http://keys.example.com/jwks.json",
    "https://127.0.0.1/jwks.json",
    "https://127.1.2.3:9001/jwks.json",
    "https://localhost/jwks.json",
    "https://api.localhost/jwks.json",
    "https://169.254.169.254/latest/meta-data/",
    "https://10.0.0.5/jwks.json",
    "https://172.16.0.1/jwks.json",
    "https://192.168.1.1/jwks.json",
    "https://100.64.0.1/jwks.json",
    "https://0.0.0.0/jwks.json",
    "https://[::1]/jwks.json",
    "https://[::ffff:127.0.0.1]/jwks.json",
    "https://[fd00:ec2::254]/jwks.json",
    "https://[fe80::1]/jwks.json",
    "https://user:pass@keys.example.com/jwks.json",
    "not a url",
  ])("deployed: refuses %s", (uri) => {
    expect(() => checkJwksUri(uri, deployed)).toThrow(InvalidRequest);
  });

  it("deployed: accepts https to a public name or address", () => {
    expect(checkJwksUri("https://keys.example.com/.well-known/jwks.json", deployed).hostname).toBe("keys.example.com");
    expect(checkJwksUri("https://93.184.216.34/jwks.json", deployed).hostname).toBe("93.184.216.34");
  });

  it("local mode: accepts http and loopback, still never the Lambda runtime API", () => {
    expect(checkJwksUri("http://127.0.0.1:8080/jwks.json", local).port).toBe("8080");
    expect(() => checkJwksUri("http://127.0.0.1:9001/2018-06-01/runtime/invocation/next", { ...local, lambdaRuntimeApi: "127.0.0.1:9001" })).toThrow(/runtime API/);
    expect(() => checkJwksUri("http://localhost:9001/", { ...local, lambdaRuntimeApi: "127.0.0.1:9001" })).toThrow(/runtime API/);
  });

  it("classifies addresses by the IANA special-purpose registries", () => {
    for (const a of ["8.8.8.8", "93.184.216.34", "2606:4700::1111", "::ffff:8.8.8.8"]) expect(isPublicAddress(a), a).toBe(true);
    for (const a of ["127.0.0.1", "10.1.2.3", "169.254.169.254", "198.18.0.1", "224.0.0.1", "255.255.255.255", "::", "::1", "::ffff:10.0.0.1", "fc00::1", "2001:db8::1", "not-an-ip"]) {
      expect(isPublicAddress(a), a).toBe(false);
    }
  });

  it("config refuses the local-mode switch inside Lambda", () => {
    const base = { LATCHKEY_ISSUER: "https://auth.example.com", LATCHKEY_TABLE: "tbl", LATCHKEY_KEY_BUCKET: "bkt" };
    expect(loadConfig(base).jwksUri.allowPrivate).toBe(false);
    expect(loadConfig({ ...base, LATCHKEY_ALLOW_PRIVATE_JWKS_URI: "true" }).jwksUri.allowPrivate).toBe(true);
    expect(() => loadConfig({ ...base, LATCHKEY_ALLOW_PRIVATE_JWKS_URI: "true", AWS_LAMBDA_RUNTIME_API: "127.0.0.1:9001" })).toThrow(ConfigError);
    expect(loadConfig({ ...base, AWS_LAMBDA_RUNTIME_API: "127.0.0.1:9001" }).jwksUri.lambdaRuntimeApi).toBe("127.0.0.1:9001");
  });
});

describe("jwks_uri fetches", () => {
  let server: Server;
  let port: number;
  let connections = 0;
  let body: (res: import("node:http").ServerResponse) => void = (res) => res.end("{}");
  beforeAll(async () => {
    server = createServer((_req, res) => body(res));
    server.on("connection", () => connections++);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  afterEach(() => {
    connections = 0;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const keySet = (padding: number) => JSON.stringify({ keys: [], padding: "x".repeat(padding) });

  it("reads a key set within 64 KiB", async () => {
    body = (res) => res.setHeader("content-type", "application/json").end(keySet(100));
    const res = await jwksFetch(local)(`http://127.0.0.1:${port}/jwks.json`, fetchOptions());
    expect(res.status).toBe(200);
    expect(((await res.json()) as { keys: unknown[] }).keys).toEqual([]);
  });

  it("refuses a larger response, with Content-Length or streamed without it", async () => {
    body = (res) => res.setHeader("content-type", "application/json").end(keySet(JWKS_MAX_BYTES));
    await expect(jwksFetch(local)(`http://127.0.0.1:${port}/jwks.json`, fetchOptions())).rejects.toThrow(/larger than 65536 bytes/);
    let written = 0;
    body = (res) => {
      // Chunked, endless: only the cap ends it.
      const chunk = "x".repeat(16 * 1024);
      const pump = () => {
        while (!res.destroyed && written < 50 * 1024 * 1024 && res.write(chunk)) written += chunk.length;
        if (!res.destroyed && written < 50 * 1024 * 1024) res.once("drain", pump);
        else res.end();
      };
      pump();
    };
    await expect(jwksFetch(local)(`http://127.0.0.1:${port}/jwks.json`, fetchOptions())).rejects.toThrow(/larger than 65536 bytes/);
    expect(written).toBeLessThan(50 * 1024 * 1024); // the client hung up long before the server finished
  });

  it("deployed: a public name that resolves to loopback (DNS rebinding) is never connected to", async () => {
    const lookup = ((_host: string, _opts: unknown, cb: (e: null, a: LookupAddress[]) => void) =>
      cb(null, [{ address: "127.0.0.1", family: 4 }])) as unknown as JwksUriPolicy["lookup"];
    const fetchKeys = jwksFetch({ ...deployed, lookup });
    await expect(fetchKeys(`https://keys.example.com:${port}/jwks.json`, fetchOptions())).rejects.toThrow(/no public address/);
    expect(connections).toBe(0);
  });

  it("deployed: of several resolved addresses only public ones are used", async () => {
    const lookup = ((_host: string, _opts: unknown, cb: (e: null, a: LookupAddress[]) => void) =>
      cb(null, [
        { address: "127.0.0.1", family: 4 },
        { address: "192.0.2.1", family: 4 }, // documentation range: refused too
        { address: "::1", family: 6 },
      ])) as unknown as JwksUriPolicy["lookup"];
    await expect(jwksFetch({ ...deployed, lookup })(`https://keys.example.com:${port}/jwks.json`, fetchOptions())).rejects.toThrow(/no public address/);
    expect(connections).toBe(0);
  });

  it("deployed: http and private literals are refused before any connection", async () => {
    for (const url of [`http://127.0.0.1:${port}/jwks.json`, `https://127.0.0.1:${port}/jwks.json`, "https://127.0.0.1:9001/2018-06-01/runtime/invocation/next"]) {
      await expect(jwksFetch(deployed)(url, fetchOptions()), url).rejects.toThrow();
    }
    expect(connections).toBe(0);
  });
});

describe.skipIf(skipIntegration)("private_key_jwt with a jwks_uri, end to end", () => {
  let t: TestIssuer;
  let keys: Server;
  let keysUrl: string;
  let privateKey: CryptoKey;
  let publicJwk: JWK;
  let padding = 0;
  beforeAll(async () => {
    t = await startTestIssuer({ LATCHKEY_ALLOW_PRIVATE_JWKS_URI: "true" });
    const pair = await generateKeyPair("ES256", { extractable: true });
    privateKey = pair.privateKey;
    publicJwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256", use: "sig" };
    keys = createServer((_req, res) => res.setHeader("content-type", "application/json").end(JSON.stringify({ keys: [publicJwk], padding: "x".repeat(padding) })));
    await new Promise<void>((r) => keys.listen(0, "127.0.0.1", r));
    keysUrl = `http://127.0.0.1:${(keys.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await t?.close();
    await new Promise<void>((r) => keys.close(() => r()));
  });

  async function tokenFor(clientId: string) {
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({ iss: clientId, sub: clientId, aud: `${t.url}/token`, iat: now, exp: now + 60, jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .sign(privateKey);
    const form = new URLSearchParams({ grant_type: "client_credentials", client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", client_assertion: assertion });
    return post(`${t.url}/token`, form.toString(), { "content-type": "application/x-www-form-urlencoded" });
  }

  it("local mode fetches keys from http://127.0.0.1; an oversized key set is a 401, not memory", async () => {
    const small = await t.issuer.clients.create({ name: "uri", auth: "private_key_jwt", audiences: ["https://api.example.com"], jwksUri: `${keysUrl}/small` });
    expect((await tokenFor(small.client.clientId)).status).toBe(200);
    padding = JWKS_MAX_BYTES;
    const big = await t.issuer.clients.create({ name: "uri-big", auth: "private_key_jwt", audiences: ["https://api.example.com"], jwksUri: `${keysUrl}/big` });
    const res = await tokenFor(big.client.clientId);
    expect(res.status).toBe(401);
    expect(res.json.error).toBe("invalid_client");
  });

  it("deployed config refuses to register a loopback jwks_uri", async () => {
    const deployedIssuer = await startTestIssuer({}, { ensureKeys: false });
    try {
      await expect(
        deployedIssuer.issuer.clients.create({ name: "ssrf", auth: "private_key_jwt", audiences: ["https://api.example.com"], jwksUri: `${keysUrl}/small` }),
      ).rejects.toThrow(/https/);
      await expect(
        deployedIssuer.issuer.clients.create({ name: "ssrf", auth: "private_key_jwt", audiences: ["https://api.example.com"], jwksUri: "https://169.254.169.254/latest" }),
      ).rejects.toThrow(/public address/);
    } finally {
      await deployedIssuer.close();
    }
  });
});
