/**
 * `latchkey clients ...`: machine clients, by hand.
 *
 * @example
 *   npx latchkey clients create --name billing --scopes invoices:read --audiences https://api.example.com
 *   npx latchkey clients create --name web --auth none --redirect-uris https://app.example.com/callback
 *   npx latchkey clients rotate-secret lkc_...
 */
import { readFileSync } from "node:fs";
import type { JSONWebKeySet } from "jose";
import { describeClient, type ClientAuth } from "../clients/clients.js";
import { UsageError, type ArgSpec, type Command, type FlagValues } from "./command-line.js";
import { CommandFailed, failOnOAuthError, openIssuer, targetFlags } from "./context.js";

const CLIENT_ID: ArgSpec = { name: "client_id" };

export const clients = {
  summary: "machine clients: create, list, show, rotate-secret, disable, enable",
  sharedFlags: targetFlags,
  commands: {
    create: {
      summary: "register a machine client or an app that signs people in; prints its secret once",
      flags: {
        name: { type: "string", value: "NAME", help: "a name for people (required)" },
        scopes: { type: "string", value: "a,b", help: "scopes it may ask for, comma-separated" },
        audiences: { type: "string", value: "URL,...", help: "audiences it may ask for; the first is its default" },
        auth: { type: "string", value: "none|secret|private_key_jwt|both", help: "how it authenticates (default secret; none: a public app, needs --redirect-uris)" },
        "redirect-uris": { type: "string", value: "URL,...", help: "where sign-in may return (https, http on loopback, or com.example.app:/cb)" },
        "post-logout-redirect-uris": { type: "string", value: "URL,...", help: "where logout may return" },
        "jwks-file": { type: "string", value: "FILE", help: "public keys for private_key_jwt: a JWK Set or one JWK" },
        "jwks-uri": { type: "string", value: "URL", help: "where to fetch its public keys for private_key_jwt" },
        ttl: { type: "string", value: "SECONDS", help: "its access-token lifetime" },
        "may-sign": { type: "boolean", help: "allow POST /sign" },
        "sign-claims": { type: "string", value: "roles,groups", help: "authorization claims it may set at /sign (none by default)" },
      },
      async run(_args, f) {
        if (!f.name) throw new UsageError("clients create needs --name");
        const auth = (f.auth ?? "secret") as ClientAuth;
        if (!["none", "secret", "private_key_jwt", "both"].includes(auth)) throw new UsageError("--auth must be none, secret, private_key_jwt or both");
        if (auth === "none" && !f["redirect-uris"]) throw new UsageError("--auth none (a public client) needs --redirect-uris");
        const input = {
          name: String(f.name),
          auth,
          ...(f.scopes !== undefined ? { scopes: splitList(f.scopes) } : {}),
          audiences: splitList(f.audiences),
          ...(f["redirect-uris"] !== undefined ? { redirectUris: splitList(f["redirect-uris"]) } : {}),
          ...(f["post-logout-redirect-uris"] !== undefined ? { postLogoutRedirectUris: splitList(f["post-logout-redirect-uris"]) } : {}),
          ...(f["jwks-file"] ? { jwks: readJwks(String(f["jwks-file"])) } : {}),
          ...(f["jwks-uri"] ? { jwksUri: String(f["jwks-uri"]) } : {}),
          ...(f.ttl !== undefined ? { accessTokenTtl: positiveInt(f.ttl, "--ttl") } : {}),
          maySign: Boolean(f["may-sign"]),
          signClaims: splitList(f["sign-claims"]),
        };
        // What the store refuses here is a flag value (a scope, an audience, the ttl): a usage error.
        const { client, clientSecret } = await failOnOAuthError(() => openIssuer(f).clients.create(input), UsageError);
        return { client_id: client.clientId, ...(clientSecret ? { client_secret: clientSecret } : {}), client: describeClient(client) };
      },
    },
    list: {
      summary: "every client, without secrets",
      async run(_args, f) {
        return (await openIssuer(f).clients.list()).map(describeClient);
      },
    },
    show: {
      summary: "one client, without its secret",
      args: [CLIENT_ID],
      async run(args, f) {
        const client = await openIssuer(f).clients.read(args.client_id!);
        if (!client) throw new CommandFailed(`no client ${args.client_id} (see \`latchkey clients list\`)`);
        return describeClient(client);
      },
    },
    "rotate-secret": {
      summary: "a new secret; the old one keeps working for --overlap seconds",
      args: [CLIENT_ID],
      flags: { overlap: { type: "string", value: "SECONDS", help: "how long the old secret keeps working" } },
      async run(args, f) {
        const overlap = f.overlap !== undefined ? nonNegativeInt(f.overlap, "--overlap") : undefined;
        const { client, clientSecret } = await failOnOAuthError(() => openIssuer(f).clients.rotateSecret(args.client_id!, overlap));
        return { client_id: client.clientId, client_secret: clientSecret, client: describeClient(client) };
      },
    },
    disable: {
      summary: "refuse its tokens from now on (within the client cache time)",
      args: [CLIENT_ID],
      async run(args, f) {
        return describeClient(await failOnOAuthError(() => openIssuer(f).clients.setEnabled(args.client_id!, false)));
      },
    },
    enable: {
      summary: "allow a disabled client again",
      args: [CLIENT_ID],
      async run(args, f) {
        return describeClient(await failOnOAuthError(() => openIssuer(f).clients.setEnabled(args.client_id!, true)));
      },
    },
  } satisfies Record<string, Command>,
};

function splitList(v: FlagValues[string]): string[] {
  return String(v ?? "").split(",").map((s) => s.trim()).filter(Boolean);
}

function positiveInt(v: FlagValues[string], flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} must be a positive whole number of seconds`);
  return n;
}

function nonNegativeInt(v: FlagValues[string], flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be a whole number of seconds`);
  return n;
}

function readJwks(path: string): JSONWebKeySet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new UsageError(`--jwks-file ${path}: ${(err as Error).message}`);
  }
  // Accept a JWK Set or a single public JWK.
  if (parsed && typeof parsed === "object" && Array.isArray((parsed as JSONWebKeySet).keys)) return parsed as JSONWebKeySet;
  if (parsed && typeof parsed === "object" && "kty" in parsed) return { keys: [parsed as JSONWebKeySet["keys"][number]] };
  throw new UsageError(`--jwks-file ${path} must hold a JWK Set ({"keys":[...]}) or a public JWK`);
}
