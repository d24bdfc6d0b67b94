/**
 * The stack's typed configuration. Defaults live in Pulumi.yaml (project config schema) and
 * are repeated here so a value missing from an older stack file still gets a sane default.
 */
import * as pulumi from "@pulumi/pulumi";
import { resourcePrefix } from "./names.js";

export interface ServiceClientConfig {
  name: string;
  scopes?: string[];
  audiences?: string[];
  accessTokenTtl?: number;
  maySign?: boolean;
  /** Authorization claims it may set at /sign (roles, groups, ...). */
  signClaims?: string[];
  /** "none" for a public app that signs people in (no secret), as `clients create --auth`. */
  auth?: "secret" | "none" | "private_key_jwt";
  redirectUris?: string[];
  postLogoutRedirectUris?: string[];
  jwksUri?: string;
}

export interface StackConfig {
  /** Resource name prefix: project and stack, sanitised for S3 and ECR (infra/names.ts). */
  prefix: string;
  stack: string;
  /** The stack's AWS region (aws:region). */
  region: string;
  customDomain: string | undefined;
  certificateArn: string | undefined;
  accessTokenTtl: number;
  maxAccessTokenTtl: number;
  refreshFamilyTtl: number;
  refreshMaxUses: number;
  keySize: number;
  rotationRate: string;
  registrationEnabled: boolean;
  passwordMinLength: number;
  userAudiences: string[];
  userScopes: string[];
  corsOrigins: string[];
  /** The audience GET /validate requires when the request names none. */
  validateAudience: string | undefined;
  /** Browser sign-in sessions (OIDC): idle and absolute lifetimes in seconds. */
  sessionIdleTtl: number;
  sessionAbsoluteTtl: number;
  /** Branding of the hosted sign-in pages. */
  brandName: string;
  brandLogoUrl: string | undefined;
  brandAccent: string;
  /** SNS topic every alarm notifies (the CloudFront alarm: see edgeAlarmTopicArn). */
  alarmTopicArn: string | undefined;
  throttleRate: number;
  throttleBurst: number;
  /** POST /token's own stage budget, so password traffic cannot use it up. */
  tokenThrottleRate: number;
  tokenThrottleBurst: number;
  /** Requests per 5 minutes per client IP before the WAF blocks it; 0 = no web ACL (it costs money). */
  wafRateLimit: number;
  /** Bump to rotate CloudFront's origin-verify secret (the previous one stays accepted). */
  originVerifyGeneration: number;
  /** Reserved concurrency for the users function; 0 = none (new accounts may only have 10). */
  usersReservedConcurrency: number;
  /** A role that may read and decrypt key material besides the functions (incident response, the admin CLI). */
  breakGlassRoleArn: string | undefined;
  /** An existing key bucket to adopt (re-adopting a kept one); unset = a new, uniquely named bucket. */
  keyBucketName: string | undefined;
  memory: number;
  timeout: number;
  architecture: "arm64" | "x86_64";
  logLevel: string;
  logRetentionDays: number;
  protect: boolean;
  /** X-Ray active tracing on every function (opt-in: it costs per trace). */
  tracing: boolean;
  /** EventBridge bus (name or ARN) that also receives audit records; undefined = log only. */
  auditEventBus: string | undefined;
  /** SNS topic in us-east-1 for the CloudFront alarm (CloudFront's metrics live only there). */
  edgeAlarmTopicArn: string | undefined;
  /** Alarm thresholds (infra/monitoring.ts). */
  alarmFunctionErrors: number;
  alarmFunctionThrottles: number;
  alarmApi5xxPercent: number;
  alarmApiLatencyP99Ms: number;
  alarmEdge5xxPercent: number;
  alarmKeyAgeGraceHours: number;
  alarmRefreshReuse: number;
  serviceClients: ServiceClientConfig[];
  exampleProtectedRoute: boolean;
}

