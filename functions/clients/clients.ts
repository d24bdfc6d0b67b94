/**
 * Machine clients: who they are, how they must authenticate, what they may ask for.
 * Records live in the single table (`CLIENT#<clientId>` / `CLIENT`) and are cached in memory
 * for `clientCacheSeconds`, so a warm function does not read DynamoDB per token; disabling a
 * client therefore takes effect within that TTL on every instance.
 *
 * @example
 *   const { client, clientSecret } = await clients.create({ name: "billing", scopes: ["invoices:read"], audiences: ["https://api.example.com"] });
 */
import { randomBytes } from "node:crypto";
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import type { JSONWebKeySet } from "jose";
import type { Config } from "../config.js";
import type { AwsClients } from "../storage/aws.js";
import { isConditionalCheckFailed, nowSeconds } from "../storage/dynamo.js";
import { InvalidRequest } from "../errors.js";
import { newClientSecret, SecretDigester } from "./secrets.js";
import { checkSignClaimsRegistration } from "../tokens/sign-claims.js";
import { audit } from "../observability/audit.js";
import type { Revocations } from "../revocations/revocations.js";
import { checkRedirectUri, originsOf } from "./redirect-uris.js";
import { checkJwksUri } from "./jwks-uri.js";

/** How a client authenticates at /token; "none" is a public client (browser or native app, RFC 6749 2.1). */
export type ClientAuth = "secret" | "private_key_jwt" | "both" | "none";

export interface StoredSecret {
  digest: string;
  createdAt: number;
  /** Set when a newer secret replaced this one; it stops working at this time. */
  expiresAt?: number;
}

export interface Client {
  clientId: string;
  name: string;
  auth: ClientAuth;
  secrets: StoredSecret[];
  jwks?: JSONWebKeySet;
  jwksUri?: string;
  scopes: string[];
  audiences: string[];
  /** Where /authorize may send codes (exact match; loopback ports vary, RFC 8252 7.3). Absent: no sign-in. */
  redirectUris?: string[];
  /** Where RP-initiated logout may return (exact match). */
  postLogoutRedirectUris?: string[];
  /** Access-token lifetime in seconds (capped by the issuer's maximum). */
  accessTokenTtl: number;
  maySign: boolean;
  /** Authorization claims (roles, groups, ...) it may set at /sign; absent in older records = none. */
  signClaims?: string[];
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface NewClient {
  name: string;
  auth?: ClientAuth;
  scopes?: string[];
  audiences?: string[];
  jwks?: JSONWebKeySet;
  jwksUri?: string;
  redirectUris?: string[];
  postLogoutRedirectUris?: string[];
  accessTokenTtl?: number;
  maySign?: boolean;
  signClaims?: string[];
}

/** How many unknown client ids an instance remembers (a bound on what probing can make it hold). */
const UNKNOWN_CACHE_SIZE = 10_000;

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** Browser origins cached per instance (allowed or not) at most this many. */
const ORIGIN_CACHE_LIMIT = 1000;

export class Clients {
  #cache = new Map<string, { client: Client; loadedAt: number }>();
  /** Unknown ids and when they were looked up, oldest first (Map keeps insertion order). */
  #unknown = new Map<string, number>();
  #origins = new Map<string, { allowed: boolean; loadedAt: number }>();
  /**
   * Storage reads in flight, one per id: when an id's cache entry runs out under load, the
   * requests that find it stale share one read instead of each sending its own (16 at once at
   * 16 connections, each on a new connection once the idle ones had closed).
   */
  #loading = new Map<string, Promise<Client | undefined>>();
  /** Origin queries in flight, one per origin (the same for `allowsBrowserOrigin`). */
  #originLoading = new Map<string, Promise<boolean>>();
  readonly digester: SecretDigester;

  constructor(
    private readonly config: Config,
    private readonly aws: AwsClients,
    private readonly revocations: Revocations,
  ) {
    this.digester = new SecretDigester(config, aws);
  }

