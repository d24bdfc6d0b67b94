/** POST /token (RFC 6749), POST /refresh (for apps using /login) and POST /revoke (RFC 7009). */
import type { Hono } from "hono";
import type { Issuer } from "../../issuer.js";
import type { AppEnv } from "../env.js";
import { InvalidToken, UnsupportedGrantType } from "../../errors.js";
import { JWT_SHAPE } from "../../tokens/verify-access-token.js";
import { audit } from "../../observability/audit.js";
import { grants } from "../../tokens/grants/index.js";
import * as refreshGrant from "../../tokens/grants/refresh-token.js";
import { readBody } from "../body.js";
import { RefreshRequest, RevokeRequest, TokenRequest } from "../schemas.js";
import { NO_STORE, noStoreJson, plainAnswer } from "../responses.js";

export function tokenRoutes(app: Hono<AppEnv>, issuer: Issuer): void {
  const maxBytes = issuer.config.maxBodyBytes;
  const formOrJson = { accept: ["form" as const, "json" as const], maxBytes };

  app.post("/token", async (c) => {
    const params = await readBody(c, TokenRequest, formOrJson);
    const grant = Object.hasOwn(grants, params.grant_type) ? grants[params.grant_type] : undefined;
    if (!grant) throw new UnsupportedGrantType(`grant_type ${params.grant_type} is not supported`);
    return noStoreJson(c, await grant.handler(issuer, params, c));
  });

  app.post("/refresh", async (c) => {
    const body = await readBody(c, RefreshRequest, { accept: ["json"], maxBytes });
    return noStoreJson(c, await refreshGrant.handler(issuer, body, undefined, c.get("context")));
  });

  // RFC 7009 section 2.2: the server responds 200 whether or not the token was valid.
  app.post("/revoke", async (c) => {
    const body = await readBody(c, RevokeRequest, formOrJson);
    // An access token (told apart by its shape; the hint only orders the search, section 2.1)
    // is recorded in the revocation state until it expires; a refresh token revokes its whole
    // family and that session's access tokens. Unknown, forged and expired tokens are ignored.
    if (JWT_SHAPE.test(body.token)) {
      const claims = await issuer.accessTokens.verify(body.token).catch((err: unknown) => {
        if (err instanceof InvalidToken) return undefined;
        throw err;
      });
      if (claims?.jti !== undefined) {
        await issuer.revocations.revokeToken(claims.jti, claims.exp);
        audit("token.revoked", { sub: claims.sub, jti: claims.jti, kind: "access_token" }, c.get("context"));
      }
    } else if (await issuer.refreshTokens.revoke(body.token)) {
      audit("session.revoked", { reason: "revoke", kind: "refresh_token" }, c.get("context"));
    }
    // An empty answer in one plain header record, like the token responses: on Lambda no
    // undici Response or Headers is built for it (36-50 ms the first time an instance does).
    return plainAnswer(c, 200, null, NO_STORE);
  });
}
