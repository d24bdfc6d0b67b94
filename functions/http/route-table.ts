/**
 * Every HTTP route, declared once. The app's 405/Allow answers, the OpenAPI document, the API
 * Gateway routes in infra/ and the coverage tests all read this table, so adding a route means
 * adding one entry here (and its handler), never another list.
 *
 * `fn` says which deployed function serves the route: password hashing (argon2) runs on the
 * `users` function so it can never starve machine-token issuance on the `api` function.
 */
import * as z from "zod";
import {
  ChangePasswordRequest,
  DeleteAccountRequest,
  ResetPageQuery,
  ResetPasswordForm,
  IntrospectRequest,
  IntrospectResponse,
  AuthorizeQuery,
  LoginRequest,
  LogoutForm,
  LogoutQuery,
  SignInForm,
  UserinfoForm,
  UserinfoResponse,
  RefreshRequest,
  RegisterRequest,
  RegisterResponse,
  RevokeRequest,
  SignRequest,
  SignResponse,
  TokenRequest,
  TokenResponse,
  ValidateQuery,
  ValidateResponse,
} from "./schemas.js";

export type Media = "json" | "form";
export type HttpMethod = "get" | "post" | "delete";
/** The Lambda function (of the one image) that serves a route when deployed. */
export type RouteFunction = "api" | "users";

export interface RouteEntry {
  method: HttpMethod;
  path: string;
  summary: string;
  fn: RouteFunction;
  body?: { schema: z.ZodType; media: Media[] };
  query?: z.ZodObject;
  /** `media: "html"` for server-rendered pages; JSON otherwise. */
  ok: { status: number; description: string; schema?: z.ZodType; media?: "json" | "html" };
  /** Error statuses this route can answer besides 404/405/5xx. */
  errors: number[];
  security?: ("basic" | "bearer")[];
}

const Jwks = z.object({
  keys: z.array(z.object({ kty: z.literal("RSA"), kid: z.string(), alg: z.literal("RS256"), use: z.literal("sig"), n: z.string(), e: z.string() })),
});
const Metadata = z
  .object({
    issuer: z.string(),
    jwks_uri: z.string(),
    token_endpoint: z.string(),
    revocation_endpoint: z.string(),
    introspection_endpoint: z.string(),
    grant_types_supported: z.array(z.string()),
    token_endpoint_auth_methods_supported: z.array(z.string()),
  })
  .loose();

