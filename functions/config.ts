/**
 * The one validated configuration object for every entry point (Lambda, local server, CLI).
 *
 * Everything comes from environment variables so that the Pulumi program, `npm start` and
 * the tests configure the router the same way. Invalid values fail fast at start-up with a
 * message naming the variable, never later at request time.
 *
 * @example
 *   const config = loadConfig(process.env);
 *   config.accessTokenTtlSeconds; // 900
 */
import { availableParallelism } from "node:os";
import * as z from "zod";

const seconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const bool = (fallback: boolean) =>
  z
    .enum(["true", "false", "1", "0", "yes", "no"])
    .default(fallback ? "true" : "false")
    .transform((v) => v === "true" || v === "1" || v === "yes");
const list = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v) =>
      v
        .split(/[\s,]+/)
        .map((s) => s.trim())
        .filter(Boolean),
    );
const optionalUrl = z
  .string()
  .url()
  .optional()
  .or(z.literal("").transform(() => undefined));

/** Environment variable name -> schema. Names are the contract with infra/ and local mode. */
export const envSchema = z.object({
  /** Public issuer URL (the CloudFront URL or custom domain); `iss` of every token. */
  LATCHKEY_ISSUER: z.string().url(),
  LATCHKEY_TABLE: z.string().min(3),
  LATCHKEY_KEY_BUCKET: z.string().min(3),
  /** KMS key for SSE-KMS on private key objects; empty means the bucket's default aws:kms key. */
  LATCHKEY_KMS_KEY_ID: z.string().optional(),
  AWS_REGION: z.string().default("us-east-1"),
  /** Endpoint overrides: the only difference between AWS, LocalStack and local emulators. */
  LATCHKEY_DYNAMODB_ENDPOINT: optionalUrl,
  LATCHKEY_S3_ENDPOINT: optionalUrl,
  LATCHKEY_SECRETSMANAGER_ENDPOINT: optionalUrl,
  LATCHKEY_EVENTBRIDGE_ENDPOINT: optionalUrl,

  LATCHKEY_ACCESS_TOKEN_TTL: seconds(900),
  /** Upper bound on any access-token lifetime (per-client lifetimes are capped by it). */
  LATCHKEY_MAX_ACCESS_TOKEN_TTL: seconds(3600),
  LATCHKEY_REFRESH_FAMILY_TTL: seconds(30 * 24 * 3600),
  LATCHKEY_REFRESH_MAX_USES: seconds(1000),

  LATCHKEY_REGISTRATION_ENABLED: bool(true),
  LATCHKEY_PASSWORD_MIN_LENGTH: z.coerce.number().int().min(8).max(64).default(15),
  LATCHKEY_PASSWORD_MAX_LENGTH: z.coerce.number().int().min(64).max(4096).default(256),
  LATCHKEY_LOGIN_MAX_FAILURES: z.coerce.number().int().positive().default(5),
  LATCHKEY_LOGIN_LOCKOUT_SECONDS: seconds(900),
  /**
   * argon2id hashes running at once per process (they share libuv's pool and the cores with
   * RSA signing). Default: one core fewer than the process may use, at least one, so a login
   * flood leaves a core to token issuance (issue 15). A Lambda instance serves one request at
   * a time, so there it never matters.
   */
  LATCHKEY_PASSWORD_HASH_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(Math.max(1, availableParallelism() - 1)),
  /**
   * Password checks waiting for a hashing slot; beyond this they get 503 with Retry-After.
   * 128 at ~25 ms a check is a few seconds' wait at most; a waiting login costs a pending
   * promise, while a refused one comes straight back (issue 15).
   */
  LATCHKEY_PASSWORD_HASH_QUEUE: z.coerce.number().int().min(0).max(10000).default(128),

  /** Audiences a user may request at /login; the first is the default. */
  LATCHKEY_USER_AUDIENCES: list("latchkey"),
  /** Scopes a user may request at /login (space- or comma-separated). */
  LATCHKEY_USER_SCOPES: list("openid profile"),

  LATCHKEY_KEY_SIZE: z.coerce
    .number()
    .int()
    .refine((n) => n === 2048 || n === 3072 || n === 4096, "must be 2048, 3072 or 4096")
    .default(2048),
  /**
   * How long a warm instance trusts its in-memory keyring before confirming its version: the
   * bound on how long a revoked key can still sign or verify anywhere (at most 10 s).
   */
  LATCHKEY_KEY_CACHE_SECONDS: z.coerce.number().int().min(1).max(10).default(10),
  /** API Gateway JWT authorizers cache a JWKS for up to two hours. */
  LATCHKEY_AUTHORIZER_CACHE_SECONDS: seconds(7200),
  /** max-age of /.well-known/* at the edge (CloudFront honours Cache-Control). */
  LATCHKEY_WELL_KNOWN_MAX_AGE: seconds(300),

  /** How long a warm instance trusts a cached client record (disabling takes effect within it). */
  LATCHKEY_CLIENT_CACHE_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
  /**
   * How long a warm instance trusts what it read of the revocation state (per token id,
   * session, subject and client). A revocation reaches /validate and /introspect on every
   * instance within this many seconds; 0 reads DynamoDB on every check.
   */
  LATCHKEY_REVOCATION_CACHE_SECONDS: z.coerce.number().int().min(0).max(60).default(5),
  /** How long a rotated client secret keeps working next to its successor. */
  LATCHKEY_SECRET_OVERLAP_SECONDS: z.coerce.number().int().min(0).default(24 * 3600),
  /** Longest lifetime accepted for a private_key_jwt client assertion (RFC 7523 3: short). */
  LATCHKEY_ASSERTION_MAX_AGE: z.coerce.number().int().min(30).max(3600).default(300),
  /** Size limit of the caller's claim set at POST /sign (serialized JSON bytes). */
  LATCHKEY_SIGN_MAX_CLAIMS_BYTES: z.coerce.number().int().min(256).max(65536).default(4096),

  /** The audience GET /validate requires when the request names none (nginx auth_request). */
  LATCHKEY_VALIDATE_AUDIENCE: z.string().max(512).optional().transform((v) => v || undefined),

  /** Browser sign-in sessions (OIDC): idle and absolute lifetimes. */
  LATCHKEY_SESSION_IDLE_TTL: seconds(24 * 3600),
  LATCHKEY_SESSION_ABSOLUTE_TTL: seconds(7 * 24 * 3600),
  /** Authorization codes live at most 60 s (RFC 6749 4.1.2 recommends 10 minutes at most; we are stricter). */
  LATCHKEY_AUTHORIZATION_CODE_TTL: z.coerce.number().int().min(1).max(60).default(60),
  /** Branding of the hosted sign-in pages. */
  LATCHKEY_BRAND_NAME: z.string().min(1).max(64).default("Latchkey"),
  LATCHKEY_BRAND_LOGO_URL: optionalUrl,
  LATCHKEY_BRAND_ACCENT: z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/, "must be a colour like #1f6feb")
    .default("#1f6feb"),

  /** Browser origins allowed to call the API (CORS); empty means no CORS headers at all. */
  LATCHKEY_CORS_ORIGINS: list(""),

  /**
   * Secret values of CloudFront's origin-verify header (comma-separated: current, previous).
   * When set, every HTTP request without one of them is refused (403): callers go through the
   * issuer URL, never the execute-api endpoint. Unset in local mode.
   */
  LATCHKEY_ORIGIN_VERIFY: list(""),
  /** Bucket the static /.well-known documents are published to (deployed rotation function only). */
  LATCHKEY_DOCUMENTS_BUCKET: z.string().optional(),
  /** CloudFront distribution whose /.well-known paths a key revocation invalidates. */
  LATCHKEY_DISTRIBUTION_ID: z.string().optional(),
  /**
   * Local mode only (`npm start` sets it): client jwks_uri may use http and point at loopback or
   * private addresses. Refused inside Lambda.
   */
  LATCHKEY_ALLOW_PRIVATE_JWKS_URI: bool(false),

  LATCHKEY_MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(1024 * 1024).default(16 * 1024),
  LATCHKEY_LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  /** The `service` dimension of every metric: the stack (infra sets `<project>-<stack>`). */
  LATCHKEY_SERVICE_NAME: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, "letters, digits, _ . - only").default("latchkey"),
  /** CloudWatch namespace of the Embedded Metric Format records. */
  LATCHKEY_METRICS_NAMESPACE: z.string().regex(/^[A-Za-z0-9_.\/#:-]{1,255}$/, "a CloudWatch namespace").default("Latchkey"),
  /** EventBridge bus (name or ARN) that also receives every audit record; empty = log only. */
  LATCHKEY_AUDIT_EVENT_BUS: z.string().default(""),
});

