/**
 * The JWKS and discovery documents (RFC 8414, OpenID Connect Discovery). Served from memory,
 * with an ETag (304 on If-None-Match) and a Cache-Control the edge honours: short max-age,
 * stale-while-revalidate, and a long stale-if-error so discovery survives an origin outage.
 */
import type { Context, Hono } from "hono";
import type { Issuer } from "../../issuer.js";
import type { AppEnv } from "../env.js";
import { discoveryDocument } from "../discovery.js";
import { etagOf } from "../responses.js";

export function wellKnownRoutes(app: Hono<AppEnv>, issuer: Issuer): void {
  const { config } = issuer;
  const cacheControl = `public, max-age=${config.wellKnownMaxAge}, stale-while-revalidate=${config.wellKnownMaxAge}, stale-if-error=86400`;
  const metadataBody = JSON.stringify(discoveryDocument(config));
  const metadata = { body: metadataBody, etag: etagOf(metadataBody) };

  const send = (c: Context<AppEnv>, doc: { body: string; etag: string }) => {
    const headers = { "Cache-Control": cacheControl, ETag: doc.etag };
    const match = c.req.header("if-none-match");
    if (match && match.split(",").some((t) => t.trim().replace(/^W\//, "") === doc.etag)) {
      return c.body(null, 304, headers);
    }
    return c.body(doc.body, 200, { ...headers, "Content-Type": "application/json" });
  };

  app.get("/.well-known/jwks.json", async (c) => send(c, await issuer.keys.jwks()));
  app.get("/.well-known/openid-configuration", (c) => send(c, metadata));
  app.get("/.well-known/oauth-authorization-server", (c) => send(c, metadata));
}
