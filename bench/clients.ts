/**
 * `npm run bench:clients` (issue 5): client_credentials issuance, Latchkey against
 * node-oidc-provider 9, in the same run, on the same machine, with the same load generator
 * and the same request: HTTP Basic client authentication (client_secret_basic),
 * `grant_type=client_credentials&scope=read&resource=<api>`, RS256 JWT access tokens
 * (RFC 9068) from an RSA-2048 key. One JSON document on stdout.
 *
 * Each server runs in its own process (Latchkey's storage emulators in a third), so each
 * server's CPU per token is its own process CPU time over a run divided by the tokens it
 * issued. Rounds alternate the order (L,O then O,L) so drift in the shared machine's load
 * hits both. Before the load, one token from each is verified with jose against the JWKS its
 * discovery document names, so both really issue RS256 JWTs for the same audience.
 *
 * Targets: Latchkey >= 1.5x oidc-provider's requests/s, p99 <= 0.75x its p99,
 * CPU per token <= 0.7x its CPU per token. A third server, the floor (bench/support/
 * floor-server.ts: node:http and one signature per token, nothing else), is measured the same
 * way for reference: how far either is from what the signature and the socket cost.
 *
 * Environment: BENCH_SECONDS (default 6 per run), BENCH_ROUNDS (2), BENCH_CONNECTIONS (16).
 */
import { randomBytes } from "node:crypto";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from "jose";
import { startChild, type Child } from "./support/child.js";
import { load, measure, round, rs256SignRate, verdict, type ServerRun, type Verdict } from "./support/load.js";
import { countsBetween, machine, startStack, stopOnSignal } from "./support/stack.js";
import type { OidcProviderReady } from "./support/oidc-provider-server.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const AUDIENCE = "https://api.bench.example";
const BODY = new URLSearchParams({ grant_type: "client_credentials", scope: "read", resource: AUDIENCE }).toString();

interface Contender {
  name: string;
  server: Child<{ url: string }>;
  basic: string;
  runs: ServerRun[];
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  const host = machine();
  const stack = await startStack();
  let oidc: Child<OidcProviderReady> | undefined;
  let floor: Child<{ url: string }> | undefined;
  stopOnSignal(async () => {
    await floor?.stop();
    await oidc?.stop();
    await stack.stop();
  });
  try {
    const latchkeyClient = await stack.issuer.call<{ clientId: string; clientSecret: string }>("createClient", {
      name: "bench-client-credentials",
      scopes: ["read"],
      audiences: [AUDIENCE],
      auth: "secret",
    });
    const oidcClient = { clientId: `bench-${randomBytes(6).toString("hex")}`, clientSecret: randomBytes(32).toString("base64url") };
    oidc = await startChild<OidcProviderReady>("bench/support/oidc-provider-server.ts", {
      NODE_ENV: "production",
      BENCH_CLIENT_ID: oidcClient.clientId,
      BENCH_CLIENT_SECRET: oidcClient.clientSecret,
      BENCH_AUDIENCE: AUDIENCE,
    });

    // For reference, not a target: node:http, one HMAC and one signature per token, nothing else.
    floor = await startChild<{ url: string }>("bench/support/floor-server.ts", {
      BENCH_CLIENT_ID: oidcClient.clientId,
      BENCH_CLIENT_SECRET: oidcClient.clientSecret,
      BENCH_AUDIENCE: AUDIENCE,
    });
    const contenders: Contender[] = [
      { name: "latchkey", server: stack.issuer, basic: basicAuth(latchkeyClient), runs: [] },
      { name: "oidcProvider", server: oidc, basic: basicAuth(oidcClient), runs: [] },
      { name: "floor", server: floor, basic: basicAuth(oidcClient), runs: [] },
    ];
    const [latchkey, provider, bare] = contenders as [Contender, Contender, Contender];

    const tokens = {
      latchkey: await verifiedToken(latchkey),
      oidcProvider: await verifiedToken(provider),
      floor: await verifiedToken(bare),
    };

    const rs256 = await rs256SignRate(2);

    const options = (c: Contender, seconds: number) => ({
      url: `${c.server.ready.url}/token`,
      seconds,
      connections: CONNECTIONS,
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: c.basic },
      body: BODY,
    });
    for (const c of contenders) await load(options(c, 1)); // warm-up: JIT, key and client caches

