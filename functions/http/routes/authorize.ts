/**
 * The authorization endpoint and the hosted sign-in pages (OIDC Core 3.1.2, RFC 6749 4.1,
 * RFC 7636):
 * - GET /authorize: with a live browser session (and no prompt=login / exceeded max_age) the
 *   code goes straight back to the client (single sign-on); prompt=none without one is
 *   login_required; otherwise the sign-in form.
 * - POST /authorize: the sign-in form (same query string), checked for its CSRF token, then
 *   the same per-username lockout and argon2 path as /login (Users.authenticate).
 * - GET/POST /authorize/register: the registration form when registration is on, with the
 *   rules and messages of POST /register.
 * The form's action is the request's own URL, so the authorization request is validated by
 * the one parser on every step and nothing about it is kept server-side before sign-in.
 */
import type { Context, Hono } from "hono";
import type { Issuer } from "../../issuer.js";
import type { AppEnv } from "../env.js";
import {
  AccessDenied,
  AuthorizationErrorRedirect,
  InvalidCredentials,
  InvalidGrant,
  InvalidPassword,
  InvalidUsername,
  LoginRequired,
  TooManyRequests,
  UsernameTaken,
} from "../../errors.js";
import { cspSourceOf } from "../../clients/redirect-uris.js";
import { authorizationResponseUrl, parseAuthorizationRequest, type AuthorizationRequest } from "../../signin/authorization-request.js";
import type { BrowserSession } from "../../sessions/browser-sessions.js";
import type { User } from "../../users/users.js";
import { readBody } from "../body.js";
import { BrowserCookies } from "../browser-cookies.js";
import { SignInForm } from "../schemas.js";
import { html, Pages, type Html } from "../pages.js";
import { nowSeconds } from "../../storage/dynamo.js";

