/**
 * The HTTP API's access log line (infra/api.ts): one JSON object per request in
 * /aws/apigateway/<prefix>-api. Kept apart from the Pulumi resources so the bench's cost
 * model (bench/support/cost.ts) prices the same line without loading the Pulumi program.
 * Variables: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html
 */
export const ACCESS_LOG_FORMAT = {
  requestId: "$context.requestId",
  ip: "$context.identity.sourceIp",
  method: "$context.httpMethod",
  path: "$context.path",
  status: "$context.status",
  latencyMs: "$context.responseLatency",
  integrationError: "$context.integrationErrorMessage",
} as const;