export function readConfig(): StackConfig {
  const c = new pulumi.Config("latchkey");
  const stack = pulumi.getStack();
  const architecture = c.get("architecture") ?? "arm64";
  if (architecture !== "arm64" && architecture !== "x86_64") throw new Error("latchkey:architecture must be arm64 or x86_64");
  const region = new pulumi.Config("aws").get("region") ?? process.env.AWS_REGION ?? "us-east-1";
  const customDomain = c.get("customDomain") || undefined;
  const certificateArn = c.get("certificateArn") || undefined;
  if (customDomain && !certificateArn) {
    throw new Error("latchkey:customDomain needs latchkey:certificateArn (an ACM certificate in us-east-1 for CloudFront)");
  }
  if (certificateArn) checkCertificateArn(certificateArn);
  const alarmTopicArn = c.get("alarmTopicArn") || undefined;
  if (alarmTopicArn) checkAlarmTopicArn(alarmTopicArn, region);
  const logRetentionDays = c.getNumber("logRetentionDays") ?? 30;
  checkLogRetention(logRetentionDays);
  const wafRateLimit = nonNegative(c, "wafRateLimit", 0);
  // AWS WAF rate-based rules count at least 10 requests per window (since August 2024).
  if (wafRateLimit > 0 && wafRateLimit < 10) throw new Error("latchkey:wafRateLimit must be 0 (no web ACL) or at least 10 requests per 5 minutes");
  const breakGlassRoleArn = c.get("breakGlassRoleArn") || undefined;
  if (breakGlassRoleArn && !/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(breakGlassRoleArn)) {
    throw new Error(`latchkey:breakGlassRoleArn ${breakGlassRoleArn} is not an IAM role ARN`);
  }
  const maxAccessTokenTtl = c.getNumber("maxAccessTokenTtl") ?? 3600;
  const rotationRate = c.get("rotationRate") ?? "rate(30 days)";
  checkRotationRate(rotationRate, maxAccessTokenTtl);
  const serviceClients = c.getObject<ServiceClientConfig[]>("serviceClients") ?? [];
  for (const sc of serviceClients) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(sc.name ?? "")) throw new Error(`latchkey:serviceClients: invalid name ${JSON.stringify(sc.name)}`);
  }
  return {
    prefix: resourcePrefix(pulumi.getProject(), stack),
    stack,
    region,
    customDomain,
    certificateArn,
    accessTokenTtl: c.getNumber("accessTokenTtl") ?? 900,
    maxAccessTokenTtl,
    refreshFamilyTtl: c.getNumber("refreshFamilyTtl") ?? 30 * 24 * 3600,
    refreshMaxUses: c.getNumber("refreshMaxUses") ?? 1000,
    keySize: c.getNumber("keySize") ?? 2048,
    rotationRate,
    registrationEnabled: c.getBoolean("registrationEnabled") ?? true,
    passwordMinLength: c.getNumber("passwordMinLength") ?? 15,
    userAudiences: c.getObject<string[]>("userAudiences") ?? ["latchkey"],
    userScopes: c.getObject<string[]>("userScopes") ?? ["openid", "profile"],
    corsOrigins: c.getObject<string[]>("corsOrigins") ?? [],
    validateAudience: c.get("validateAudience") || undefined,
    sessionIdleTtl: c.getNumber("sessionIdleTtl") ?? 24 * 3600,
    sessionAbsoluteTtl: c.getNumber("sessionAbsoluteTtl") ?? 7 * 24 * 3600,
    brandName: c.get("brandName") || "Latchkey",
    brandLogoUrl: c.get("brandLogoUrl") || undefined,
    brandAccent: c.get("brandAccent") || "#1f6feb",
    alarmTopicArn,
    throttleRate: c.getNumber("throttleRate") ?? 200,
    throttleBurst: c.getNumber("throttleBurst") ?? 400,
    tokenThrottleRate: c.getNumber("tokenThrottleRate") ?? 100,
    tokenThrottleBurst: c.getNumber("tokenThrottleBurst") ?? 200,
    wafRateLimit,
    originVerifyGeneration: c.getNumber("originVerifyGeneration") ?? 1,
    usersReservedConcurrency: nonNegative(c, "usersReservedConcurrency", 0),
    breakGlassRoleArn,
    memory: c.getNumber("memory") ?? 1769,
    keyBucketName: c.get("keyBucketName") || undefined,
    timeout: c.getNumber("timeout") ?? 10,
    architecture,
    logLevel: c.get("logLevel") ?? "info",
    logRetentionDays,
    protect: c.getBoolean("protect") ?? false,
    tracing: c.getBoolean("tracing") ?? false,
    auditEventBus: c.get("auditEventBus") || undefined,
    edgeAlarmTopicArn: c.get("edgeAlarmTopicArn") || undefined,
    alarmFunctionErrors: positive(c, "alarmFunctionErrors", 5),
    alarmFunctionThrottles: positive(c, "alarmFunctionThrottles", 1),
    alarmApi5xxPercent: positive(c, "alarmApi5xxPercent", 1),
    alarmApiLatencyP99Ms: positive(c, "alarmApiLatencyP99Ms", 1000),
    alarmEdge5xxPercent: positive(c, "alarmEdge5xxPercent", 1),
    alarmKeyAgeGraceHours: positive(c, "alarmKeyAgeGraceHours", 48),
    alarmRefreshReuse: positive(c, "alarmRefreshReuse", 3),
    serviceClients,
    exampleProtectedRoute: c.getBoolean("exampleProtectedRoute") ?? false,
  };
}

/** A threshold must be a positive number: 0 would page on every data point, or never. */
function positive(c: pulumi.Config, key: string, fallback: number): number {
  const value = c.getNumber(key) ?? fallback;
  if (!(value > 0)) throw new Error(`latchkey:${key} must be a positive number, got ${value}`);
  return value;
}

/**
 * The longest time between two scheduled rotations: a `rate(...)` exactly; a `cron(...)` or
 * `at(...)` is taken as monthly at most (31 days), the longest common rotation calendar.
 */
export function rotationIntervalSeconds(expression: string): number {
  const rate = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(expression);
  if (!rate) return 31 * 86400;
  return Number(rate[1]) * { minute: 60, hour: 3600, day: 86400 }[rate[2] as "minute" | "hour" | "day"];
}

