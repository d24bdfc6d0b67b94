/**
 * POST /introspect (RFC 7662). The caller authenticates as a client with any method it has
 * (client_secret_basic, client_secret_post, private_key_jwt, or both where required); without
 * that, 401 invalid_client (RFC 7662 section 2.1: the endpoint must require authorization).
 */
import type { Hono } from "hono";
import type { Issuer } from "../../issuer.js";
import type { AppEnv } from "../env.js";
import { introspect } from "../../tokens/introspection.js";
import { readBody } from "../body.js";
import { IntrospectRequest } from "../schemas.js";
import { noStoreJson } from "../responses.js";
import { requestHeader } from "../request-header.js";

export function introspectRoutes(app: Hono<AppEnv>, issuer: Issuer): void {
  app.post("/introspect", async (c) => {
    const params = await readBody(c, IntrospectRequest, { accept: ["form", "json"], maxBytes: issuer.config.maxBodyBytes });
    const { client } = await issuer.clientAuth.authenticate({ authorization: requestHeader(c, "authorization"), ...params });
    return noStoreJson(c, await introspect(issuer, client, params));
  });
}
