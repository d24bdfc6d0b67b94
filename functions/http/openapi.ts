/**
 * The OpenAPI 3.1 document, generated from the same zod schemas the handlers validate with
 * (functions/http/schemas.ts), for every route in the one route table (functions/http/route-table.ts).
 */
import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from "@asteasolutions/zod-to-openapi";
import { ErrorResponse } from "./schemas.js";
import { ROUTE_TABLE } from "./route-table.js";

const JSON_TYPE = "application/json";
const FORM_TYPE = "application/x-www-form-urlencoded";
const HTML_TYPE = "text/html";

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
  for (const e of ROUTE_TABLE) {
    const responses: RouteConfig["responses"] = {
      [e.ok.status]: {
        description: e.ok.description,
        ...(e.ok.media === "html"
          ? { content: { [HTML_TYPE]: { schema: { type: "string" } } } }
          : e.ok.schema
            ? { content: { [JSON_TYPE]: { schema: e.ok.schema } } }
            : {}),
      },
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