export type Env = z.input<typeof envSchema>;

export interface Config {
  issuer: string;
  region: string;
  table: string;
  keyBucket: string;
  kmsKeyId: string | undefined;
  endpoints: { dynamodb: string | undefined; s3: string | undefined; secretsManager: string | undefined; eventBridge: string | undefined };
  accessTokenTtlSeconds: number;
  maxAccessTokenTtlSeconds: number;
  refreshFamilyTtlSeconds: number;
  refreshMaxUses: number;
  registrationEnabled: boolean;
  password: { minLength: number; maxLength: number };
  loginThrottle: { maxFailures: number; lockoutSeconds: number };
  passwordHashing: { concurrency: number; queue: number };
  userAudiences: string[];
  userScopes: string[];
  keySize: number;
  keyCacheSeconds: number;
  authorizerCacheSeconds: number;
  wellKnownMaxAge: number;
  clientCacheSeconds: number;
  revocationCacheSeconds: number;
  secretOverlapSeconds: number;
  assertionMaxAgeSeconds: number;
  signMaxClaimsBytes: number;
  session: { idleSeconds: number; absoluteSeconds: number };
  authorizationCodeTtlSeconds: number;
  brand: { name: string; logoUrl: string | undefined; accentColor: string };
  corsOrigins: string[];
  validateAudience: string | undefined;
  originVerify: string[];
  documentsBucket: string | undefined;
  distributionId: string | undefined;
  /** jwks_uri fetch rules (functions/clients/jwks-uri.ts). */
  jwksUri: { allowPrivate: boolean; lambdaRuntimeApi: string | undefined };
  maxBodyBytes: number;
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
  serviceName: string;
  metricsNamespace: string;
  auditEventBus: string | undefined;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Validates the environment and returns the typed config; throws ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Parsed once per process: zod's eval-compiled fast path would cost more to generate (3-10 ms
  // of a cold start) than it saves on one parse (issue 15).
  const parsed = envSchema.safeParse(env, { jitless: true });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  if (e.LATCHKEY_ACCESS_TOKEN_TTL > e.LATCHKEY_MAX_ACCESS_TOKEN_TTL) {
    throw new ConfigError(
      "invalid configuration: LATCHKEY_ACCESS_TOKEN_TTL must not exceed LATCHKEY_MAX_ACCESS_TOKEN_TTL",
    );
  }
  for (const origin of e.LATCHKEY_CORS_ORIGINS) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new ConfigError(`invalid configuration: LATCHKEY_CORS_ORIGINS: ${origin} is not an origin (scheme://host[:port])`);
    }
  }
  if (e.LATCHKEY_SESSION_IDLE_TTL > e.LATCHKEY_SESSION_ABSOLUTE_TTL) {
    throw new ConfigError("invalid configuration: LATCHKEY_SESSION_IDLE_TTL must not exceed LATCHKEY_SESSION_ABSOLUTE_TTL");
  }
  if (e.LATCHKEY_BRAND_LOGO_URL && !e.LATCHKEY_BRAND_LOGO_URL.startsWith("https://")) {
    throw new ConfigError("invalid configuration: LATCHKEY_BRAND_LOGO_URL must be an https URL");
  }
  if (e.LATCHKEY_ALLOW_PRIVATE_JWKS_URI && env.AWS_LAMBDA_RUNTIME_API) {
    // Deployed, private targets would include the Lambda runtime API and the VPC.
    throw new ConfigError("invalid configuration: LATCHKEY_ALLOW_PRIVATE_JWKS_URI is for local mode and cannot be set in Lambda");
  }
  if (e.LATCHKEY_USER_AUDIENCES.length === 0) {
    throw new ConfigError("invalid configuration: LATCHKEY_USER_AUDIENCES needs at least one audience");
  }
  return {
    issuer: e.LATCHKEY_ISSUER.replace(/\/+$/, ""),
    region: e.AWS_REGION,
    table: e.LATCHKEY_TABLE,
    keyBucket: e.LATCHKEY_KEY_BUCKET,
    kmsKeyId: e.LATCHKEY_KMS_KEY_ID || undefined,
    endpoints: {
      dynamodb: e.LATCHKEY_DYNAMODB_ENDPOINT,
      s3: e.LATCHKEY_S3_ENDPOINT,
      secretsManager: e.LATCHKEY_SECRETSMANAGER_ENDPOINT,
      eventBridge: e.LATCHKEY_EVENTBRIDGE_ENDPOINT,
    },
    accessTokenTtlSeconds: e.LATCHKEY_ACCESS_TOKEN_TTL,
    maxAccessTokenTtlSeconds: e.LATCHKEY_MAX_ACCESS_TOKEN_TTL,
    refreshFamilyTtlSeconds: e.LATCHKEY_REFRESH_FAMILY_TTL,
    refreshMaxUses: e.LATCHKEY_REFRESH_MAX_USES,
    registrationEnabled: e.LATCHKEY_REGISTRATION_ENABLED,
    password: { minLength: e.LATCHKEY_PASSWORD_MIN_LENGTH, maxLength: e.LATCHKEY_PASSWORD_MAX_LENGTH },
    loginThrottle: { maxFailures: e.LATCHKEY_LOGIN_MAX_FAILURES, lockoutSeconds: e.LATCHKEY_LOGIN_LOCKOUT_SECONDS },
    passwordHashing: { concurrency: e.LATCHKEY_PASSWORD_HASH_CONCURRENCY, queue: e.LATCHKEY_PASSWORD_HASH_QUEUE },
    userAudiences: e.LATCHKEY_USER_AUDIENCES,
    userScopes: e.LATCHKEY_USER_SCOPES,
    keySize: e.LATCHKEY_KEY_SIZE,
    keyCacheSeconds: e.LATCHKEY_KEY_CACHE_SECONDS,
    authorizerCacheSeconds: e.LATCHKEY_AUTHORIZER_CACHE_SECONDS,
    wellKnownMaxAge: e.LATCHKEY_WELL_KNOWN_MAX_AGE,
    clientCacheSeconds: e.LATCHKEY_CLIENT_CACHE_SECONDS,
    revocationCacheSeconds: e.LATCHKEY_REVOCATION_CACHE_SECONDS,
    secretOverlapSeconds: e.LATCHKEY_SECRET_OVERLAP_SECONDS,
    assertionMaxAgeSeconds: e.LATCHKEY_ASSERTION_MAX_AGE,
    signMaxClaimsBytes: e.LATCHKEY_SIGN_MAX_CLAIMS_BYTES,
    session: { idleSeconds: e.LATCHKEY_SESSION_IDLE_TTL, absoluteSeconds: e.LATCHKEY_SESSION_ABSOLUTE_TTL },
    authorizationCodeTtlSeconds: e.LATCHKEY_AUTHORIZATION_CODE_TTL,
    brand: { name: e.LATCHKEY_BRAND_NAME, logoUrl: e.LATCHKEY_BRAND_LOGO_URL, accentColor: e.LATCHKEY_BRAND_ACCENT },
    corsOrigins: e.LATCHKEY_CORS_ORIGINS,
    validateAudience: e.LATCHKEY_VALIDATE_AUDIENCE,
    originVerify: e.LATCHKEY_ORIGIN_VERIFY,
    documentsBucket: e.LATCHKEY_DOCUMENTS_BUCKET || undefined,
    distributionId: e.LATCHKEY_DISTRIBUTION_ID || undefined,
    jwksUri: { allowPrivate: e.LATCHKEY_ALLOW_PRIVATE_JWKS_URI, lambdaRuntimeApi: env.AWS_LAMBDA_RUNTIME_API || undefined },
    maxBodyBytes: e.LATCHKEY_MAX_BODY_BYTES,
    logLevel: e.LATCHKEY_LOG_LEVEL,
    serviceName: e.LATCHKEY_SERVICE_NAME,
    metricsNamespace: e.LATCHKEY_METRICS_NAMESPACE,
    auditEventBus: e.LATCHKEY_AUDIT_EVENT_BUS || undefined,
  };
}
