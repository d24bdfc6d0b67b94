/** Issuer metadata discovery (`{issuer}/.well-known/openid-configuration`), cached per issuer. */
import { LatchkeyError } from "./errors.js";

export interface IssuerMetadata {
  issuer: string;
  token_endpoint: string;
  jwks_uri: string;
  revocation_endpoint?: string;
  introspection_endpoint?: string;
}

const cache = new Map<string, Promise<IssuerMetadata>>();

export function discover(issuer: string, fetchImpl: typeof fetch = fetch): Promise<IssuerMetadata> {
  const base = issuer.replace(/\/+$/, "");
  let pending = cache.get(base);
  if (!pending) {
    pending = load(base, fetchImpl);
    cache.set(base, pending);
    pending.catch(() => cache.delete(base)); // a failed discovery is retried next time
  }
  return pending;
}

async function load(issuer: string, fetchImpl: typeof fetch): Promise<IssuerMetadata> {
  let res: Response;
  try {
    res = await fetchImpl(`${issuer}/.well-known/openid-configuration`, { headers: { accept: "application/json" } });
  } catch (err) {
    throw new LatchkeyError("discovery_failed", `could not reach ${issuer}`, undefined, { cause: err });
  }
  if (!res.ok) throw new LatchkeyError("discovery_failed", `discovery at ${issuer} answered HTTP ${res.status}`, res.status);
  let doc: Partial<IssuerMetadata>;
  try {
    doc = (await res.json()) as Partial<IssuerMetadata>;
  } catch (err) {
    throw new LatchkeyError("discovery_failed", `discovery at ${issuer} is not JSON`, res.status, { cause: err });
  }
  // RFC 8414 section 3.3: the issuer in the document must be the one we asked.
  if (doc.issuer !== issuer) throw new LatchkeyError("discovery_failed", `discovery issuer ${String(doc.issuer)} is not ${issuer}`);
  if (typeof doc.token_endpoint !== "string" || typeof doc.jwks_uri !== "string") {
    throw new LatchkeyError("discovery_failed", `discovery at ${issuer} lacks token_endpoint or jwks_uri`);
  }
  return doc as IssuerMetadata;
}

/** For tests: forget cached metadata. */
export function clearDiscoveryCache(): void {
  cache.clear();
}
