/**
 * The JWKS and discovery documents (RFC 8414, OpenID Connect Discovery). Served from memory,
 * with an ETag (304 on If-None-Match) and the Cache-Control the edge honours. The bodies come
 * from ../well-known-documents.ts, which also builds the static copies CloudFront serves first.
 */
import type { Context, Hono } from "hono";
import type { Issuer } from "../../issuer.js";
import type { AppEnv } from "../env.js";
import { metadataDocument, wellKnownCacheControl, WELL_KNOWN_PATHS, type PublicDocument } from "../well-known-documents.js";
import { requestHeader } from "../request-header.js";
import { plainAnswer } from "../responses.js";

export function wellKnownRoutes(app: Hono<AppEnv>, issuer: Issuer): void {
  const cacheControl = wellKnownCacheControl(issuer.config);
  const metadata = metadataDocument(issuer.config);

  const send = (c: Context<AppEnv>, doc: PublicDocument) => {
    const headers = { "Cache-Control": cacheControl, ETag: doc.etag };
    const match = requestHeader(c, "if-none-match");
    if (match && match.split(",").some((t) => t.trim().replace(/^W\//, "") === doc.etag)) {
      return plainAnswer(c, 304, null, headers);
    }
    return plainAnswer(c, 200, doc.body, { ...headers, "Content-Type": "application/json" });
  };

  app.get(WELL_KNOWN_PATHS.jwks, async (c) => send(c, await issuer.keys.jwks()));
  app.get(WELL_KNOWN_PATHS.openidConfiguration, (c) => send(c, metadata));
  app.get(WELL_KNOWN_PATHS.authorizationServer, (c) => send(c, metadata));
}