    let latchkeyStorage = { dynamodb: {}, s3: {} } as ReturnType<typeof countsBetween>;
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? contenders : [...contenders].reverse();
      for (const c of order) {
        const before = c === latchkey ? await stack.counts() : undefined;
        c.runs.push(await measure(c.server, options(c, SECONDS)));
        if (before) {
          const d = countsBetween(before, await stack.counts());
          latchkeyStorage = addCounts(latchkeyStorage, d);
        }
      }
    }

    const L = aggregate(latchkey.runs);
    const O = aggregate(provider.runs);
    const F = aggregate(bare.runs);
    const ratios = {
      requestsPerSecond: round(L.requestsPerSecond / O.requestsPerSecond, 2),
      p99: round(L.latencyMs.p99 / O.latencyMs.p99, 2),
      cpuPerToken: round(L.serverCpuMicrosPerToken / O.serverCpuMicrosPerToken, 2),
    };
    const targets: Record<string, Verdict> = {
      requestsPerSecond: verdict(ratios.requestsPerSecond, ">= 1.5x oidc-provider", ratios.requestsPerSecond >= 1.5),
      p99: verdict(ratios.p99, "<= 0.75x oidc-provider", ratios.p99 <= 0.75),
      cpuPerToken: verdict(ratios.cpuPerToken, "<= 0.7x oidc-provider", ratios.cpuPerToken <= 0.7),
      allRequestsIssued: verdict(
        `${L.tokensIssued}/${L.requests} and ${O.tokensIssued}/${O.requests} answered 200`,
        "every request got a token from both servers",
        L.tokensIssued === L.requests && O.tokensIssued === O.requests && L.requests > 0 && O.requests > 0,
      ),
    };

    // The peers run as shipped: node's pool (4 threads) unless this environment names a size.
    const peerPool = process.env.UV_THREADPOOL_SIZE ? `${process.env.UV_THREADPOOL_SIZE} threads (UV_THREADPOOL_SIZE)` : "node's default, 4 threads";
    const report = {
      bench: "client_credentials issuance (issue 5): latchkey vs node-oidc-provider",
      machine: host,
      settings: {
        loadGenerator: "autocannon (in the bench process), 127.0.0.1, pipelining 1",
        connections: CONNECTIONS,
        secondsPerRun: SECONDS,
        rounds: ROUNDS,
        order: "alternating per round (latchkey, oidc-provider, floor; then the reverse)",
        floor: `bench/support/floor-server.ts: node:http, Basic + one HMAC digest, RFC 9068 claims, one RS256 crypto.sign (callback), JSON; no framework, storage, logs or metrics (for reference); libuv thread pool: ${peerPool}`,
        request: `POST /token, Authorization: Basic (client_secret_basic), ${BODY}`,
        latchkey: `functions/local/server.ts listen() in its own process, started as npm start starts it (libuv thread pool: ${stack.issuer.ready.threadPoolSize ?? "4 (node's default)"} threads), storage emulators in a third process`,
        oidcProvider: `oidc-provider 9, NODE_ENV=production, clientCredentials + resourceIndicators (accessTokenFormat jwt, RS256), in-memory adapter, node:http, libuv thread pool: ${peerPool}`,
      },
      tokens,
      rs256CryptoSign: { ...rs256, form: "crypto.sign callback (libuv thread pool)", key: "RSA-2048" },
      latchkey: { ...L, storageRequestsDuringRuns: latchkeyStorage },
      oidcProvider: O,
      floor: F,
      ratiosLatchkeyOverOidcProvider: ratios,
      ratiosFloorOverOidcProvider: {
        requestsPerSecond: round(F.requestsPerSecond / O.requestsPerSecond, 2),
        p99: round(F.latencyMs.p99 / O.latencyMs.p99, 2),
        cpuPerToken: round(F.serverCpuMicrosPerToken / O.serverCpuMicrosPerToken, 2),
      },
      // Both servers pay one RSA-2048 signature per token; what each spends beyond it is what
      // its own code costs (CPU per token minus this run's CPU per raw signature).
      cpuMicrosPerTokenBeyondRs256Sign: {
        latchkey: L.serverCpuMicrosPerToken - rs256.cpuMicrosPerSignature,
        oidcProvider: O.serverCpuMicrosPerToken - rs256.cpuMicrosPerSignature,
        floor: F.serverCpuMicrosPerToken - rs256.cpuMicrosPerSignature,
      },
      // Latchkey and the floor sign on the thread pool, so their main threads run only their
      // own JavaScript and the HTTP work: the gap between the two is what Latchkey's code costs
      // per token, measured side by side. It still grows when the host is busy (a busy sibling
      // hyperthread slows every thread). node-oidc-provider's figure is for reference.
      ...(L.mainThreadCpuMicrosPerToken !== undefined && F.mainThreadCpuMicrosPerToken !== undefined
        ? {
            mainThreadCpuMicrosPerToken: {
              latchkey: L.mainThreadCpuMicrosPerToken,
              floor: F.mainThreadCpuMicrosPerToken,
              oidcProvider: O.mainThreadCpuMicrosPerToken,
              latchkeyBeyondFloor: L.mainThreadCpuMicrosPerToken - F.mainThreadCpuMicrosPerToken,
            },
          }
        : {}),
      targets,
      allTargetsPass: Object.values(targets).every((t) => t.pass),
      benchSeconds: round((Date.now() - startedAt) / 1000, 1),
    };
    process.stdout.write(JSON.stringify(report, null, 2) + "\n");
  } finally {
    await floor?.stop();
    await oidc?.stop();
    await stack.stop();
  }
}