export function authorizeRoutes(app: Hono<AppEnv>, issuer: Issuer): void {
  const { config } = issuer;
  const pages = new Pages(config);
  const cookies = new BrowserCookies(config);
  const formOptions = { accept: ["form" as const], maxBytes: config.maxBodyBytes };

  const parse = (c: Context<AppEnv>) => {
    c.set("page", true); // until the redirect_uri is trusted, errors are pages
    return parseAuthorizationRequest(c.req.queries(), issuer.clients, config);
  };
  const queryString = (c: Context<AppEnv>) => new URL(c.req.url).search;

  const page = (c: Context<AppEnv>, req: AuthorizationRequest, status: number, title: string, body: Html, headers: Record<string, string> = {}) =>
    c.body(pages.render({ title, body }), status as 200, { ...pages.headers([cspSourceOf(req.redirectUri)]), ...headers });

  const signInForm = (c: Context<AppEnv>, req: AuthorizationRequest, status = 200, error?: string, username?: string, headers?: Record<string, string>) => {
    const query = queryString(c);
    return page(
      c,
      req,
      status,
      "Sign in",
      html`${error ? html`<p class="error" role="alert">${error}</p>` : ""}
<form method="post" action="/authorize${query}">
<input type="hidden" name="csrf_token" value="${cookies.csrfToken(c)}">
<label for="username">Username</label>
<input type="text" id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required value="${username ?? req.loginHint ?? ""}">
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
${config.registrationEnabled ? html`<p class="alt">New here? <a href="/authorize/register${query}">Create an account</a></p>` : ""}`,
      headers,
    );
  };

  const registerForm = (c: Context<AppEnv>, req: AuthorizationRequest, status = 200, error?: string, username?: string) => {
    const query = queryString(c);
    const { minLength, maxLength } = config.password;
    return page(
      c,
      req,
      status,
      "Create an account",
      html`${error ? html`<p class="error" role="alert">${error}</p>` : ""}
<form method="post" action="/authorize/register${query}">
<input type="hidden" name="csrf_token" value="${cookies.csrfToken(c)}">
<label for="username">Username</label>
<input type="text" id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required aria-describedby="username-hint" value="${username ?? req.loginHint ?? ""}">
<p class="hint" id="username-hint">3 to 64 characters: letters, digits and . _ @ + -</p>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="new-password" required minlength="${minLength}" maxlength="${maxLength}" aria-describedby="password-hint">
<p class="hint" id="password-hint">At least ${minLength} characters. A few unrelated words make a strong password.</p>
<button type="submit">Create account</button>
</form>
<p class="alt">Have an account? <a href="/authorize${query}">Sign in</a></p>`,
    );
  };

  /** Issues a code for the session and sends the browser back to the client (RFC 6749 4.1.2). */
  const complete = async (c: Context<AppEnv>, req: AuthorizationRequest, session: BrowserSession, status: 302 | 303) => {
    const code = await issuer.codes.issue({
      clientId: req.client.clientId,
      redirectUri: req.redirectUri,
      codeChallenge: req.codeChallenge,
      sub: session.sub,
      username: session.username,
      user: session.user,
      sid: session.sid,
      scope: req.scope,
      aud: req.aud,
      authTime: session.authTime,
      ...(req.nonce !== undefined ? { nonce: req.nonce } : {}),
    });
    const location = authorizationResponseUrl(req.redirectUri, { code, state: req.state, iss: config.issuer });
    return c.body(null, status, { Location: location, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer" });
  };

  /**
   * After the password is proven: the same person's session in this browser goes on with a new
   * auth_time (step-up with prompt=login or max_age keeps the apps' refresh tokens); anyone
   * else's ends, and a fresh session and cookie replace it. Then the code.
   */
  const signedIn = async (c: Context<AppEnv>, req: AuthorizationRequest, user: User) => {
    const previous = await liveSession(c);
    if (previous?.sub === user.sub) {
      const renewed = await issuer.sessions.reauthenticate(previous);
      if (renewed) return complete(c, req, renewed, 303);
    } else if (previous) {
      await issuer.sessions.end(previous.sid, "signed_in_again", c.get("context"));
    }
    const { session, cookie } = await issuer.sessions.start(user);
    cookies.setSession(c, cookie);
    return complete(c, req, session, 303);
  };

  /**
   * This browser's live session, if the account still allows it: a password change or reset,
   * sign-out everywhere or a disabled account (Users.requireLiveSession) ends it here too.
   */
  const liveSession = async (c: Context<AppEnv>) => {
    const session = await issuer.sessions.resume(cookies.session(c));
    if (!session) return undefined;
    try {
      await issuer.users.requireLiveSession(session.user, session.sub, { sid: session.sid, createdAt: session.createdAt });
      return session;
    } catch (err) {
      if (!(err instanceof InvalidGrant)) throw err;
      await issuer.sessions.end(session.sid, "revoked", c.get("context"));
      return undefined;
    }
  };

  app.get("/authorize", async (c) => {
    const req = await parse(c);
    const session = await liveSession(c);
    // OIDC Core 3.1.2.1: max_age bounds the time since the person last actively authenticated.
    const fresh = session && (req.maxAge === undefined || nowSeconds() - session.authTime <= req.maxAge);
    if (session && fresh && !req.prompt.has("login")) return complete(c, req, session, 302);
    if (req.prompt.has("none")) {
      throw new AuthorizationErrorRedirect(new LoginRequired("the person is not signed in"), req.redirectUri, req.state);
    }
    return signInForm(c, req);
  });

  app.post("/authorize", async (c) => {
    const req = await parse(c);
    const form = await readBody(c, SignInForm, formOptions);
    cookies.checkCsrf(c, form.csrf_token);
    let user: User;
    try {
      user = await issuer.users.authenticate(form.username, form.password, "login", c.get("context"));
    } catch (err) {
      // One message for an unknown user and a wrong password (no user-existence leak).
      if (err instanceof InvalidCredentials) return signInForm(c, req, 401, "The username or password is incorrect.", form.username);
      if (err instanceof TooManyRequests) {
        return signInForm(c, req, 429, "Too many failed sign-in attempts for this username. Wait a while and try again.", form.username, err.headers);
      }
      throw err;
    }
    return signedIn(c, req, user);
  });

  app.get("/authorize/register", async (c) => {
    const req = await parse(c);
    if (!config.registrationEnabled) throw new AccessDenied("registration is switched off for this service");
    return registerForm(c, req);
  });

  app.post("/authorize/register", async (c) => {
    const req = await parse(c);
    if (!config.registrationEnabled) throw new AccessDenied("registration is switched off for this service");
    const form = await readBody(c, SignInForm, formOptions);
    cookies.checkCsrf(c, form.csrf_token);
    let user: User;
    try {
      user = await issuer.users.register(form.username, form.password, c.get("context"));
    } catch (err) {
      // The same rules and messages as POST /register.
      if (err instanceof InvalidUsername || err instanceof InvalidPassword || err instanceof UsernameTaken) {
        return registerForm(c, req, err.status, err.description, form.username);
      }
      throw err;
    }
    // Registration proves the password just as sign-in does.
    return signedIn(c, req, user);
  });
}
