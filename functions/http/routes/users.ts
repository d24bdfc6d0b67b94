/** POST /register and POST /login: people with a username and password. */
import type { Hono } from "hono";
import type { Issuer } from "../../issuer.js";
import type { AppEnv } from "../env.js";
import { AccessDenied } from "../../errors.js";
import { issueAccessToken, tokenResponse } from "../../tokens/access-token.js";
import { newSessionId } from "../../tokens/refresh-tokens.js";
import { grantAudience, grantScopes, parseScope } from "../../tokens/scopes.js";
import { readBody } from "../body.js";
import { LoginRequest, RegisterRequest } from "../schemas.js";
import { noStoreJson } from "../responses.js";
import { metrics } from "../../observability/metrics.js";

export function userRoutes(app: Hono<AppEnv>, issuer: Issuer): void {
  const { config } = issuer;
  const json = { accept: ["json" as const], maxBytes: config.maxBodyBytes };

  app.post("/register", async (c) => {
    if (!config.registrationEnabled) throw new AccessDenied("registration is switched off for this issuer");
    const body = await readBody(c, RegisterRequest, json);
    const user = await issuer.users.register(body.username, body.password, c.get("context"));
    return c.json(user, 201);
  });

  app.post("/login", async (c) => {
    const body = await readBody(c, LoginRequest, json);
    // Validate what was asked for before touching credentials, so a typo costs no attempt.
    const aud = grantAudience(body.audience, config.userAudiences);
    const scope = grantScopes(parseScope(body.scope), config.userScopes, config.userScopes);
    await issuer.keys.signingKey(); // 503 before a login is spent, not after
    const user = await issuer.users.authenticate(body.username, body.password, "login", c.get("context"));
    // One session per login: the refresh-token family and the `sid` its access tokens carry.
    const sid = newSessionId();
    const refreshToken = await issuer.refreshTokens.start({ sub: user.sub, user: user.key, sid, aud, scope });
    const at = await issueAccessToken(issuer.keys, config, { sub: user.sub, aud, scope, sid });
    metrics.tokenIssued("password");
    return noStoreJson(c, tokenResponse(at, refreshToken));
  });
}
