/**
 * `latchkey token`: fetch an access token with client_credentials, like a get-service-token
 * script. Discovers the token endpoint from the issuer's metadata.
 *
 * @example
 *   npx latchkey token --client-id lkc_... --client-secret lks_... --scope invoices:read
 */
import { existsSync, readFileSync } from "node:fs";
import { LOCAL_STATE_FILE } from "../local/state.js";
import { UsageError } from "./context.js";

export const usage = `latchkey token --client-id ID --client-secret SECRET [--scope "a b"] [--audience URL] [--issuer URL]`;

export const flags = {
  "client-id": { type: "string" },
  "client-secret": { type: "string" },
  scope: { type: "string" },
  audience: { type: "string" },
} as const;

type Flags = { issuer?: string; "client-id"?: string; "client-secret"?: string; scope?: string; audience?: string };

export async function tokenCommand(_args: string[], f: Flags): Promise<unknown> {
  const clientId = f["client-id"];
  const clientSecret = f["client-secret"] ?? process.env.LATCHKEY_CLIENT_SECRET;
  if (!clientId || !clientSecret) throw new UsageError("token needs --client-id and --client-secret (or LATCHKEY_CLIENT_SECRET)");
  const issuer = f.issuer ?? process.env.LATCHKEY_ISSUER ?? localIssuer();
  if (!issuer) throw new UsageError("token needs --issuer URL (or run `npm start` in this directory)");
  let endpoint: string;
  try {
    const res = await fetch(`${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    endpoint = ((await res.json()) as { token_endpoint: string }).token_endpoint;
  } catch (err) {
    throw new UsageError(`could not discover ${issuer}: ${(err as Error).message}`);
  }
  const form = new URLSearchParams({ grant_type: "client_credentials" });
  if (f.scope) form.set("scope", f.scope);
  if (f.audience) form.set("audience", f.audience);
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString("base64");
  const res = await fetch(endpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${basic}` },
    body: form,
  });
  const body = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new UsageError(`${body.error ?? res.status}: ${body.error_description ?? "token request failed"}`);
  return body;
}

function localIssuer(): string | undefined {
  if (!existsSync(LOCAL_STATE_FILE)) return undefined;
  return (JSON.parse(readFileSync(LOCAL_STATE_FILE, "utf8")) as { issuer?: string }).issuer;
}
