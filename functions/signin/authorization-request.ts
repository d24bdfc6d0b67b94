/**
 * Validates an authorization request (RFC 6749 section 4.1.1, OIDC Core 3.1.2.1, RFC 7636
 * section 4.3). Two phases, because what may be redirected depends on what is trusted:
 * - client_id and redirect_uri: until both check out, errors are shown to the person as a
 *   page, never redirected (RFC 6749 section 4.1.2.1: an attacker must not get an open redirect);
 * - everything else: errors go back to the client by redirect (AuthorizationErrorRedirect),
 *   with state and iss.
 */
import {
  AuthorizationErrorRedirect,
  InvalidRequest,
  OAuthError,
  RequestNotSupported,
  UnsupportedResponseType,
} from "../errors.js";
import type { Client, Clients } from "../clients/clients.js";
import { matchRedirectUri } from "../clients/redirect-uris.js";
import type { Config } from "../config.js";
import { grantAudience, grantScopes, parseScope } from "../tokens/scopes.js";
import { requestedAudience } from "../tokens/grants/client-credentials.js";

export interface AuthorizationRequest {
  client: Client;
  /** The redirect_uri as sent (a loopback port may differ from the registered one). */
  redirectUri: string;
  state: string | undefined;
  codeChallenge: string;
  scope: string[];
  aud: string;
  nonce: string | undefined;
  prompt: Set<"none" | "login">;
  maxAge: number | undefined;
  loginHint: string | undefined;
}

/** RFC 7636 section 4.2: BASE64URL(SHA256(verifier)) is 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

export async function parseAuthorizationRequest(
  query: Record<string, string[]>,
  clients: Clients,
  config: Config,
): Promise<AuthorizationRequest> {
  const one = (name: string): string | undefined => {
    const values = query[name];
    if (!values || values.length === 0 || values[0] === "") return undefined;
    // RFC 6749 section 3.1: request parameters must not be included more than once.
    if (values.length > 1) throw new InvalidRequest(`parameter ${name} is included more than once`);
    return values[0];
  };

  // Phase 1: who is asking, and where the answer may go. Errors here are pages.
  const clientId = one("client_id");
  if (!clientId) throw new InvalidRequest("the request has no client_id; the app that sent you here is misconfigured");
  const client = await clients.get(clientId);
  if (!client || !client.enabled || !client.redirectUris?.length) {
    throw new InvalidRequest("the app that sent you here is not registered with this sign-in service");
  }
  const requestedRedirect = one("redirect_uri");
  if (!requestedRedirect) throw new InvalidRequest("the request has no redirect_uri; the app that sent you here is misconfigured");
  if (!matchRedirectUri(client.redirectUris, requestedRedirect)) {
    throw new InvalidRequest("the redirect_uri is not registered for this app; the app that sent you here is misconfigured");
  }

  // Phase 2: everything else is reported to the client.
  const state = query.state?.[0];
  const fail = (error: OAuthError): never => {
    throw new AuthorizationErrorRedirect(error, requestedRedirect, state);
  };
  try {
    one("state");
    if (state !== undefined && state.length > 2048) fail(new InvalidRequest("state is longer than 2048 characters"));
    if (one("request") !== undefined) fail(new RequestNotSupported("request"));
    if (one("request_uri") !== undefined) fail(new RequestNotSupported("request_uri"));
    const responseType = one("response_type");
    if (!responseType) fail(new InvalidRequest("response_type is required"));
    if (responseType !== "code") fail(new UnsupportedResponseType("only response_type=code is supported"));
    const responseMode = one("response_mode");
    if (responseMode !== undefined && responseMode !== "query") fail(new InvalidRequest("only response_mode=query is supported"));

    // RFC 7636 section 4.4.1 and RFC 9700 section 2.1.1: PKCE for every client, S256 only.
    const codeChallenge = one("code_challenge");
    if (!codeChallenge) fail(new InvalidRequest("code_challenge is required (PKCE with S256)"));
    const method = one("code_challenge_method");
    if (method !== "S256") fail(new InvalidRequest("code_challenge_method must be S256 (plain is not supported)"));
    if (!S256_CHALLENGE.test(codeChallenge!)) fail(new InvalidRequest("code_challenge must be 43 base64url characters (S256)"));

    const scope = grantScopes(parseScope(one("scope")), client.scopes, client.scopes);
    const aud = grantAudience(
      requestedAudience({ audience: one("audience"), resource: one("resource") }),
      client.audiences.length ? client.audiences : config.userAudiences,
    );

    const nonce = one("nonce");
    if (nonce !== undefined && nonce.length > 512) fail(new InvalidRequest("nonce is longer than 512 characters"));
    const prompt = new Set<"none" | "login">();
    for (const p of (one("prompt") ?? "").split(" ").filter(Boolean)) {
      if (p !== "none" && p !== "login") fail(new InvalidRequest(`prompt=${p} is not supported (none, login)`));
      prompt.add(p as "none" | "login");
    }
    // OIDC Core 3.1.2.1: none must not be combined with any other value.
    if (prompt.has("none") && prompt.size > 1) fail(new InvalidRequest("prompt=none cannot be combined with other values"));
    const maxAgeText = one("max_age");
    if (maxAgeText !== undefined && !/^\d{1,9}$/.test(maxAgeText)) fail(new InvalidRequest("max_age must be a whole number of seconds"));
    const loginHint = one("login_hint");
    if (loginHint !== undefined && loginHint.length > 256) fail(new InvalidRequest("login_hint is longer than 256 characters"));

    return {
      client,
      redirectUri: requestedRedirect,
      state,
      codeChallenge: codeChallenge!,
      scope,
      aud,
      nonce,
      prompt,
      maxAge: maxAgeText === undefined ? undefined : Number(maxAgeText),
      loginHint,
    };
  } catch (err) {
    // invalid_scope, invalid_target and duplicate parameters thrown by shared helpers go back by redirect too.
    if (err instanceof OAuthError) throw new AuthorizationErrorRedirect(err, requestedRedirect, state);
    throw err;
  }
}

/** The authorization response (RFC 6749 4.1.2, RFC 9207 section 2: iss on every response). */
export function authorizationResponseUrl(redirectUri: string, params: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  return url.toString();
}