/** CloudFront only takes certificates from ACM in us-east-1 (N. Virginia). */
export function checkCertificateArn(arn: string): void {
  const region = /^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate\/.+$/.exec(arn)?.[1];
  if (!region) throw new Error(`latchkey:certificateArn ${arn} is not an ACM certificate ARN`);
  if (region !== "us-east-1") {
    throw new Error(`latchkey:certificateArn is in ${region}; CloudFront needs the certificate in us-east-1 (request or import it there)`);
  }
}

/** CloudWatch alarms notify SNS topics in their own region only. */
export function checkAlarmTopicArn(arn: string, region: string): void {
  const topicRegion = /^arn:aws[a-z-]*:sns:([a-z0-9-]+):\d{12}:[\w-]+$/.exec(arn)?.[1];
  if (!topicRegion) throw new Error(`latchkey:alarmTopicArn ${arn} is not an SNS topic ARN`);
  if (topicRegion !== region) {
    throw new Error(`latchkey:alarmTopicArn is in ${topicRegion} but the stack deploys to ${region}; alarms can only notify a topic in their own region`);
  }
}

/** The values CloudWatch Logs accepts for retentionInDays (PutRetentionPolicy; 0 = never expire). */
export const LOG_RETENTION_DAYS = [0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

export function checkLogRetention(days: number): void {
  if (!LOG_RETENTION_DAYS.includes(days)) {
    throw new Error(`latchkey:logRetentionDays ${days} is not a value CloudWatch Logs accepts; use one of ${LOG_RETENTION_DAYS.join(", ")}`);
  }
}

function nonNegative(c: pulumi.Config, key: string, fallback: number): number {
  const value = c.getNumber(key) ?? fallback;
  if (!Number.isInteger(value) || value < 0) throw new Error(`latchkey:${key} must be a whole number, 0 or more`);
  return value;
}

/**
 * The keyring refuses a rotation that would sign with a key verifiers have not had time to
 * fetch, or retire one that still verifies unexpired tokens: consecutive rotations must be at
 * least the longest token lifetime plus how long verifiers may cache the JWKS apart (API
 * Gateway JWT authorizers: up to 2 h, plus twice the edge max-age; the functions' defaults).
 * A shorter `rate(...)` would have every scheduled rotation refused, so it is a config error.
 */
export function checkRotationRate(expression: string, maxAccessTokenTtl: number): void {
  if (!/^rate\(/.test(expression)) return; // cron(...) and at(...) expressions are taken as given
  const seconds = rotationIntervalSeconds(expression);
  const minimum = maxAccessTokenTtl + 7200 + 2 * 300;
  if (seconds < minimum) {
    throw new Error(
      `latchkey:rotationRate ${expression} is shorter than the ${minimum}s verifiers need between rotations ` +
        "(longest token lifetime + JWKS caching); every scheduled rotation would be refused",
    );
  }
}

/** The router's environment (names are the contract in functions/config.ts). */
export function routerEnvironment(cfg: StackConfig): Record<string, string> {
  return {
    LATCHKEY_ACCESS_TOKEN_TTL: String(cfg.accessTokenTtl),
    LATCHKEY_MAX_ACCESS_TOKEN_TTL: String(cfg.maxAccessTokenTtl),
    LATCHKEY_REFRESH_FAMILY_TTL: String(cfg.refreshFamilyTtl),
    LATCHKEY_REFRESH_MAX_USES: String(cfg.refreshMaxUses),
    LATCHKEY_KEY_SIZE: String(cfg.keySize),
    LATCHKEY_REGISTRATION_ENABLED: String(cfg.registrationEnabled),
    LATCHKEY_PASSWORD_MIN_LENGTH: String(cfg.passwordMinLength),
    LATCHKEY_USER_AUDIENCES: cfg.userAudiences.join(","),
    LATCHKEY_USER_SCOPES: cfg.userScopes.join(" "),
    LATCHKEY_CORS_ORIGINS: cfg.corsOrigins.join(","),
    ...(cfg.validateAudience ? { LATCHKEY_VALIDATE_AUDIENCE: cfg.validateAudience } : {}),
    LATCHKEY_SESSION_IDLE_TTL: String(cfg.sessionIdleTtl),
    LATCHKEY_SESSION_ABSOLUTE_TTL: String(cfg.sessionAbsoluteTtl),
    LATCHKEY_BRAND_NAME: cfg.brandName,
    ...(cfg.brandLogoUrl ? { LATCHKEY_BRAND_LOGO_URL: cfg.brandLogoUrl } : {}),
    LATCHKEY_BRAND_ACCENT: cfg.brandAccent,
    LATCHKEY_LOG_LEVEL: cfg.logLevel,
    // Metrics carry the stack as their `service` dimension; alarms and the dashboard filter on it.
    LATCHKEY_SERVICE_NAME: cfg.prefix,
    LATCHKEY_AUDIT_EVENT_BUS: cfg.auditEventBus ?? "",
    // No NODE_OPTIONS=--enable-source-maps: it parses every module's map at import, ~35-55 ms
    // of each cold start; logged stacks are mapped when written (functions/observability/stack-trace.ts).
  };
}
