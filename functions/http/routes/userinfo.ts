/**
 * GET and POST /userinfo (OIDC Core 5.3): a bearer access token carrying the `openid` scope
 * gets `sub` and the claims its scopes allow (`preferred_username` with `profile`, section
 * 5.4). Errors per RFC 6750 section 3.1: 401 invalid_token, 403 insufficient_scope, each
 * with WWW-Authenticate. POST also accepts the token as a form field (RFC 6750 section 2.2).
 */
import type { Context, Hono } from "hono";
import type { Issuer } from "../../issuer.js";
import type { AppEnv } from "../env.js";
import { InsufficientScope, InvalidRequest, InvalidToken } from "../../errors.js";
import { readBody } from "../body.js";
import { noStoreJson } from "../responses.js";
import { UserinfoForm } from "../schemas.js";
import { requestHeader } from "../request-header.js";

export function userinfoRoutes(app: Hono<AppEnv>, issuer: Issuer): void {
  const answer = async (c: Context<AppEnv>, authorization: string | undefined) => {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1];
    if (!token) throw new InvalidToken("a bearer token is required");
    // Signature, issuer, lifetime and the revocation state (a logged-out session's tokens fail here).
    const claims = await issuer.accessTokens.verifyActive(token);
    const scope = (claims.scope ?? "").split(" ").filter(Boolean);
    if (!scope.includes("openid")) throw new InsufficientScope("the token lacks the openid scope", "openid");
    const out: Record<string, unknown> = { sub: claims.sub };
    if (scope.includes("profile") && typeof claims.sid === "string") {
      // The username as signed in, from the session the token was issued under.
      const session = await issuer.sessions.get(claims.sid);
      if (session && session.sub === claims.sub) out.preferred_username = session.username;
    }
    return noStoreJson(c, out);
  };

  app.get("/userinfo", (c) => answer(c, requestHeader(c, "authorization")));
  app.post("/userinfo", async (c) => {
    const header = requestHeader(c, "authorization");
    const hasBody = Number(requestHeader(c, "content-length") ?? "0") > 0 || requestHeader(c, "transfer-encoding") !== undefined;
    if (!hasBody) return answer(c, header);
    const form = await readBody(c, UserinfoForm, { accept: ["form"], maxBytes: issuer.config.maxBodyBytes });
    // RFC 6750 section 2: a client must not use more than one method to send the token.
    if (form.access_token && header) throw new InvalidRequest("send the access token in one place only");
    return answer(c, form.access_token ? `Bearer ${form.access_token}` : header);
  });
}
