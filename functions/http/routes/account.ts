/**
 * Self-service with a person's access token (`Authorization: Bearer`, RFC 6750 section 2.1):
 * POST /account/password, DELETE /account, DELETE /account/sessions; and the hosted
 * password-reset page (GET/POST /account/reset) that `latchkey users reset-password` links to.
 */
import type { Context, Hono } from "hono";
import type { Issuer } from "../../issuer.js";
import type { AppEnv } from "../env.js";
import { InvalidGrant, InvalidToken, OAuthError } from "../../errors.js";
import type { AccessTokenClaims } from "../../tokens/verify-access-token.js";
import { readBody } from "../body.js";
import { ChangePasswordRequest, DeleteAccountRequest, ResetPageQuery, ResetPasswordForm } from "../schemas.js";
import { resetDone, resetForm, resetUnusable } from "../pages/reset-password.js";
import { requestHeader } from "../request-header.js";

export function accountRoutes(app: Hono<AppEnv>, issuer: Issuer): void {
  const { config, accounts } = issuer;
  const json = { accept: ["json" as const], maxBytes: config.maxBodyBytes };

  /** The bearer token's claims: verified, not revoked (401 otherwise). */
  const caller = async (c: Context<AppEnv>): Promise<AccessTokenClaims> => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(requestHeader(c, "authorization") ?? "");
    if (!match) throw new InvalidToken("a bearer token is required");
    return issuer.accessTokens.verifyActive(match[1]!);
  };

  app.post("/account/password", async (c) => {
    const claims = await caller(c);
    const body = await readBody(c, ChangePasswordRequest, json);
    await accounts.changePassword(claims, body.current_password, body.new_password, c.get("context"));
    return c.body(null, 204, { "Cache-Control": "no-store" });
  });

  app.delete("/account", async (c) => {
    const claims = await caller(c);
    const body = await readBody(c, DeleteAccountRequest, json);
    await accounts.deleteOwn(claims, body.password, c.get("context"));
    return c.body(null, 204, { "Cache-Control": "no-store" });
  });

  app.delete("/account/sessions", async (c) => {
    await accounts.signOutEverywhere(await caller(c), c.get("context"));
    return c.body(null, 204, { "Cache-Control": "no-store" });
  });

  const action = `${config.issuer}/account/reset`;
  const minLength = config.password.minLength;

  app.get("/account/reset", async (c) => {
    const query = ResetPageQuery.safeParse(c.req.query());
    if (!query.success || !(await accounts.resetUsable(query.data.token))) return resetUnusable();
    return resetForm(action, query.data.token, minLength);
  });

  app.post("/account/reset", async (c) => {
    let form;
    try {
      form = await readBody(c, ResetPasswordForm, { accept: ["form"], maxBytes: config.maxBodyBytes });
    } catch (err) {
      if (err instanceof OAuthError && err.status === 400) return resetUnusable();
      throw err;
    }
    try {
      await accounts.completeReset(form.token, form.password ?? "", c.get("context"));
    } catch (err) {
      if (err instanceof InvalidGrant) return resetUnusable();
      // A rule the password broke: the form again, saying which (the link is not spent).
      if (err instanceof OAuthError && err.status === 400) return resetForm(action, form.token, minLength, err.description, 400);
      throw err;
    }
    return resetDone();
  });
}
