/**
 * `latchkey clients ...`: machine clients, by hand.
 *
 * @example
 *   npx latchkey clients create --name billing --scopes invoices:read --audiences https://api.example.com
 *   npx latchkey clients rotate-secret lkc_...
 */
import { readFileSync } from "node:fs";
import type { JSONWebKeySet } from "jose";
import { describeClient, type ClientAuth } from "../clients/clients.js";
import { OAuthError } from "../errors.js";
import { openIssuer, UsageError, type TargetFlags } from "./context.js";

export const usage = `latchkey clients create --name NAME [--scopes a,b] [--audiences URL,...] [--auth secret|private_key_jwt|both]
                       [--jwks-file FILE | --jwks-uri URL] [--ttl SECONDS] [--may-sign]
latchkey clients list
latchkey clients show <client_id>
latchkey clients rotate-secret <client_id> [--overlap SECONDS]
latchkey clients disable <client_id>
latchkey clients enable <client_id>`;

export const flags = {
  name: { type: "string" },
  scopes: { type: "string" },
  audiences: { type: "string" },
  auth: { type: "string" },
  "jwks-file": { type: "string" },
  "jwks-uri": { type: "string" },
  ttl: { type: "string" },
  "may-sign": { type: "boolean" },
  overlap: { type: "string" },
} as const;

type Flags = TargetFlags & {
  name?: string;
  scopes?: string;
  audiences?: string;
  auth?: string;
  "jwks-file"?: string;
  "jwks-uri"?: string;
  ttl?: string;
  "may-sign"?: boolean;
  overlap?: string;
};

export async function clientsCommand(args: string[], f: Flags): Promise<unknown> {
  const [verb, id] = args;
  const issuer = openIssuer(f);
  const needId = () => {
    if (!id) throw new UsageError(`clients ${verb} needs a client_id (see \`latchkey clients list\`)`);
    return id;
  };
  try {
    switch (verb) {
      case "create": {
        if (!f.name) throw new UsageError("clients create needs --name");
        const auth = (f.auth ?? "secret") as ClientAuth;
        if (!["secret", "private_key_jwt", "both"].includes(auth)) throw new UsageError("--auth must be secret, private_key_jwt or both");
        const { client, clientSecret } = await issuer.clients.create({
          name: f.name,
          auth,
          scopes: splitList(f.scopes),
          audiences: splitList(f.audiences),
          ...(f["jwks-file"] ? { jwks: readJwks(f["jwks-file"]) } : {}),
          ...(f["jwks-uri"] ? { jwksUri: f["jwks-uri"] } : {}),
          ...(f.ttl !== undefined ? { accessTokenTtl: positiveInt(f.ttl, "--ttl") } : {}),
          maySign: Boolean(f["may-sign"]),
        });
        return { client_id: client.clientId, ...(clientSecret ? { client_secret: clientSecret } : {}), client: describeClient(client) };
      }
      case "list":
        return (await issuer.clients.list()).map(describeClient);
      case "show": {
        const client = await issuer.clients.read(needId());
        if (!client) throw new UsageError(`no client ${id}`);
        return describeClient(client);
      }
      case "rotate-secret": {
        const overlap = f.overlap !== undefined ? nonNegativeInt(f.overlap, "--overlap") : undefined;
        const { client, clientSecret } = await issuer.clients.rotateSecret(needId(), overlap);
        return { client_id: client.clientId, client_secret: clientSecret, client: describeClient(client) };
      }
      case "disable":
      case "enable":
        return describeClient(await issuer.clients.setEnabled(needId(), verb === "enable"));
      default:
        throw new UsageError(`unknown clients command ${verb ?? "(none)"}\n${usage}`);
    }
  } catch (err) {
    if (err instanceof OAuthError) throw new UsageError(err.description);
    throw err;
  }
}

function splitList(v: string | undefined): string[] {
  return (v ?? "").split(",").map((s) => s.trim()).filter(Boolean);
}

function positiveInt(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} must be a positive whole number of seconds`);
  return n;
}

function nonNegativeInt(v: string, flag: string): number {
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