  /** Creates a client. The secret (for secret/both clients) is returned here and never again. */
  async create(input: NewClient): Promise<{ client: Client; clientSecret?: string }> {
    const auth = input.auth ?? "secret";
    validateNewClient(input, auth, this.config);
    const now = nowSeconds();
    const clientSecret = auth === "private_key_jwt" || auth === "none" ? undefined : newClientSecret();
    const secrets: StoredSecret[] = [];
    if (clientSecret) {
      const pepper = await this.digester.ensurePepper();
      secrets.push({ digest: this.digester.digest(clientSecret, pepper), createdAt: now });
    }
    const client: Client = {
      clientId: "lkc_" + randomBytes(16).toString("base64url"),
      name: input.name,
      auth,
      secrets,
      ...(input.jwks ? { jwks: input.jwks } : {}),
      ...(input.jwksUri ? { jwksUri: input.jwksUri } : {}),
      // An app that signs people in gets the user scopes (openid profile by default) unless told otherwise.
      scopes: [...new Set(input.scopes ?? (input.redirectUris?.length ? this.config.userScopes : []))],
      audiences: [...new Set(input.audiences ?? [])],
      ...(input.redirectUris?.length ? { redirectUris: [...new Set(input.redirectUris)] } : {}),
      ...(input.postLogoutRedirectUris?.length ? { postLogoutRedirectUris: [...new Set(input.postLogoutRedirectUris)] } : {}),
      accessTokenTtl: Math.min(input.accessTokenTtl ?? this.config.accessTokenTtlSeconds, this.config.maxAccessTokenTtlSeconds),
      maySign: input.maySign ?? false,
      signClaims: [...new Set(input.signClaims ?? [])],
      enabled: true,
      createdAt: now,
      updatedAt: now,
    };
    await this.aws.ddb.send(
      new PutCommand({
        TableName: this.config.table,
        Item: { pk: `CLIENT#${client.clientId}`, sk: "CLIENT", kind: "client", ...client },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
    await this.#indexOrigins(client, []);
    audit("client.created", { clientId: client.clientId, name: client.name, auth });
    return clientSecret ? { client, clientSecret } : { client };
  }

  /**
   * Whether a browser origin is the origin of a public client's redirect URI: such apps call
   * /token, /userinfo and /revoke from the page itself (CORS). Cached like client records.
   */
  async allowsBrowserOrigin(origin: string): Promise<boolean> {
    const cached = this.#origins.get(origin);
    if (cached && nowSeconds() - cached.loadedAt < this.config.clientCacheSeconds) return cached.allowed;
    if (origin.length > 512) return false;
    // Like client records: the requests that find an origin stale at once share one query.
    const inFlight = this.#originLoading.get(origin);
    if (inFlight) return inFlight;
    const loading = this.#readOrigin(origin).finally(() => this.#originLoading.delete(origin));
    this.#originLoading.set(origin, loading);
    return loading;
  }

  async #readOrigin(origin: string): Promise<boolean> {
    const out = await this.aws.ddb.send(
      new QueryCommand({
        TableName: this.config.table,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": `ORIGIN#${origin}` },
        Limit: 1,
      }),
    );
    const allowed = (out.Items?.length ?? 0) > 0;
    if (this.#origins.size >= ORIGIN_CACHE_LIMIT) this.#origins.clear();
    this.#origins.set(origin, { allowed, loadedAt: nowSeconds() });
    return allowed;
  }

  /** `ORIGIN#<origin>` / `CLIENT#<id>` for each http(s) redirect origin of a public client. */
  async #indexOrigins(client: Client, before: string[]): Promise<void> {
    const now = client.auth === "none" ? originsOf(client.redirectUris ?? []) : [];
    for (const origin of now.filter((o) => !before.includes(o))) {
      await this.aws.ddb.send(new PutCommand({ TableName: this.config.table, Item: { pk: `ORIGIN#${origin}`, sk: `CLIENT#${client.clientId}` } }));
    }
    for (const origin of before.filter((o) => !now.includes(o))) {
      await this.aws.ddb.send(new DeleteCommand({ TableName: this.config.table, Key: { pk: `ORIGIN#${origin}`, sk: `CLIENT#${client.clientId}` } }));
    }
  }

  /**
   * What `get` would answer from the instance cache, without waiting: `{ client }` for a fresh
   * known id, `{ client: undefined }` for a fresh unknown one (both alike, so the fast path does
   * not tell them apart by timing either); undefined when storage must be asked (call `get`).
   */
  cached(clientId: string): { client: Client | undefined } | undefined {
    const now = nowSeconds();
    const cached = this.#cache.get(clientId);
    if (cached && now - cached.loadedAt < this.config.clientCacheSeconds) return { client: cached.client };
    const missed = this.#unknown.get(clientId);
    if (missed !== undefined && now - missed < this.config.clientCacheSeconds) return { client: undefined };
    return undefined;
  }

  /**
   * A client record, from the instance cache when fresh enough. Unknown ids are cached too (for
   * as long, at most UNKNOWN_CACHE_SIZE of them), so probing an id answers as fast as using a
   * known one and timing does not tell which ids exist. Ids are random, so none is looked up
   * before it exists.
   */
  async get(clientId: string): Promise<Client | undefined> {
    const hit = this.cached(clientId);
    if (hit) return hit.client;
    const inFlight = this.#loading.get(clientId);
    if (inFlight) return inFlight;
    // Settled by the read's own callbacks, so an update in between (which drops the entry)
    // keeps the record it wrote from being replaced by the one read before it.
    const loading: Promise<Client | undefined> = this.read(clientId).then(
      (client) => {
        if (this.#loading.get(clientId) === loading) {
          this.#loading.delete(clientId);
          this.#remember(clientId, client);
        }
        return client;
      },
      (err: unknown) => {
        if (this.#loading.get(clientId) === loading) this.#loading.delete(clientId);
        throw err;
      },
    );
    this.#loading.set(clientId, loading);
    return loading;
  }

  #remember(clientId: string, client: Client | undefined): void {
    if (client) {
      this.#cache.set(clientId, { client, loadedAt: nowSeconds() });
      this.#unknown.delete(clientId);
    } else {
      this.#cache.delete(clientId);
      this.#unknown.delete(clientId);
      if (this.#unknown.size >= UNKNOWN_CACHE_SIZE) this.#unknown.delete(this.#unknown.keys().next().value!);
      this.#unknown.set(clientId, nowSeconds());
    }
  }

  async read(clientId: string): Promise<Client | undefined> {
    if (!/^lkc_[A-Za-z0-9_-]{22}$/.test(clientId)) return undefined;
    const out = await this.aws.ddb.send(
      new GetCommand({ TableName: this.config.table, Key: { pk: `CLIENT#${clientId}`, sk: "CLIENT" }, ConsistentRead: true }),
    );
    if (!out.Item) return undefined;
    const { pk: _pk, sk: _sk, kind: _kind, ...client } = out.Item;
    return client as Client;
  }

  /** Every client (admin use; a scan is fine at the scale of machine clients). */
  async list(): Promise<Client[]> {
    const out: Client[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.aws.ddb.send(
        new ScanCommand({
          TableName: this.config.table,
          FilterExpression: "#kind = :client",
          ExpressionAttributeNames: { "#kind": "kind" },
          ExpressionAttributeValues: { ":client": "client" },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        const { pk: _pk, sk: _sk, kind: _kind, ...client } = item;
        out.push(client as Client);
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return out.sort((a, b) => a.createdAt - b.createdAt);
  }

  /**
   * Issues a new secret; the previous ones keep working for `overlapSeconds` (default from
   * config) so the owning service can roll over without downtime.
   */
  async rotateSecret(clientId: string, overlapSeconds = this.config.secretOverlapSeconds): Promise<{ client: Client; clientSecret: string }> {
    const client = await this.read(clientId);
    if (!client) throw new InvalidRequest(`no client ${clientId}`);
    if (client.auth === "private_key_jwt") throw new InvalidRequest("this client authenticates with private_key_jwt only; it has no secret");
    if (client.auth === "none") throw new InvalidRequest("this is a public client; it has no secret");
    const now = nowSeconds();
    const pepper = await this.digester.ensurePepper();
    const clientSecret = newClientSecret();
    const kept = client.secrets
      .filter((s) => s.expiresAt === undefined || s.expiresAt > now)
      .map((s) => ({ ...s, expiresAt: Math.min(s.expiresAt ?? Infinity, now + overlapSeconds) }))
      .filter((s) => s.expiresAt > now);
    const secrets = [{ digest: this.digester.digest(clientSecret, pepper), createdAt: now }, ...kept];
    const updated = await this.#update(client, { secrets });
    audit("client.secret_rotated", { clientId, overlapSeconds });
    return { client: updated, clientSecret };
  }

  /** Changes what a client may ask for (declarative clients converge on their stack config). */
  async configure(
    clientId: string,
    change: Pick<NewClient, "scopes" | "audiences" | "accessTokenTtl" | "maySign" | "signClaims" | "redirectUris" | "postLogoutRedirectUris">,
  ): Promise<Client> {
    const client = await this.read(clientId);
    if (!client) throw new InvalidRequest(`no client ${clientId}`);
    validateNewClient(
      {
        name: client.name,
        ...(client.redirectUris ? { redirectUris: client.redirectUris } : {}),
        ...(client.postLogoutRedirectUris ? { postLogoutRedirectUris: client.postLogoutRedirectUris } : {}),
        ...change,
        ...(client.jwks ? { jwks: client.jwks } : {}),
        ...(client.jwksUri ? { jwksUri: client.jwksUri } : {}),
      },
      client.auth,
      this.config,
    );
    const updated = await this.#update(client, {
      ...(change.scopes ? { scopes: [...new Set(change.scopes)] } : {}),
      ...(change.audiences ? { audiences: [...new Set(change.audiences)] } : {}),
      ...(change.redirectUris ? { redirectUris: [...new Set(change.redirectUris)] } : {}),
      ...(change.postLogoutRedirectUris ? { postLogoutRedirectUris: [...new Set(change.postLogoutRedirectUris)] } : {}),
      ...(change.accessTokenTtl !== undefined ? { accessTokenTtl: change.accessTokenTtl } : {}),
      ...(change.maySign !== undefined ? { maySign: change.maySign } : {}),
      ...(change.signClaims ? { signClaims: [...new Set(change.signClaims)] } : {}),
    });
    await this.#indexOrigins(updated, client.auth === "none" ? originsOf(client.redirectUris ?? []) : []);
    return updated;
  }

  /**
   * Disabling also revokes the client's tokens at /validate and /introspect: those issued up to
   * the moment every instance's client cache has let go of the enabled record. Enabling again
   * lets tokens issued from then on pass; the earlier ones stay revoked.
   */
  async setEnabled(clientId: string, enabled: boolean): Promise<Client> {
    const client = await this.read(clientId);
    if (!client) throw new InvalidRequest(`no client ${clientId}`);
    if (client.enabled === enabled) return client; // nothing changes, nothing to record
    if (!enabled) await this.revocations.revokeClient(clientId, nowSeconds() + this.config.clientCacheSeconds);
    const updated = await this.#update(client, { enabled });
    if (enabled) await this.revocations.reinstateClient(clientId);
    audit(enabled ? "client.enabled" : "client.disabled", { clientId });
    return updated;
  }

  /** Optimistic update guarded by updatedAt+secrets, so concurrent admin edits do not interleave. */
  async #update(client: Client, change: Partial<Client>): Promise<Client> {
    const next: Client = { ...client, ...change, updatedAt: Math.max(nowSeconds(), client.updatedAt + 1) };
    try {
      await this.aws.ddb.send(
        new PutCommand({
          TableName: this.config.table,
          Item: { pk: `CLIENT#${client.clientId}`, sk: "CLIENT", kind: "client", ...next },
          ConditionExpression: "updatedAt = :u",
          ExpressionAttributeValues: { ":u": client.updatedAt },
        }),
      );
    } catch (err) {
      if (isConditionalCheckFailed(err)) throw new InvalidRequest("the client changed concurrently; try again");
      throw err;
    }
    this.#cache.delete(client.clientId);
    this.#loading.delete(client.clientId);
    return next;
  }
}

/** The secret digests that still authenticate at `now`. */
export function activeDigests(client: Client, now = nowSeconds()): string[] {
  return client.secrets.filter((s) => s.expiresAt === undefined || s.expiresAt > now).map((s) => s.digest);
}

/** A client as shown to admins: never the digests. */
export function describeClient(client: Client): Record<string, unknown> {
  const { secrets, jwks, ...rest } = client;
  return {
    ...rest,
    secrets: secrets.map((s) => ({ createdAt: iso(s.createdAt), ...(s.expiresAt ? { expiresAt: iso(s.expiresAt) } : {}) })),
    ...(jwks ? { jwksKids: jwks.keys.map((k) => k.kid ?? "(no kid)") } : {}),
    createdAt: iso(client.createdAt),
    updatedAt: iso(client.updatedAt),
  };
}

function iso(s: number): string {
  return new Date(s * 1000).toISOString();
}

function validateNewClient(input: NewClient, auth: ClientAuth, config: Config): void {
  if (!input.name || input.name.length > 128 || /[\x00-\x1f]/.test(input.name)) {
    throw new InvalidRequest("name must be 1-128 printable characters");
  }
  if (!["secret", "private_key_jwt", "both", "none"].includes(auth)) throw new InvalidRequest("auth must be none, secret, private_key_jwt or both");
  for (const uri of input.redirectUris ?? []) checkRedirectUri(uri);
  for (const uri of input.postLogoutRedirectUris ?? []) checkRedirectUri(uri, "post-logout redirect URI");
  if (auth === "none" && !input.redirectUris?.length) {
    // A public client has no credentials, so it can only act for a signed-in person.
    throw new InvalidRequest("auth none (a public client) needs redirect URIs");
  }
  if (auth === "none" && input.maySign) throw new InvalidRequest("a public client cannot be allowed /sign");
  if (input.postLogoutRedirectUris?.length && !input.redirectUris?.length) {
    throw new InvalidRequest("post-logout redirect URIs need redirect URIs (a client that signs people in)");
  }
  checkSignClaimsRegistration(input.signClaims ?? []);
  for (const s of input.scopes ?? []) if (!SCOPE_TOKEN.test(s)) throw new InvalidRequest(`invalid scope ${JSON.stringify(s)}`);
  for (const a of input.audiences ?? []) {
    if (!a || a.length > 512 || /\s/.test(a)) throw new InvalidRequest(`invalid audience ${JSON.stringify(a)}`);
  }
  if (auth === "private_key_jwt" || auth === "both") {
    if (!input.jwks && !input.jwksUri) throw new InvalidRequest("private_key_jwt clients need public keys (jwks or jwks_uri)");
    if (input.jwks && (!Array.isArray(input.jwks.keys) || input.jwks.keys.length === 0)) {
      throw new InvalidRequest("jwks must be a JWK Set with at least one key");
    }
    for (const k of input.jwks?.keys ?? []) {
      if ("d" in k || "p" in k || "k" in k) throw new InvalidRequest("jwks must hold public keys only");
    }
    if (input.jwksUri) checkJwksUri(input.jwksUri, config.jwksUri);
  }
  if (input.accessTokenTtl !== undefined) {
    if (!Number.isInteger(input.accessTokenTtl) || input.accessTokenTtl < 1 || input.accessTokenTtl > config.maxAccessTokenTtlSeconds) {
      throw new InvalidRequest(`ttl must be 1-${config.maxAccessTokenTtlSeconds} seconds`);
    }
  }
}
