/**
 * The OpenAPI 3.1 document, generated from the same zod schemas the handlers validate with
 * (functions/http/schemas.ts). Adding a route means adding one entry to `CONTRACT`.
 */
import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";
import {
  ErrorResponse,
  LoginRequest,
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

const JSON_TYPE = "application/json";
const FORM_TYPE = "application/x-www-form-urlencoded";

const Jwks = z.object({ keys: z.array(z.object({ kty: z.literal("RSA"), kid: z.string(), alg: z.literal("RS256"), use: z.literal("sig"), n: z.string(), e: z.string() })) });
const Metadata = z.object({
  issuer: z.string(),
  jwks_uri: z.string(),
  token_endpoint: z.string(),
  revocation_endpoint: z.string(),
  grant_types_supported: z.array(z.string()),
  token_endpoint_auth_methods_supported: z.array(z.string()),
}).loose();

type Media = "json" | "form";
interface Entry {
  method: "get" | "post";
  path: string;
  summary: string;
  body?: { schema: z.ZodType; media: Media[] };
  query?: z.ZodObject;
  ok: { status: number; description: string; schema?: z.ZodType };
  /** Error statuses this route can answer besides 404/405/5xx. */
  errors: number[];
  security?: ("basic" | "bearer")[];
}

/** Every route the app serves, with what it accepts and answers. */
export const CONTRACT: Entry[] = [
  { method: "post", path: "/register", summary: "Register a person", body: { schema: RegisterRequest, media: ["json"] }, ok: { status: 201, description: "Created", schema: RegisterResponse }, errors: [400, 403, 409, 413, 415] },
  { method: "post", path: "/login", summary: "Log in with username and password", body: { schema: LoginRequest, media: ["json"] }, ok: { status: 200, description: "Token response (RFC 6749 5.1) with a refresh token", schema: TokenResponse }, errors: [400, 401, 413, 415, 429, 503] },
  { method: "post", path: "/token", summary: "Token endpoint (RFC 6749): client_credentials and refresh_token grants", body: { schema: TokenRequest, media: ["form", "json"] }, ok: { status: 200, description: "Token response (RFC 6749 5.1)", schema: TokenResponse }, errors: [400, 401, 413, 415, 503], security: ["basic"] },
  { method: "post", path: "/refresh", summary: "Exchange a refresh token (rotates it)", body: { schema: RefreshRequest, media: ["json"] }, ok: { status: 200, description: "Token response with the next refresh token", schema: TokenResponse }, errors: [400, 413, 415, 503] },
  { method: "post", path: "/revoke", summary: "Revoke a token (RFC 7009)", body: { schema: RevokeRequest, media: ["form", "json"] }, ok: { status: 200, description: "Revoked, or unknown (RFC 7009 2.2)" }, errors: [400, 413, 415] },
  { method: "post", path: "/sign", summary: "Mint a token with caller-chosen claims (clients granted /sign)", body: { schema: SignRequest, media: ["json"] }, ok: { status: 200, description: "A signed access token", schema: SignResponse }, errors: [400, 401, 403, 413, 415, 503], security: ["basic"] },
  { method: "get", path: "/validate", summary: "Check a bearer token (nginx auth_request)", query: ValidateQuery, ok: { status: 200, description: "Valid; identity in X-Auth-Subject, X-Auth-Client-Id, X-Auth-Scope", schema: ValidateResponse }, errors: [400, 401, 403, 503], security: ["bearer"] },
  { method: "get", path: "/.well-known/jwks.json", summary: "The published signing keys", ok: { status: 200, description: "JWK Set (next, current, previous)", schema: Jwks }, errors: [503] },
  { method: "get", path: "/.well-known/openid-configuration", summary: "Discovery metadata", ok: { status: 200, description: "Metadata", schema: Metadata }, errors: [] },
  { method: "get", path: "/.well-known/oauth-authorization-server", summary: "Authorization server metadata (RFC 8414)", ok: { status: 200, description: "Metadata", schema: Metadata }, errors: [] },
  { method: "get", path: "/openapi.json", summary: "This document", ok: { status: 200, description: "OpenAPI 3.1" }, errors: [] },
];

const ERROR_TEXT: Record<number, string> = {
  400: "Invalid request (RFC 6749 error code)",
  401: "Authentication failed (WWW-Authenticate)",
  403: "Not allowed",
  404: "No such route",
  405: "Method not allowed (Allow)",
  409: "Conflict",
  413: "Body too large",
  415: "Unsupported content type",
  429: "Too many requests (Retry-After)",
  503: "Temporarily unavailable (Retry-After)",
};

export function openApiDocument(issuer: string): Record<string, unknown> {
  const registry = new OpenAPIRegistry();
  const error = ErrorResponse;
  registry.registerComponent("securitySchemes", "basic", { type: "http", scheme: "basic", description: "client_secret_basic" });
  registry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer", bearerFormat: "JWT" });
  for (const e of CONTRACT) {
    const responses: RouteConfig["responses"] = {
      [e.ok.status]: { description: e.ok.description, ...(e.ok.schema ? { content: { [JSON_TYPE]: { schema: e.ok.schema } } } : {}) },
    };
    for (const status of [...e.errors, 404, 405, 500]) {
      responses[status] = { description: ERROR_TEXT[status] ?? "Internal error (a bug; see X-Request-Id)", content: { [JSON_TYPE]: { schema: error } } };
    }
    registry.registerPath({
      method: e.method,
      path: e.path,
      summary: e.summary,
      ...(e.security ? { security: e.security.map((s) => ({ [s]: [] })) } : {}),
      request: {
        ...(e.body
          ? { body: { required: true, content: Object.fromEntries(e.body.media.map((m) => [m === "json" ? JSON_TYPE : FORM_TYPE, { schema: e.body!.schema }])) } }
          : {}),
        ...(e.query ? { query: e.query } : {}),
      },
      responses,
    });
  }
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: "3.1.0",
    info: { title: "Latchkey", version: "1", description: "Self-hosted OAuth 2.0 token issuer. Every error is {error, error_description}." },
    servers: [{ url: issuer }],
  }) as unknown as Record<string, unknown>;
}
