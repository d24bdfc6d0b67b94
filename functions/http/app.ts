/**
 * The HTTP app, written once: the Lambda entry and the local server both serve it.
 * Errors are rendered here and nowhere else: an OAuthError becomes its JSON body, status and
 * headers; anything else is a bug, logged with the request id, answered with an opaque 500.
 */
import { Hono, type Context, type Next } from "hono";
import { cors } from "hono/cors";
import { randomUUID } from "node:crypto";
import type { Issuer } from "../issuer.js";
import type { AppEnv } from "./env.js";
import { AuthorizationErrorRedirect, MethodNotAllowed, NotFound, OAuthError, TemporarilyUnavailable } from "../errors.js";
import { flushDeferredRecords, log, withRequestContext, type RequestContext } from "../log.js";
import { metrics } from "../observability/metrics.js";
import { flushAuditTrail } from "../observability/audit.js";
import { sourceMappedStack } from "../observability/stack-trace.js";
import { routePath } from "hono/route";
import { userRoutes } from "./routes/users.js";
import { tokenRoutes } from "./routes/token.js";
import { wellKnownRoutes } from "./routes/well-known.js";
import { signRoutes } from "./routes/sign.js";
import { validateRoutes } from "./routes/validate.js";
import { introspectRoutes } from "./routes/introspect.js";
import { accountRoutes } from "./routes/account.js";
import { authorizeRoutes } from "./routes/authorize.js";
import { userinfoRoutes } from "./routes/userinfo.js";
import { logoutRoutes } from "./routes/logout.js";
import { authorizationResponseUrl } from "../signin/authorization-request.js";
import { html, Pages } from "./pages.js";
import { ROUTES } from "./route-table.js";
import { requireOriginVerify } from "./origin-verify.js";
import { requestHeader } from "./request-header.js";
import { carriesStandardHeaders, plainAnswer, standardHeaders } from "./responses.js";

export { ROUTES };

/** Where a public client's own origin may call from the browser (token, userinfo, revocation). */
const PUBLIC_CLIENT_CORS_PATHS = new Set(["/token", "/userinfo", "/revoke"]);


