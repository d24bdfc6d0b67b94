/**
 * `npm run bench` (issue 3): the local issuer under load, one JSON document on stdout.
 *
 * - Storage emulators and the issuer each run in their own process; autocannon drives the
 *   issuer from this one (16 connections, 127.0.0.1). Server CPU per request is the issuer
 *   process's CPU time over the run divided by its responses.
 * - GET /.well-known/jwks.json: requests/s, p50/p99, and the storage requests the emulators
 *   saw during the run (the JWKS must come from memory: reads bounded by keyring cache
 *   refreshes, none per request), plus ETag / If-None-Match -> 304.
 * - grant_type=refresh_token at POST /token: refresh tokens rotate on every use and reuse
 *   revokes the family, so each request takes an unused token from a shared pool that every
 *   response refills with its successor (one chain per login; 16 connections, 24 chains).
 * - The raw RS256 `crypto.sign` rate (callback form, thread pool, both cores) in this run.
 * - Login flood: /token (client_credentials) p50 while 64 concurrent /login requests run,
 *   against its idle p50 (target: within 3x); the logins are 64 accounts' in turn, and the
 *   same is reported for one account's (mostly 429 from its throttle).
 * - The Lambda figures (bench/lambda.ts): the handler path per invocation against a raw
 *   signature, storage requests per token, cold start, cost per million tokens by memory size.
 *
 * Environment: BENCH_SECONDS (default 6 per scenario), BENCH_CONNECTIONS (16),
 * BENCH_COLD_STARTS (5), and bench/lambda.ts's BENCH_LAMBDA_*.
 */
import { load, measure, rs256SignRate, round, verdict, type LoadRequest, type Verdict } from "./support/load.js";
import { countsBetween, machine, startStack, stopOnSignal } from "./support/stack.js";
import { lambdaFigures } from "./lambda.js";
import { registeredUser, type RegisteredUser } from "./support/users.js";
import type { Child } from "./support/child.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
/** Concurrent /login requests in the login-flood scenario (issue 15). */
const LOGIN_FLOOD = 64;
const REFRESH_CHAINS = CONNECTIONS + 8;
/** What `npm start` uses: a warm instance re-reads the keyring at most this often. */
const KEY_CACHE_SECONDS = 5;