function basicAuth(c: { clientId: string; clientSecret: string }): string {
  // RFC 6749 section 2.3.1: form-urlencode both parts, then Basic.
  return "Basic " + Buffer.from(`${encodeURIComponent(c.clientId)}:${encodeURIComponent(c.clientSecret)}`).toString("base64");
}

/** One token, verified as a resource server would: discovery -> jwks_uri -> RS256, iss, aud, typ. */
async function verifiedToken(c: Contender) {
  const base = c.server.ready.url;
  const res = await fetch(`${base}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: c.basic },
    body: BODY,
  });
  const body = (await res.json()) as Record<string, unknown>;
  if (res.status !== 200) throw new Error(`${c.name} /token -> ${res.status} ${JSON.stringify(body)}`);
  const discovery = (await (await fetch(`${base}/.well-known/openid-configuration`)).json()) as { issuer: string; jwks_uri: string };
  const jwks = (await (await fetch(discovery.jwks_uri)).json()) as JSONWebKeySet;
  const token = String(body.access_token);
  const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
    issuer: discovery.issuer,
    audience: AUDIENCE,
    algorithms: ["RS256"],
    typ: "at+jwt",
  });
  return {
    verified: true,
    header: decodeProtectedHeader(token),
    alg: protectedHeader.alg,
    claims: Object.keys(payload).sort(),
    aud: payload.aud,
    scope: payload.scope,
    expiresIn: body.expires_in,
    tokenBytes: token.length,
    responseBytes: JSON.stringify(body).length,
  };
}

function aggregate(runs: ServerRun[]) {
  const requests = runs.reduce((a, r) => a + r.requests, 0);
  const seconds = runs.reduce((a, r) => a + r.seconds, 0);
  const cpuMs = runs.reduce((a, r) => a + r.serverCpuMs, 0);
  const mainMs = runs.every((r) => r.mainThreadCpuMs !== undefined) ? runs.reduce((a, r) => a + r.mainThreadCpuMs!, 0) : undefined;
  const tokensIssued = runs.reduce((a, r) => a + (r.statuses["200"] ?? 0), 0);
  const mean = (f: (r: ServerRun) => number) => round(runs.reduce((a, r) => a + f(r), 0) / runs.length, 2);
  return {
    requestsPerSecond: round(requests / seconds, 0),
    latencyMs: { p50: mean((r) => r.latencyMs.p50), p99: mean((r) => r.latencyMs.p99), max: Math.max(...runs.map((r) => r.latencyMs.max)) },
    serverCpuMicrosPerToken: tokensIssued ? round((cpuMs * 1000) / tokensIssued, 0) : 0,
    ...(mainMs !== undefined && tokensIssued ? { mainThreadCpuMicrosPerToken: round((mainMs * 1000) / tokensIssued, 0) } : {}),
    requests,
    tokensIssued,
    seconds: round(seconds, 2),
    serverCpuMs: round(cpuMs, 1),
    rounds: runs.map((r) => ({
      requestsPerSecond: r.requestsPerSecond,
      latencyMs: r.latencyMs,
      serverCpuMicrosPerRequest: r.serverCpuMicrosPerRequest,
      statuses: r.statuses,
      errors: r.errors,
      timeouts: r.timeouts,
    })),
  };
}

function addCounts(a: ReturnType<typeof countsBetween>, b: ReturnType<typeof countsBetween>) {
  const add = (x: Record<string, number>, y: Record<string, number>) => {
    const out = { ...x };
    for (const [k, v] of Object.entries(y)) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  return { dynamodb: add(a.dynamodb, b.dynamodb), s3: add(a.s3, b.s3) };
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