export const ROUTE_TABLE: RouteEntry[] = [
  { method: "post", path: "/register", fn: "users", summary: "Register a person", body: { schema: RegisterRequest, media: ["json"] }, ok: { status: 201, description: "Created", schema: RegisterResponse }, errors: [400, 403, 409, 413, 415, 503] },
  { method: "post", path: "/login", fn: "users", summary: "Log in with username and password", body: { schema: LoginRequest, media: ["json"] }, ok: { status: 200, description: "Token response (RFC 6749 5.1) with a refresh token", schema: TokenResponse }, errors: [400, 401, 413, 415, 429, 503] },
  { method: "post", path: "/token", fn: "api", summary: "Token endpoint (RFC 6749): authorization_code (PKCE), client_credentials and refresh_token grants", body: { schema: TokenRequest, media: ["form", "json"] }, ok: { status: 200, description: "Token response (RFC 6749 5.1)", schema: TokenResponse }, errors: [400, 401, 413, 415, 503], security: ["basic"] },
  { method: "post", path: "/refresh", fn: "api", summary: "Exchange a refresh token (rotates it)", body: { schema: RefreshRequest, media: ["json"] }, ok: { status: 200, description: "Token response with the next refresh token", schema: TokenResponse }, errors: [400, 413, 415, 503] },
  { method: "post", path: "/revoke", fn: "api", summary: "Revoke a token (RFC 7009)", body: { schema: RevokeRequest, media: ["form", "json"] }, ok: { status: 200, description: "Revoked, or unknown (RFC 7009 2.2)" }, errors: [400, 413, 415] },
  { method: "post", path: "/account/password", fn: "users", summary: "Change the caller's password; every other session ends", body: { schema: ChangePasswordRequest, media: ["json"] }, ok: { status: 204, description: "Changed" }, errors: [400, 401, 403, 409, 413, 415, 429, 503], security: ["bearer"] },
  { method: "delete", path: "/account", fn: "users", summary: "Delete the caller's account (password required)", body: { schema: DeleteAccountRequest, media: ["json"] }, ok: { status: 204, description: "Deleted; its tokens stop passing" }, errors: [400, 401, 403, 409, 413, 415, 429, 503], security: ["bearer"] },
  { method: "delete", path: "/account/sessions", fn: "api", summary: "Sign the caller out everywhere", ok: { status: 204, description: "Every session ended, this one included" }, errors: [401, 403, 409, 503], security: ["bearer"] },
  { method: "get", path: "/account/reset", fn: "users", summary: "The hosted password-reset page a reset link opens", query: ResetPageQuery, ok: { status: 200, description: "A form with one input, password", media: "html" }, errors: [400] },
  { method: "post", path: "/account/reset", fn: "users", summary: "Set a new password with a reset link (single use); every session ends", body: { schema: ResetPasswordForm, media: ["form"] }, ok: { status: 200, description: "Done page", media: "html" }, errors: [400, 413, 415, 503] },
  { method: "post", path: "/introspect", fn: "api", summary: "Token introspection (RFC 7662), for authenticated clients", body: { schema: IntrospectRequest, media: ["form", "json"] }, ok: { status: 200, description: "{active: false}, or the active token's claims", schema: IntrospectResponse }, errors: [400, 401, 413, 415, 503], security: ["basic"] },
  { method: "post", path: "/sign", fn: "api", summary: "Mint a token with caller-chosen claims (clients granted /sign)", body: { schema: SignRequest, media: ["json"] }, ok: { status: 200, description: "A signed access token", schema: SignResponse }, errors: [400, 401, 403, 413, 415, 503], security: ["basic"] },
  { method: "get", path: "/validate", fn: "api", summary: "Check a bearer token (nginx auth_request)", query: ValidateQuery, ok: { status: 200, description: "Valid; identity in X-Auth-Subject, X-Auth-Client-Id, X-Auth-Scope", schema: ValidateResponse }, errors: [400, 401, 403, 503], security: ["bearer"] },
  { method: "get", path: "/.well-known/jwks.json", fn: "api", summary: "The published signing keys", ok: { status: 200, description: "JWK Set (next, current, previous)", schema: Jwks }, errors: [503] },
  { method: "get", path: "/.well-known/openid-configuration", fn: "api", summary: "Discovery metadata", ok: { status: 200, description: "Metadata", schema: Metadata }, errors: [] },
  { method: "get", path: "/.well-known/oauth-authorization-server", fn: "api", summary: "Authorization server metadata (RFC 8414)", ok: { status: 200, description: "Metadata", schema: Metadata }, errors: [] },
  { method: "get", path: "/authorize", fn: "users", summary: "Authorization endpoint (OIDC Core 3.1.2): the sign-in page, or straight back to the client with a code (SSO); errors after the redirect_uri is trusted go back by redirect", query: AuthorizeQuery, ok: { status: 200, description: "The hosted sign-in page (or 302 to the redirect_uri)", media: "html" }, errors: [400] },
  { method: "post", path: "/authorize", fn: "users", summary: "The hosted sign-in form (same query as GET); 303 to the redirect_uri with a code", query: AuthorizeQuery, body: { schema: SignInForm, media: ["form"] }, ok: { status: 303, description: "Signed in: back to the client with code, state and iss" }, errors: [400, 401, 403, 413, 415, 429, 503] },
  { method: "get", path: "/authorize/register", fn: "users", summary: "The hosted registration page (when registration is on)", query: AuthorizeQuery, ok: { status: 200, description: "The registration page", media: "html" }, errors: [400, 403] },
  { method: "post", path: "/authorize/register", fn: "users", summary: "The hosted registration form: the rules of POST /register, then signed in", query: AuthorizeQuery, body: { schema: SignInForm, media: ["form"] }, ok: { status: 303, description: "Registered and signed in: back to the client with a code" }, errors: [400, 403, 409, 413, 415, 503] },
  { method: "get", path: "/userinfo", fn: "api", summary: "OIDC userinfo (Core 5.3): sub and the claims the token's scopes allow", ok: { status: 200, description: "Claims", schema: UserinfoResponse }, errors: [401, 403, 503], security: ["bearer"] },
  { method: "post", path: "/userinfo", fn: "api", summary: "OIDC userinfo by POST; the token in Authorization or as a form field (RFC 6750 2.2)", body: { schema: UserinfoForm, media: ["form"] }, ok: { status: 200, description: "Claims", schema: UserinfoResponse }, errors: [400, 401, 403, 413, 415, 503], security: ["bearer"] },
  { method: "get", path: "/logout", fn: "users", summary: "end_session_endpoint (OIDC RP-Initiated Logout 1.0): ends the browser session and revokes its refresh tokens", query: LogoutQuery, ok: { status: 200, description: "Signed out, or a confirmation page (or 302 to the registered post_logout_redirect_uri)", media: "html" }, errors: [400] },
  { method: "post", path: "/logout", fn: "users", summary: "The sign-out confirmation form", query: LogoutQuery, body: { schema: LogoutForm, media: ["form"] }, ok: { status: 200, description: "Signed out (or 302 to the registered post_logout_redirect_uri)", media: "html" }, errors: [400, 403, 413, 415] },
  { method: "get", path: "/openapi.json", fn: "api", summary: "This document", ok: { status: 200, description: "OpenAPI 3.1" }, errors: [] },
];

/** Path -> allowed methods (GET implies HEAD), for 405 with Allow. */
export const ROUTES: Record<string, string[]> = {};
for (const r of ROUTE_TABLE) {
  const methods = (ROUTES[r.path] ??= []);
  methods.push(r.method.toUpperCase());
  if (r.method === "get") methods.push("HEAD");
}

/** API Gateway route keys ("POST /token") for the routes one function serves. */
export function routeKeys(fn: RouteFunction): string[] {
  return ROUTE_TABLE.filter((r) => r.fn === fn).map((r) => `${r.method.toUpperCase()} ${r.path}`);
}