async function main(): Promise<void> {
  const startedAt = Date.now();
  const host = machine();
  const stack = await startStack({
    LATCHKEY_KEY_CACHE_SECONDS: String(KEY_CACHE_SECONDS),
    // Every chain is used hundreds of times in one run; the default cap (1000) is not the subject here.
    LATCHKEY_REFRESH_MAX_USES: "1000000",
  });
  stopOnSignal(stack.stop);
  try {
    const { url } = stack.issuer.ready;
    const server = stack.issuer;

    // 1. The machine's own RS256 rate, while the servers sit idle.
    const rs256 = await rs256SignRate(2);

    // 2. JWKS from memory, and what storage saw meanwhile.
    const jwksUrl = `${url}/.well-known/jwks.json`;
    await load({ url: jwksUrl, seconds: 1, connections: CONNECTIONS }); // warm-up
    const countsBefore = await stack.counts();
    const jwks = await measure(server, { url: jwksUrl, seconds: SECONDS, connections: CONNECTIONS });
    const jwksStorage = countsBetween(countsBefore, await stack.counts());
    const jwksReads = sum(jwksStorage.dynamodb) + sum(jwksStorage.s3);
    // The cache may refresh once per KEY_CACHE_SECONDS, plus one at the edge of the window.
    const allowedReads = Math.ceil(jwks.seconds / KEY_CACHE_SECONDS) + 1;

    // 3. ETag and If-None-Match.
    const etag = await checkEtag(jwksUrl);
    const notModified = etag.etag
      ? await measure(server, {
          url: jwksUrl,
          seconds: Math.max(2, Math.round(SECONDS / 2)),
          connections: CONNECTIONS,
          headers: { "if-none-match": etag.etag },
        })
      : undefined;

    // 4. refresh_token grant with a pool of unused tokens that each response refills.
    const logins = await refreshTokenLogins(url);
    const pool = await logins.more(REFRESH_CHAINS);
    const refreshRequests = refreshTokenRequests(pool);
    await load({ url: `${url}/token`, seconds: 1, connections: CONNECTIONS, requests: refreshRequests.requests }); // warm-up
    // A run that ends drops the responses in flight, and with them up to one chain per connection.
    pool.push(...(await logins.more(Math.max(0, REFRESH_CHAINS - pool.length))));
    refreshRequests.failures().length = 0;
    const refreshCountsBefore = await stack.counts();
    const emulatorCpuBefore = await stack.emulators.cpu();
    const refresh = await measure(server, {
      url: `${url}/token`,
      seconds: SECONDS,
      connections: CONNECTIONS,
      requests: refreshRequests.requests,
    });
    const emulatorCpuMicros = (await stack.emulators.cpu()) - emulatorCpuBefore;
    const refreshStorage = countsBetween(refreshCountsBefore, await stack.counts());
    const issued = refresh.statuses["200"] ?? 0;

    // 5. /token while /login floods the server: many accounts (the target), then one name.
    const flood = await loginFlood(url, server, LOGIN_FLOOD);
    const floodOneName = await loginFlood(url, server, 1);

    // 6. The Lambda handler path, cold start and cost per million tokens.
    const lambda = await lambdaFigures(stack);

    const targets: Record<string, Verdict> = {
      ...lambda.targets,
      loginFloodTokenP50: verdict(
        flood.p50Ratio,
        `/token p50 with ${LOGIN_FLOOD} concurrent /login (${LOGIN_FLOOD} accounts) running <= 3x its idle p50 (${flood.idle.latencyMs.p50} ms idle, ${flood.duringFlood.latencyMs.p50} ms during)`,
        flood.p50Ratio <= 3 && flood.tokensAllIssued,
      ),
      jwksServedFromMemory: verdict(
        `${jwksReads} storage reads for ${jwks.requests} requests`,
        `no storage read per request (at most ${allowedReads} keyring cache refreshes in ${jwks.seconds} s with a ${KEY_CACHE_SECONDS} s cache)`,
        jwksReads <= allowedReads && (jwks.statuses["200"] ?? 0) === jwks.requests,
      ),
      jwksEtag304: verdict(
        etag.summary,
        "200 with ETag; 304 with no body for a matching If-None-Match (also W/ and lists); 200 for a stale one",
        etag.pass && notModified !== undefined && (notModified.statuses["304"] ?? 0) === notModified.requests,
      ),
      refreshGrantAllIssued: verdict(
        `${issued} of ${refresh.requests} answered 200`,
        "every refresh_token request answered 200 (each used a fresh, unused token)",
        issued === refresh.requests && refresh.requests > 0 && refreshRequests.failures().length === 0,
      ),
    };

    const report = {
      bench: "latchkey issuer (issues 3 and 15): JWKS, refresh_token grant, RS256 rate, login flood; Lambda handler path, cold start, cost per million tokens",
      machine: host,
      settings: {
        loadGenerator: "autocannon (in the bench process), 127.0.0.1, pipelining 1",
        connections: CONNECTIONS,
        secondsPerScenario: SECONDS,
        server: "functions/local/server.ts listen() in its own process; storage emulators (dynalite, s3rver) in a third process",
        keyCacheSeconds: KEY_CACHE_SECONDS,
      },
      rs256CryptoSign: { ...rs256, form: "crypto.sign callback (libuv thread pool)", key: "RSA-2048" },
      jwks: {
        ...pick(jwks),
        storageRequestsDuringRun: jwksStorage,
        servedFromMemory: targets.jwksServedFromMemory!.pass,
        etag: etag.details,
        notModifiedUnderLoad: notModified ? pick(notModified) : null,
      },
      refreshTokenGrant: {
        endpoint: "POST /token grant_type=refresh_token (form)",
        ...pick(refresh),
        tokensIssued: issued,
        serverCpuMicrosPerToken: issued ? round((refresh.serverCpuMs * 1000) / issued, 0) : null,
        // The storage emulators (dynalite, a third process) work on the same 2 cores: their CPU
        // per token shows how much of the limit is the emulator rather than the issuer.
        storageEmulatorCpuMicrosPerToken: issued ? round(emulatorCpuMicros / issued, 0) : null,
        refreshChains: REFRESH_CHAINS,
        storageRequestsPerToken: issued
          ? Object.fromEntries(Object.entries(refreshStorage.dynamodb).map(([k, v]) => [k, round(v / issued, 2)]))
          : {},
        shareOfRawSignRate: round(refresh.requestsPerSecond / rs256.signaturesPerSecond, 3),
        failures: refreshRequests.failures().slice(0, 5),
      },
      loginFlood: flood,
      loginFloodOneName: floodOneName,
      lambda: lambda.report,
      targets,
      allTargetsPass: Object.values(targets).every((t) => t.pass),
      benchSeconds: round((Date.now() - startedAt) / 1000, 1),
    };
    process.stdout.write(JSON.stringify(report, null, 2) + "\n");
  } finally {
    await stack.stop();
  }
}

