/**
 * The verifier's optional revocation check: asks the issuer's introspection endpoint (RFC 7662)
 * whether a token whose signature already verified is still active, authenticating as a client
 * (client_secret_basic). An answer is cached for `cacheSeconds` (default 0: ask every time),
 * so a revocation reaches this verifier within the issuer's stated bound plus `cacheSeconds`.
 * A revoked token stays revoked, so an inactive answer is kept until the token expires.
 *
 * @example
 *   await verifyAccessToken(token, { issuer, audience, checkRevocation: { clientId, clientSecret } });
 */
import { LatchkeyError } from "./errors.js";
import type { IssuerMetadata } from "./discovery.js";

export interface RevocationCheck {
  /** A client of the issuer (any client may introspect). */
  clientId: string;
  clientSecret: string;
  /** How long an "active" answer is trusted, in seconds (default 0). */
  cacheSeconds?: number;
}

const MAX_ENTRIES = 10_000;
const answers = new Map<string, { active: boolean; until: number }>();

/** Throws invalid_token when the issuer says the token is not active. */
export async function assertActive(
  token: string,
  exp: number,
  meta: IssuerMetadata,
  check: RevocationCheck,
  fetchImpl: typeof fetch,
): Promise<void> {
  const now = Date.now();
  const known = answers.get(token);
  if (known && known.until > now) {
    if (known.active) return;
    throw revoked();
  }
  if (!meta.introspection_endpoint) {
    throw new LatchkeyError("discovery_failed", `${meta.issuer} lists no introspection_endpoint; checkRevocation needs one`);
  }
  const basic = Buffer.from(`${encodeURIComponent(check.clientId)}:${encodeURIComponent(check.clientSecret)}`).toString("base64");
  let res: Response;
  try {
    res = await fetchImpl(meta.introspection_endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json", authorization: `Basic ${basic}` },
      body: new URLSearchParams({ token, token_type_hint: "access_token" }),
    });
  } catch (err) {
    // Fail closed: without an answer the token cannot be shown to be unrevoked.
    throw new LatchkeyError("network_error", `introspection at ${meta.introspection_endpoint} failed`, undefined, { cause: err });
  }
  if (res.status === 401) throw new LatchkeyError("invalid_client", "the issuer refused checkRevocation's client credentials", 401);
  if (!res.ok) throw new LatchkeyError("server_error", `introspection answered HTTP ${res.status}`, res.status);
  const body = (await res.json().catch(() => ({}))) as { active?: unknown };
  const active = body.active === true;
  if (answers.size >= MAX_ENTRIES) answers.clear();
  answers.set(token, { active, until: active ? now + (check.cacheSeconds ?? 0) * 1000 : exp * 1000 });
  if (!active) throw revoked();
}

function revoked(): LatchkeyError {
  return new LatchkeyError("invalid_token", "the token has been revoked", 401, { reason: "revoked" });
}

/** For tests: forget cached answers. */
export function clearRevocationCache(): void {
  answers.clear();
}
