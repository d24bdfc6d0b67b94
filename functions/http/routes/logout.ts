/**
 * RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the end_session_endpoint.
 * - With an `id_token_hint` this issuer signed (expired is fine, section 2): the session it
 *   names ends, and the browser's own session too when it belongs to the same person.
 * - Without one, a person with a session is asked to confirm (a form with the CSRF token),
 *   so a third-party page cannot sign them out behind their back (section 2, "logout CSRF").
 * Ending a session revokes the refresh tokens issued under it. `post_logout_redirect_uri`
 * must be registered for the client exactly (section 3); otherwise, or when no client is
 * named, the person sees a "signed out" page: an unregistered URI is an error page, never a
 * redirect. `state` goes back unchanged.
 */
import type { Context, Hono } from "hono";
import { errors as joseErrors, createLocalJWKSet, jwtVerify, type JWTPayload } from "jose";
import type { Issuer } from "../../issuer.js";
import type { AppEnv } from "../env.js";
import { InvalidRequest } from "../../errors.js";
import type { Client } from "../../clients/clients.js";
import { cspSourceOf } from "../../clients/redirect-uris.js";
import { authorizationResponseUrl } from "../../signin/authorization-request.js";
import { BrowserCookies } from "../browser-cookies.js";
import { readBody } from "../body.js";
import { html, Pages } from "../pages.js";
import { LogoutForm } from "../schemas.js";

interface LogoutRequest {
  hint: JWTPayload | undefined;
  client: Client | undefined;
  redirect: string | undefined;
  state: string | undefined;
}

export function logoutRoutes(app: Hono<AppEnv>, issuer: Issuer): void {
  const { config } = issuer;
  const pages = new Pages(config);
  const cookies = new BrowserCookies(config);
  let keySet: { body: string; keys: ReturnType<typeof createLocalJWKSet> } | undefined;

  /** Verifies an ID token this issuer signed, accepting an expired one (section 2). */
  const readHint = async (token: string): Promise<JWTPayload> => {
    const { body } = await issuer.keys.jwks();
    if (keySet?.body !== body) keySet = { body, keys: createLocalJWKSet(JSON.parse(body)) };
    try {
      return (await jwtVerify(token, keySet.keys, { issuer: config.issuer, algorithms: ["RS256"], typ: "JWT" })).payload;
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) return err.payload;
      throw new InvalidRequest("the id_token_hint is not an ID token from this issuer");
    }
  };

  const parse = async (c: Context<AppEnv>): Promise<LogoutRequest> => {
    c.set("page", true);
    const q = c.req.queries();
    const one = (name: string) => {
      const v = q[name];
      if (v && v.length > 1) throw new InvalidRequest(`parameter ${name} is included more than once`);
      return v?.[0] || undefined;
    };
    const hintText = one("id_token_hint");
    const hint = hintText ? await readHint(hintText) : undefined;
    const hintClient = typeof hint?.aud === "string" ? hint.aud : undefined;
    const clientId = one("client_id");
    if (clientId && hintClient && clientId !== hintClient) throw new InvalidRequest("client_id does not match the id_token_hint's audience");
    const id = clientId ?? hintClient;
    const client = id ? await issuer.clients.get(id) : undefined;
    const redirect = one("post_logout_redirect_uri");
    if (redirect !== undefined) {
      if (!client) throw new InvalidRequest("post_logout_redirect_uri needs id_token_hint or client_id to name the client");
      if (!(client.postLogoutRedirectUris ?? []).includes(redirect)) {
        throw new InvalidRequest("the post_logout_redirect_uri is not registered for this app");
      }
    }
    return { hint, client, redirect, state: one("state") };
  };

  const finish = (c: Context<AppEnv>, req: LogoutRequest) => {
    cookies.clearSession(c);
    if (req.redirect) {
      const location = authorizationResponseUrl(req.redirect, { state: req.state });
      return c.body(null, 302, { Location: location, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer" });
    }
    return c.body(pages.render({ title: "Signed out", body: html`<p>You are signed out of ${config.brand.name}.</p>` }), 200, pages.headers());
  };

  app.get("/logout", async (c) => {
    const req = await parse(c);
    const session = await issuer.sessions.resume(cookies.session(c));
    if (req.hint) {
      if (typeof req.hint.sid === "string") await issuer.sessions.end(req.hint.sid, "logout", c.get("context"));
      if (session && session.sub === req.hint.sub) await issuer.sessions.end(session.sid, "logout", c.get("context"));
      return finish(c, req);
    }
    if (!session) return finish(c, req);
    const action = `/logout${new URL(c.req.url).search}`;
    return c.body(
      pages.render({
        title: "Sign out",
        body: html`<p>Sign out of ${config.brand.name}${req.client ? html` and return to ${req.client.name}` : ""}?</p>
<form method="post" action="${action}">
<input type="hidden" name="csrf_token" value="${cookies.csrfToken(c)}">
<button type="submit">Sign out</button>
</form>`,
      }),
      200,
      pages.headers(req.redirect ? [cspSourceOf(req.redirect)] : []),
    );
  });

  app.post("/logout", async (c) => {
    const req = await parse(c);
    const form = await readBody(c, LogoutForm, { accept: ["form"], maxBytes: config.maxBodyBytes });
    cookies.checkCsrf(c, form.csrf_token);
    const session = await issuer.sessions.resume(cookies.session(c));
    if (session) await issuer.sessions.end(session.sid, "logout", c.get("context"));
    if (req.hint && typeof req.hint.sid === "string") await issuer.sessions.end(req.hint.sid, "logout", c.get("context"));
    return finish(c, req);
  });
}