function pick(r: Awaited<ReturnType<typeof measure>>) {
  return {
    requestsPerSecond: r.requestsPerSecond,
    latencyMs: r.latencyMs,
    requests: r.requests,
    seconds: r.seconds,
    statuses: r.statuses,
    errors: r.errors,
    timeouts: r.timeouts,
    serverCpuMs: r.serverCpuMs,
    serverCpuMicrosPerRequest: r.serverCpuMicrosPerRequest,
  };
}

const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

/** RFC 9110 section 13.1.2: If-None-Match with the current tag -> 304, no body. */
async function checkEtag(url: string): Promise<{ etag: string | undefined; pass: boolean; summary: string; details: object }> {
  const first = await fetch(url);
  await first.text();
  const etag = first.headers.get("etag") ?? undefined;
  if (!etag) return { etag, pass: false, summary: "no ETag header", details: { status: first.status } };
  const probe = async (value: string) => {
    const res = await fetch(url, { headers: { "if-none-match": value } });
    const body = await res.text();
    return { status: res.status, bodyBytes: body.length };
  };
  const exact = await probe(etag);
  const weak = await probe(`W/${etag}`);
  const list = await probe(`"something-else", ${etag}`);
  const stale = await probe(`"not-the-current-tag"`);
  const pass =
    first.status === 200 &&
    [exact, weak, list].every((p) => p.status === 304 && p.bodyBytes === 0) &&
    stale.status === 200 &&
    stale.bodyBytes > 0;
  return {
    etag,
    pass,
    summary: `200 ETag ${etag}; matching -> ${exact.status}, W/ -> ${weak.status}, list -> ${list.status}, stale -> ${stale.status}`,
    details: { etag, cacheControl: first.headers.get("cache-control"), exact, weak, list, stale },
  };
}

/** One user; `more(n)` logs in n times, and each login's refresh token starts a chain. */
async function refreshTokenLogins(url: string): Promise<{ more(chains: number): Promise<string[]> }> {
  const user = await registeredUser(url);
  return {
    async more(chains) {
      const tokens: string[] = [];
      for (let i = 0; i < chains; i += 4) {
        const batch = await Promise.all(Array.from({ length: Math.min(4, chains - i) }, () => user.login()));
        for (const b of batch) tokens.push(String(b.refresh_token));
      }
      return tokens;
    },
  };
}

/**
 * /token (client_credentials, 4 connections) idle, then again while LOGIN_FLOOD connections
 * post correct passwords to /login (each an argon2id verify) for the whole run. `users`:
 * LOGIN_FLOOD distinct accounts, the logins taken in turn (the target: password traffic from
 * many people), or 1 (one name: the per-username throttle answers most of them with 429).
 */
