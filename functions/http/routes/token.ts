/** POST /token (RFC 6749), POST /refresh (for apps using /login) and POST /revoke (RFC 7009). */
import type { Hono } from "hono";
import type { Issuer } from "../../issuer.js";
import type { AppEnv } from "../env.js";
import { UnsupportedGrantType } from "../../errors.js";
import { grants } from "../../tokens/grants/index.js";
import * as refreshGrant from "../../tokens/grants/refresh-token.js";
import { readBody } from "../body.js";
import { RefreshRequest, RevokeRequest, TokenRequest } from "../schemas.js";
import { noStore } from "../responses.js";

export function tokenRoutes(app: Hono<AppEnv>, issuer: Issuer): void {
  const maxBytes = issuer.config.maxBodyBytes;
  const formOrJson = { accept: ["form" as const, "json" as const], maxBytes };

  app.post("/token", async (c) => {
    const params = await readBody(c, TokenRequest, formOrJson);
    const grant = Object.hasOwn(grants, params.grant_type) ? grants[params.grant_type] : undefined;
    if (!grant) throw new UnsupportedGrantType(`grant_type ${params.grant_type} is not supported`);
    return noStore(c.json(await grant.handler(issuer, params, c)));
  });

  app.post("/refresh", async (c) => {
    const body = await readBody(c, RefreshRequest, { accept: ["json"], maxBytes });
    return noStore(c.json(await refreshGrant.handler(issuer, body)));
  });

  // RFC 7009 section 2.2: the server responds 200 whether or not the token was valid.
  app.post("/revoke", async (c) => {
    const body = await readBody(c, RevokeRequest, formOrJson);
    // Access tokens are self-contained JWTs and expire on their own; refresh tokens revoke
    // their whole family. Unknown tokens are not an error.
    await issuer.refreshTokens.revoke(body.token);
    return noStore(c.body(null, 200));
  });
}
