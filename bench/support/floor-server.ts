/**
 * Child process: the floor of a client_credentials token on node:http, for reference. No
 * framework, no storage, no logs: parse Basic credentials and the form, compare one HMAC
 * digest, build RFC 9068 claims, sign RS256 (crypto.sign callback, the thread pool, as
 * Latchkey's local server does) and answer JSON. What Latchkey spends beyond this is what its
 * framework, validation, logging and metrics cost.
 *
 * Env: BENCH_CLIENT_ID, BENCH_CLIENT_SECRET, BENCH_AUDIENCE.
 */
import { createServer } from "node:http";
import { createHmac, generateKeyPairSync, randomBytes, randomUUID, sign, timingSafeEqual } from "node:crypto";
import { freePort } from "../../functions/local/server.js";
import { serveParent } from "./child.js";

async function main(): Promise<void> {
  const clientId = process.env.BENCH_CLIENT_ID!;
  const pepper = randomBytes(32);
  const digest = (s: string) => createHmac("sha256", pepper).update(s).digest();
  const stored = digest(process.env.BENCH_CLIENT_SECRET!);
  const audience = process.env.BENCH_AUDIENCE!;
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: "jwk" }), kid: "floor", alg: "RS256", use: "sig" };
  const header = Buffer.from(JSON.stringify({ alg: "RS256", typ: "at+jwt", kid: "floor" })).toString("base64url");
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", "content-length": Buffer.byteLength(text) });
      res.end(text);
    };
    if (req.method === "GET" && req.url === "/.well-known/openid-configuration") return send(200, { issuer: url, jwks_uri: `${url}/jwks` });
    if (req.method === "GET" && req.url === "/jwks") return send(200, { keys: [jwk] });
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString());
      const basic = Buffer.from((req.headers.authorization ?? "").slice(6), "base64").toString();
      const colon = basic.indexOf(":");
      const id = decodeURIComponent(basic.slice(0, colon));
      const ok = id === clientId && timingSafeEqual(digest(decodeURIComponent(basic.slice(colon + 1))), stored);
      if (!ok || form.get("grant_type") !== "client_credentials") return send(401, { error: "invalid_client" });
      const now = Math.floor(Date.now() / 1000);
      const claims = { iss: url, sub: id, aud: form.get("resource") ?? audience, client_id: id, scope: form.get("scope"), iat: now, nbf: now, exp: now + 900, jti: randomUUID() };
      const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
      sign("sha256", Buffer.from(input), privateKey, (err, sig) => {
        if (err) return send(500, { error: "server_error" });
        send(200, { access_token: `${input}.${sig.toString("base64url")}`, token_type: "Bearer", expires_in: 900, scope: claims.scope });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  serveParent({ url }, {}, async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`floor server: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