async function loginFlood(url: string, server: Child<unknown>, users: number) {
  const client = await server.call<{ clientId: string; clientSecret: string }>("createClient", {
    name: "bench-login-flood",
    scopes: ["read"],
    audiences: ["https://api.bench.example"],
    auth: "secret",
  });
  const accounts: RegisteredUser[] = [];
  while (accounts.length < users) {
    accounts.push(...(await Promise.all(Array.from({ length: Math.min(8, users - accounts.length) }, () => registeredUser(url)))));
  }
  const seconds = Math.max(3, Math.round(SECONDS / 2));
  const token = {
    url: `${url}/token`,
    seconds,
    connections: 4,
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: "Basic " + Buffer.from(`${client.clientId}:${client.clientSecret}`).toString("base64"),
    },
    body: "grant_type=client_credentials&scope=read&audience=https%3A%2F%2Fapi.bench.example",
  };
  const idle = await load(token);
  let turn = 0;
  const floodRun = load({
    url: `${url}/login`,
    seconds: seconds + 2,
    connections: LOGIN_FLOOD,
    requests: [
      {
        method: "POST",
        path: "/login",
        headers: { "content-type": "application/json" },
        setupRequest: (req) => {
          const { username, password } = accounts[turn++ % accounts.length]!;
          return { ...req, body: JSON.stringify({ username, password }) };
        },
      },
    ],
  });
  await new Promise((r) => setTimeout(r, 1000)); // the flood is in full swing
  const duringFlood = await load(token);
  const logins = await floodRun;
  // Logins still queued when the run stopped go on in the server: registering waits behind
  // them (the hashing gate is first come, first served), so the next scenario starts quiet.
  await registeredUser(url);
  return {
    how: `${token.connections} connections on /token for ${seconds} s idle, then the same while ${LOGIN_FLOOD} connections post correct passwords of ${users} account(s) to /login`,
    idle: { requestsPerSecond: idle.requestsPerSecond, latencyMs: idle.latencyMs, statuses: idle.statuses },
    duringFlood: { requestsPerSecond: duringFlood.requestsPerSecond, latencyMs: duringFlood.latencyMs, statuses: duringFlood.statuses },
    logins: { requestsPerSecond: logins.requestsPerSecond, latencyMs: logins.latencyMs, statuses: logins.statuses },
    p50Ratio: idle.latencyMs.p50 ? round(duringFlood.latencyMs.p50 / idle.latencyMs.p50, 1) : 0,
    tokensAllIssued: (idle.statuses["200"] ?? 0) === idle.requests && (duringFlood.statuses["200"] ?? 0) === duringFlood.requests,
  };
}

/**
 * autocannon requests for the refresh_token grant. autocannon resets a connection's context
 * after each pass over its request list, so the chains live in a queue shared by all
 * connections: `setupRequest` takes an unused token, `onResponse` returns its successor.
 * There are more chains than connections, so a request never waits for a token.
 */
function refreshTokenRequests(unused: string[]): { requests: LoadRequest[]; failures(): string[] } {
  const failures: string[] = [];
  const request: LoadRequest = {
    method: "POST",
    path: "/token",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    setupRequest: (req) => {
      let token = unused.shift();
      if (!token) {
        // Only after failed responses (each loses its chain). Send a token that cannot work
        // rather than stop autocannon: the run goes on and the failure shows in the report.
        if (failures.length < 20) failures.push("the pool of unused refresh tokens ran dry");
        token = "lkr_pool-ran-dry";
      }
      return { ...req, body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: token }).toString() };
    },
    onResponse: (status, body) => {
      if (status === 200) {
        unused.push((JSON.parse(body) as { refresh_token: string }).refresh_token);
      } else if (failures.length < 20) {
        failures.push(`${status} ${body.slice(0, 200)}`);
      }
    },
  };
  return { requests: [request], failures: () => failures };
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
