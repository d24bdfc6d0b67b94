/**
 * Machine-client SDK: client_credentials tokens, cached and refreshed before expiry, with
 * concurrent callers sharing one in-flight request, and a drop-in `fetch` that adds the bearer
 * token and retries once with a fresh token on a 401.
 *
 * @example
 *   const client = createClient({ issuer: "https://auth.example.com", clientId, clientSecret, scope: "orders:read" });
 *   const res = await client.fetch("https://api.example.com/orders");
 */
import { randomUUID } from "node:crypto";
import { importJWK, SignJWT, type CryptoKey, type JWK, type KeyObject } from "jose";
import { discover } from "./discovery.js";
import { errorFromResponse, LatchkeyError } from "./errors.js";

export interface ClientOptions {
  issuer: string;
  clientId: string;
  /** client_secret_basic. */
  clientSecret?: string;
  /** private_key_jwt: a private key (JWK, CryptoKey or KeyObject) and its algorithm. */
  privateKey?: JWK | CryptoKey | KeyObject;
  privateKeyAlg?: string;
  /** kid of the private key, when the client registered several. */
  privateKeyId?: string;
  scope?: string;
  audience?: string;
  /** Refresh this many seconds before expiry (default: 60 s, at most half the lifetime). */
  refreshSkewSeconds?: number;
  fetch?: typeof fetch;
}

export interface LatchkeyClient {
  /** A valid access token, from cache when fresh enough. */
  getToken(): Promise<string>;
  /** `fetch` with `Authorization: Bearer`; on a 401, one fresh token and one retry. */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** Drops the cached token (the next call fetches a new one). */
  invalidate(): void;
}

interface CachedToken {
  value: string;
  refreshAt: number;
}

export function createClient(options: ClientOptions): LatchkeyClient {
  if (!options.clientSecret && !options.privateKey) {
    throw new LatchkeyError("invalid_request", "createClient needs clientSecret or privateKey");
  }
  const fetchImpl = options.fetch ?? fetch;
  let cached: CachedToken | undefined;
  let inFlight: Promise<string> | undefined;

  async function requestToken(): Promise<string> {
    const meta = await discover(options.issuer, fetchImpl);
    const form = new URLSearchParams({ grant_type: "client_credentials" });
    if (options.scope) form.set("scope", options.scope);
    if (options.audience) form.set("audience", options.audience);
    const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", accept: "application/json" };
    if (options.clientSecret) {
      // RFC 6749 section 2.3.1: form-encode id and secret before Basic encoding.
      const id = encodeURIComponent(options.clientId);
      headers.authorization = `Basic ${Buffer.from(`${id}:${encodeURIComponent(options.clientSecret)}`).toString("base64")}`;
    }
    if (options.privateKey) {
      form.set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
      form.set("client_assertion", await assertion(meta.token_endpoint));
    }
    let res: Response;
    try {
      res = await fetchImpl(meta.token_endpoint, { method: "POST", headers, body: form });
    } catch (err) {
      throw new LatchkeyError("network_error", `token request to ${meta.token_endpoint} failed`, undefined, { cause: err });
    }
    if (!res.ok) throw await errorFromResponse(res);
    const body = (await res.json()) as { access_token?: string; expires_in?: number };
    if (typeof body.access_token !== "string") throw new LatchkeyError("server_error", "token response without access_token", res.status);
    const lifetime = typeof body.expires_in === "number" ? body.expires_in : 60;
    const skew = Math.min(options.refreshSkewSeconds ?? 60, lifetime / 2);
    cached = { value: body.access_token, refreshAt: Date.now() + (lifetime - skew) * 1000 };
    return body.access_token;
  }

  async function assertion(audience: string): Promise<string> {
    const alg = options.privateKeyAlg ?? (isJwk(options.privateKey) ? options.privateKey.alg : undefined) ?? "RS256";
    const key = isJwk(options.privateKey) ? await importJWK(options.privateKey, alg) : options.privateKey!;
    const kid = options.privateKeyId ?? (isJwk(options.privateKey) ? options.privateKey.kid : undefined);
    return new SignJWT({})
      .setProtectedHeader({ alg, ...(kid ? { kid } : {}) })
      .setIssuer(options.clientId)
      .setSubject(options.clientId)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime("60s")
      .setJti(randomUUID())
      .sign(key);
  }

  const client: LatchkeyClient = {
    getToken() {
      if (cached && Date.now() < cached.refreshAt) return Promise.resolve(cached.value);
      inFlight ??= requestToken().finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
    async fetch(input, init = {}) {
      const send = async () => {
        const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
        headers.set("authorization", `Bearer ${await client.getToken()}`);
        const request = input instanceof Request ? input.clone() : input;
        return fetchImpl(request, { ...init, headers });
      };
      const first = await send();
      // A stream body cannot be sent twice; everything else can.
      const replayable = !(init.body instanceof ReadableStream) && !(input instanceof Request && input.bodyUsed);
      if (first.status !== 401 || !replayable) return first;
      await first.body?.cancel();
      client.invalidate();
      return send();
    },
    invalidate() {
      cached = undefined;
    },
  };
  return client;
}

function isJwk(key: unknown): key is JWK {
  return typeof key === "object" && key !== null && "kty" in key && !("type" in key && "algorithm" in key);
}
