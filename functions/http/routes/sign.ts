/**
 * POST /sign: mint a token with caller-chosen claims, for clients granted it. Registered
 * claims (iss, iat, exp, nbf, jti) and client_id stay server-set; authorization claims only
 * when registered (tokens/sign-claims.ts); sub defaults to the client; audience and lifetime
 * stay within the client's grant; scope stays within its allow-list; the claim set has a size
 * limit. Useful to exchange an upstream identity for a token an
 * API Gateway JWT authorizer accepts.
 */
import type { Hono } from "hono";
import type { Issuer } from "../../issuer.js";
import type { AppEnv } from "../env.js";
import { AccessDenied, InvalidRequest } from "../../errors.js";
import { issueAccessToken } from "../../tokens/access-token.js";
import { grantAudience, grantScopes, parseScope } from "../../tokens/scopes.js";
import { checkSignableClaims } from "../../tokens/sign-claims.js";
import { readBody } from "../body.js";
import { SignRequest } from "../schemas.js";
import { noStoreJson } from "../responses.js";
import { metrics } from "../../observability/metrics.js";
import { requestHeader } from "../request-header.js";

export function signRoutes(app: Hono<AppEnv>, issuer: Issuer): void {
  const { config } = issuer;
  app.post("/sign", async (c) => {
    const body = await readBody(c, SignRequest, { accept: ["json"], maxBytes: config.maxBodyBytes });
    const { client } = await issuer.clientAuth.authenticate({ authorization: requestHeader(c, "authorization"), ...body });
    if (!client.maySign) throw new AccessDenied("this client is not allowed to use /sign");
    const claims = body.claims;
    checkSignableClaims(claims, client.signClaims);
    if (Buffer.byteLength(JSON.stringify(claims)) > config.signMaxClaimsBytes) {
      throw new InvalidRequest(`claims exceed ${config.signMaxClaimsBytes} bytes`);
    }
    const sub = claims.sub ?? client.clientId;
    if (typeof sub !== "string" || sub.length === 0 || sub.length > 256) throw new InvalidRequest("sub must be a string of 1-256 characters");
    if (claims.scope !== undefined && typeof claims.scope !== "string") throw new InvalidRequest("scope must be a space-delimited string");
    const scope = grantScopes(parseScope(claims.scope as string | undefined), client.scopes, []);
    if (body.expires_in !== undefined && body.expires_in > client.accessTokenTtl) {
      throw new InvalidRequest(`expires_in must be at most ${client.accessTokenTtl} for this client`);
    }
    const aud = grantAudience(body.audience, client.audiences);
    const { sub: _sub, scope: _scope, ...rest } = claims;
    const at = await issueAccessToken(issuer.keys, config, {
      sub,
      aud,
      scope,
      clientId: client.clientId,
      ttl: body.expires_in ?? client.accessTokenTtl,
      claims: rest,
    });
    metrics.tokenIssued("sign", client.clientId);
    return noStoreJson(c, { access_token: at.token, token_type: "Bearer", expires_in: at.expiresIn });
  });
}
