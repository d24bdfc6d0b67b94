/**
 * `latchkey token`: fetch an access token with client_credentials, like a get-service-token
 * script. Discovers the token endpoint from the issuer's metadata.
 *
 * @example
 *   npx latchkey token --client-id lkc_... --client-secret lks_... --scope invoices:read
 */
import { readLocalState } from "../local/state.js";
import type { Area, Notes } from "./command-line.js";
import { CommandFailed, UsageError } from "./context.js";

export const token: Area = {
  summary: "an access token for a machine client (client_credentials)",
  commands: {
    "": {
      summary: "fetch an access token with client_credentials; prints the token response",
      flags: {
        "client-id": { type: "string", value: "ID", help: "the client's id (lkc_...)" },
        "client-secret": { type: "string", value: "SECRET", help: "its secret (or LATCHKEY_CLIENT_SECRET)" },
        scope: { type: "string", value: '"a b"', help: "scopes to ask for, space-separated (default: all it may have)" },
        audience: { type: "string", value: "URL", help: "the audience to ask for (default: its first)" },
        issuer: { type: "string", value: "URL", help: "the issuer (default: LATCHKEY_ISSUER, or the `npm start` instance here)" },
      },
      run: (_args, f, notes) => fetchToken(f as Flags, notes),
    },
  },
};

type Flags = { issuer?: string; "client-id"?: string; "client-secret"?: string; scope?: string; audience?: string };

async function fetchToken(f: Flags, notes: Notes): Promise<unknown> {
  const clientId = f["client-id"];
  const clientSecret = f["client-secret"] ?? process.env.LATCHKEY_CLIENT_SECRET;
  if (!clientId || !clientSecret) throw new UsageError("token needs --client-id and --client-secret (or LATCHKEY_CLIENT_SECRET)");
  const issuer = (f.issuer ?? process.env.LATCHKEY_ISSUER ?? localIssuer())?.replace(/\/+$/, "");
  if (!issuer) throw new UsageError("token needs --issuer URL (or run `npm start` in this directory)");
  let metadata: { issuer?: string; token_endpoint: string };
  try {
    const res = await fetch(`${issuer}/.well-known/openid-configuration`);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    metadata = (await res.json()) as typeof metadata;
  } catch (err) {
    throw new CommandFailed(`could not discover ${issuer}: ${(err as Error).message}`);
  }
  // RFC 8414 section 3.3: the issuer a server names must be the URL it was discovered at. The
  // token's `iss` is the server's own name, so a verifier configured with the URL typed here
  // (say localhost for 127.0.0.1) would refuse it: say so rather than hand back a surprise.
  if (metadata.issuer && metadata.issuer !== issuer) {
    notes.note(
      `${issuer} names itself ${metadata.issuer}; tokens it issues carry iss=${metadata.issuer}, ` +
        `so configure verifiers with that exact value (or pass --issuer ${metadata.issuer})`,
    );
  }
  const form = new URLSearchParams({ grant_type: "client_credentials" });
  if (f.scope) form.set("scope", f.scope);
  if (f.audience) form.set("audience", f.audience);
  // RFC 6749 section 2.3.1: form-urlencode id and secret before Basic encoding.
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString("base64");
  let res: Response;
  try {
    res = await fetch(metadata.token_endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${basic}` },
      body: form,
    });
  } catch (err) {
    throw new CommandFailed(`could not reach ${metadata.token_endpoint}: ${(err as Error).message}`);
  }
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) throw new CommandFailed(`${body.error ?? res.status}: ${body.error_description ?? "token request failed"}`);
  return body;
}

function localIssuer(): string | undefined {
  return readLocalState()?.issuer;
}
