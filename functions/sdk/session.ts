/**
 * User-session SDK for apps that log in with username and password: holds the refresh token,
 * refreshes access tokens before expiry (one refresh at a time), and when the issuer says the
 * session is gone (`invalid_grant`: revoked, reused, expired) reports "logged out" once instead
 * of looping.
 *
 * @example
 *   const session = createUserSession({ issuer: "https://auth.example.com", onLoggedOut: () => showLogin() });
 *   await session.login("alice", password);
 *   const res = await session.fetch("https://api.example.com/me");
 */
import { discover } from "./discovery.js";
import { errorFromResponse, LatchkeyError } from "./errors.js";

export interface UserSessionOptions {
  issuer: string;
  audience?: string;
  scope?: string;
  refreshSkewSeconds?: number;
  /** Called once when the session ends without the app asking (revoked, reused, expired). */
  onLoggedOut?: (reason: LatchkeyError) => void;
  fetch?: typeof fetch;
}

export interface UserSession {
  login(username: string, password: string): Promise<void>;
  getAccessToken(): Promise<string>;
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** Revokes the refresh token (RFC 7009) and forgets everything. */
  logout(): Promise<void>;
  readonly loggedIn: boolean;
}

interface Tokens {
  access: string;
  refresh: string;
  refreshAt: number;
}

export function createUserSession(options: UserSessionOptions): UserSession {
  const fetchImpl = options.fetch ?? fetch;
  const base = options.issuer.replace(/\/+$/, "");
  let tokens: Tokens | undefined;
  let refreshing: Promise<string> | undefined;

  const store = (body: { access_token: string; refresh_token: string; expires_in: number }) => {
    const skew = Math.min(options.refreshSkewSeconds ?? 30, body.expires_in / 2);
    tokens = { access: body.access_token, refresh: body.refresh_token, refreshAt: Date.now() + (body.expires_in - skew) * 1000 };
  };

  const post = async (url: string, body: BodyInit, contentType: string) => {
    try {
      return await fetchImpl(url, { method: "POST", headers: { "content-type": contentType, accept: "application/json" }, body });
    } catch (err) {
      throw new LatchkeyError("network_error", `request to ${url} failed`, undefined, { cause: err });
    }
  };

  async function refresh(): Promise<string> {
    const current = tokens;
    if (!current) throw new LatchkeyError("logged_out", "not logged in");
    const meta = await discover(options.issuer, fetchImpl);
    const res = await post(meta.token_endpoint, new URLSearchParams({ grant_type: "refresh_token", refresh_token: current.refresh }), "application/x-www-form-urlencoded");
    if (!res.ok) {
      const err = await errorFromResponse(res);
      if (err.code === "invalid_grant") {
        tokens = undefined;
        const loggedOut = new LatchkeyError("logged_out", `the session has ended (${err.message})`, err.status, { cause: err });
        options.onLoggedOut?.(loggedOut);
        throw loggedOut;
      }
      throw err;
    }
    store((await res.json()) as { access_token: string; refresh_token: string; expires_in: number });
    return tokens!.access;
  }

  const session: UserSession = {
    get loggedIn() {
      return tokens !== undefined;
    },
    async login(username, password) {
      const res = await post(
        `${base}/login`,
        JSON.stringify({ username, password, ...(options.audience ? { audience: options.audience } : {}), ...(options.scope ? { scope: options.scope } : {}) }),
        "application/json",
      );
      if (!res.ok) {
        const err = await errorFromResponse(res);
        throw err.status === 401 ? new LatchkeyError("invalid_grant", "username or password is incorrect", 401) : err;
      }
      store((await res.json()) as { access_token: string; refresh_token: string; expires_in: number });
    },
    getAccessToken() {
      if (!tokens) return Promise.reject(new LatchkeyError("logged_out", "not logged in"));
      if (Date.now() < tokens.refreshAt) return Promise.resolve(tokens.access);
      refreshing ??= refresh().finally(() => {
        refreshing = undefined;
      });
      return refreshing;
    },
    async fetch(input, init = {}) {
      const send = async (token: string) => {
        const headers = new Headers(init.headers);
        headers.set("authorization", `Bearer ${token}`);
        return fetchImpl(input instanceof Request ? input.clone() : input, { ...init, headers });
      };
      const first = await send(await session.getAccessToken());
      if (first.status !== 401 || init.body instanceof ReadableStream) return first;
      await first.body?.cancel();
      refreshing ??= refresh().finally(() => {
        refreshing = undefined;
      });
      return send(await refreshing);
    },
    async logout() {
      const current = tokens;
      tokens = undefined;
      if (!current) return;
      const meta = await discover(options.issuer, fetchImpl);
      const res = await post(meta.revocation_endpoint ?? `${base}/revoke`, new URLSearchParams({ token: current.refresh, token_type_hint: "refresh_token" }), "application/x-www-form-urlencoded");
      if (!res.ok) throw await errorFromResponse(res);
    },
  };
  return session;
}