export function createApp(issuer: Issuer): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  // Every request has its own log context (request id, route, caller's address), is
  // counted and timed by route and status class, and finishes its audit deliveries before
  // the response goes out.
  app.use((c, next) => {
    const started = performance.now();
    const env = c.env as AppEnv["Bindings"] | undefined;
    const requestId = env?.event?.requestContext?.requestId ?? env?.lambdaContext?.awsRequestId ?? randomUUID();
    c.set("requestId", requestId);
    const context: RequestContext = {
      requestId,
      route: routeOf(c),
      sourceIp: sourceIpOf(env),
      forwardedFor: requestHeader(c, "x-forwarded-for")?.slice(0, 256),
      deferred: [],
    };
    // Handlers pass it on explicitly (functions/log.ts); on Lambda it also fills the slot.
    c.set("context", context);
    return withRequestContext(context, () => serve(c, next, context, started));
  });

  // Deployed: only CloudFront's requests (they carry the origin-verify header) get through.
  if (issuer.config.originVerify.length) app.use(requireOriginVerify(issuer.config.originVerify));

  // CORS for browser apps, no credentials (tokens travel in bodies and headers): the opt-in
  // origins (LATCHKEY_CORS_ORIGINS) everywhere, and public clients' redirect-URI origins on
  // the endpoints a single-page app calls itself. Other origins get no CORS headers at all.
  const corsHeaders = cors({
    origin: (origin) => origin,
    allowMethods: ["GET", "POST", "DELETE", "OPTIONS"], // DELETE: /account, /account/sessions
    allowHeaders: ["Content-Type", "Authorization"],
    exposeHeaders: ["WWW-Authenticate", "Retry-After", "X-Request-Id"],
    maxAge: 600,
  });
  const configured = new Set(issuer.config.corsOrigins);
  app.use((c, next) => {
    const origin = requestHeader(c, "origin");
    if (!origin) return next(); // most requests: no promise of its own
    return (async () => {
      const allowed = configured.has(origin) || (PUBLIC_CLIENT_CORS_PATHS.has(c.req.path) && (await issuer.clients.allowsBrowserOrigin(origin)));
      return allowed ? corsHeaders(c, next) : next();
    })();
  });

  userRoutes(app, issuer);
  tokenRoutes(app, issuer);
  wellKnownRoutes(app, issuer);
  signRoutes(app, issuer);
  validateRoutes(app, issuer);
  introspectRoutes(app, issuer);
  accountRoutes(app, issuer);
  authorizeRoutes(app, issuer);
  userinfoRoutes(app, issuer);
  logoutRoutes(app, issuer);
  // Generated on first request: the generator is only needed here, and cold starts skip it.
  let openapi: Promise<string> | undefined;
  app.get("/openapi.json", async (c) => {
    openapi ??= import("./openapi.js").then((m) => JSON.stringify(m.openApiDocument(issuer.config.issuer)));
    return c.body(await openapi, 200, { "Content-Type": "application/json", "Cache-Control": "public, max-age=300" });
  });

  app.notFound((c) => {
    const allowed = ROUTES[c.req.path];
    const err = allowed
      ? new MethodNotAllowed(`${c.req.method} is not allowed on ${c.req.path}`, allowed)
      : new NotFound(`no route for ${c.req.method} ${c.req.path}`);
    return render(c, err);
  });

  const pages = new Pages(issuer.config);
  /** On server-rendered pages an error is a page a person can read, with the same status. */
  const renderPage = (err: OAuthError, requestId: string | undefined) =>
    new Response(
      pages.render({
        title: err.status === 403 ? "Not allowed" : "Something went wrong",
        body: html`<p class="error" role="alert">${err.description}</p><p class="hint">Reference: ${err.code}${requestId ? ` / ${requestId}` : ""}</p>`,
      }),
      { status: err.status, headers: { ...pages.headers(), ...err.headers, ...(requestId ? { "X-Request-Id": requestId } : {}) } },
    );

  app.onError((err, c) => {
    const requestId = c.get("requestId") as string | undefined;
    const context = c.get("context") as RequestContext | undefined;
    if (err instanceof AuthorizationErrorRedirect) {
      // RFC 6749 4.1.2.1 error response, with iss (RFC 9207 section 2).
      const location = authorizationResponseUrl(err.redirectUri, {
        error: err.error.code,
        error_description: err.error.description,
        state: err.state,
        iss: issuer.config.issuer,
      });
      return new Response(null, { status: 302, headers: { Location: location, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer" } });
    }
    if (err instanceof OAuthError) {
      if (err.detail) log.info("request refused", { requestId, error: err.code, detail: err.detail }, context);
      return c.get("page") ? renderPage(err, requestId) : render(c, err);
    }
    if (isStorageFailure(err)) {
      // DynamoDB/S3 unreachable or throttling: the client did nothing wrong and may retry.
      log.error("storage unavailable", { requestId, error: err.name, message: err.message }, context);
      return render(c, new TemporarilyUnavailable("the service is temporarily unavailable; retry shortly"));
    }
    log.error("unhandled error", { requestId, error: err.name, message: err.message, stack: sourceMappedStack(err.stack) }, context);
    return Response.json(
      { error: "server_error", error_description: `internal error; request id ${requestId ?? "unknown"}` },
      { status: 500, headers: { "Cache-Control": "no-store", ...(requestId ? { "X-Request-Id": requestId } : {}) } },
    );
  });

  return app;
}

/** Runs the request, finishes its audit deliveries, then counts and times the response. */
async function serve(c: Context<AppEnv>, next: Next, context: RequestContext, started: number): Promise<void> {
  try {
    await next();
    const deliveries = flushAuditTrail(context);
    if (deliveries) await deliveries;
    if (!carriesStandardHeaders(c.res)) for (const [name, value] of Object.entries(standardHeaders(context.requestId))) c.res.headers.set(name, value);
    metrics.response(context.route, c.res.status, Math.round((performance.now() - started) * 10) / 10);
  } finally {
    flushDeferredRecords(context);
  }
}

/** The pattern of the route that serves this request (bounded), or "(unmatched)". */
function routeOf(c: Context): string {
  const path = routePath(c, -1);
  return path === "*" || path === "/*" ? UNMATCHED : path;
}
const UNMATCHED = "(unmatched)";

/** The address the request came from: API Gateway's view on Lambda, the socket's locally. */
function sourceIpOf(env: AppEnv["Bindings"] | undefined): string | undefined {
  return env?.event?.requestContext?.http?.sourceIp ?? env?.incoming?.socket?.remoteAddress;
}

/** Answers that mean a caller failed to prove who it is, counted by error code (a bounded set). */
const AUTHENTICATION_FAILURES: ReadonlySet<string> = new Set(["invalid_client", "invalid_credentials", "invalid_grant", "invalid_token", "too_many_requests"]);

/** An OAuthError's JSON answer, its headers (WWW-Authenticate, Retry-After, Allow...) and the standard ones in one record. */
function render(c: Context<AppEnv>, err: OAuthError): Response {
  if (AUTHENTICATION_FAILURES.has(err.code)) metrics.authenticationFailed(err.code);
  return plainAnswer(c, err.status, JSON.stringify(err.toJSON()), { ...err.headers, "Content-Type": "application/json", "Cache-Control": "no-store" });
}

/** AWS SDK service errors carry `$metadata`; network failures carry a system error code. */
function isStorageFailure(err: Error): boolean {
  const e = err as Error & { $metadata?: unknown; code?: string; $fault?: string };
  if (e.$metadata !== undefined && e.$fault !== "client") return true;
  if (e.name === "ThrottlingException" || e.name === "ProvisionedThroughputExceededException") return true;
  return ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND"].includes(e.code ?? "");
}
