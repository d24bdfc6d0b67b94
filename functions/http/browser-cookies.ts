/**
 * The two cookies of the hosted pages. Over https they carry the `__Host-` prefix (RFC 6265bis
 * section 4.1.3.2: Secure, no Domain, Path=/), so no sibling host can plant or read them; in
 * local mode (plain http) the prefix is impossible and the names are plain.
 * - the session cookie: HttpOnly, SameSite=Lax (it must ride the top-level navigation from the
 *   client back to /authorize for single sign-on), Max-Age = the absolute session lifetime;
 * - the CSRF cookie: a random token the page's forms echo (double submit), HttpOnly.
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { randomBytes } from "node:crypto";
import type { Config } from "../config.js";
import { constantTimeEqual } from "../security/constant-time.js";
import { InvalidCsrfToken } from "../errors.js";

export class BrowserCookies {
  readonly secure: boolean;
  readonly sessionName: string;
  readonly csrfName: string;

  constructor(private readonly config: Config) {
    this.secure = config.issuer.startsWith("https://");
    this.sessionName = this.secure ? "__Host-lk_session" : "lk_session";
    this.csrfName = this.secure ? "__Host-lk_csrf" : "lk_csrf";
  }

  session(c: Context): string | undefined {
    return getCookie(c, this.sessionName);
  }

  setSession(c: Context, value: string): void {
    setCookie(c, this.sessionName, value, { path: "/", httpOnly: true, secure: this.secure, sameSite: "Lax", maxAge: this.config.session.absoluteSeconds });
  }

  clearSession(c: Context): void {
    deleteCookie(c, this.sessionName, { path: "/", secure: this.secure });
  }

  /** The CSRF token bound to this browser (set now if it has none) for a form's hidden field. */
  csrfToken(c: Context): string {
    const existing = getCookie(c, this.csrfName);
    if (existing && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
    const token = randomBytes(32).toString("base64url");
    setCookie(c, this.csrfName, token, { path: "/", httpOnly: true, secure: this.secure, sameSite: "Lax" });
    return token;
  }

  /** Throws 403 invalid_csrf_token unless the form echoed this browser's token. */
  checkCsrf(c: Context, sent: string | undefined): void {
    const expected = getCookie(c, this.csrfName);
    if (!expected || !sent || !constantTimeEqual(expected, sent)) throw new InvalidCsrfToken();
  }
}
