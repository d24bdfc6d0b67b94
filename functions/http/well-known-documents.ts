/**
 * The public documents under /.well-known: authorization server metadata (RFC 8414 section 3;
 * the same body at the OpenID Connect Discovery path) and the JWK Set (RFC 7517 section 5).
 * Built here and nowhere else: the router serves these bodies, and the rotation function
 * publishes the very same bytes as static objects for CloudFront (storage/public-documents.ts),
 * so a client cannot tell which one answered.
 */
import type { Config } from "../config.js";
import type { Issuer } from "../issuer.js";
import { discoveryDocument } from "./discovery.js";
import { etagOf } from "./responses.js";

export const WELL_KNOWN_PATHS = {
  jwks: "/.well-known/jwks.json",
  openidConfiguration: "/.well-known/openid-configuration",
  authorizationServer: "/.well-known/oauth-authorization-server",
} as const;

export type WellKnownPath = (typeof WELL_KNOWN_PATHS)[keyof typeof WELL_KNOWN_PATHS];

export interface PublicDocument {
  body: string;
  etag: string;
}

/**
 * Short max-age, stale-while-revalidate, and a long stale-if-error so discovery survives an
 * origin outage (RFC 5861); CloudFront honours it.
 */
export function wellKnownCacheControl(config: Config): string {
  return `public, max-age=${config.wellKnownMaxAge}, stale-while-revalidate=${config.wellKnownMaxAge}, stale-if-error=86400`;
}

/** The metadata body: fixed for the life of a config, so callers build it once. */
export function metadataDocument(config: Config): PublicDocument {
  const body = JSON.stringify(discoveryDocument(config));
  return { body, etag: etagOf(body) };
}

/** Every /.well-known document as it stands now (the JWKS from the current keyring). */
export async function wellKnownDocuments(issuer: Issuer): Promise<Record<WellKnownPath, PublicDocument>> {
  const metadata = metadataDocument(issuer.config);
  return {
    [WELL_KNOWN_PATHS.jwks]: await issuer.keys.jwks(),
    [WELL_KNOWN_PATHS.openidConfiguration]: metadata,
    [WELL_KNOWN_PATHS.authorizationServer]: metadata,
  };
}
