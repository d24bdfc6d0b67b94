/** Realistic Lambda event samples for the router's three (four) event shapes. */

/** An API Gateway HTTP API payload format 2.0 event, as AWS documents it. */
export const httpApiEvent = (method = "GET", path = "/.well-known/jwks.json", body?: string, headers: Record<string, string> = {}) => ({
  version: "2.0",
  routeKey: "$default",
  rawPath: path,
  rawQueryString: "",
  cookies: [],
  headers: { accept: "application/json", host: "abc123.execute-api.eu-west-1.amazonaws.com", "user-agent": "curl/8.5.0", "x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https", ...headers },
  requestContext: {
    accountId: "123456789012",
    apiId: "abc123",
    domainName: "abc123.execute-api.eu-west-1.amazonaws.com",
    domainPrefix: "abc123",
    http: { method, path, protocol: "HTTP/1.1", sourceIp: "203.0.113.7", userAgent: "curl/8.5.0" },
    requestId: "JKJaXmPLvHcESHA=",
    routeKey: "$default",
    stage: "$default",
    time: "24/Nov/2026:01:02:03 +0000",
    timeEpoch: 1795482123000,
  },
  ...(body !== undefined ? { body, isBase64Encoded: false } : { isBase64Encoded: false }),
});

/** What EventBridge Scheduler delivers with the target input infra/ configures. */
export const schedulerRotateEvent = { action: "rotate" };

/** A raw EventBridge "Scheduled Event" (no custom input). */
export const scheduledEvent = {
  version: "0",
  id: "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
  "detail-type": "Scheduled Event",
  source: "aws.scheduler",
  account: "123456789012",
  time: "2026-11-24T00:00:00Z",
  region: "eu-west-1",
  resources: ["arn:aws:scheduler:eu-west-1:123456789012:schedule/default/latchkey-dev-rotation"],
  detail: "{}",
};

/** The deploy hook (aws.lambda.Invocation) input. */
export const ensureKeysEvent = { action: "ensure-keys", imageDigest: "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" };
