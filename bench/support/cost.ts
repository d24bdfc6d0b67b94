/**
 * What a token costs on AWS at list prices, from figures a bench measured: the handler's
 * single-core CPU time and its wait on storage per invocation, and the storage requests it
 * made per token. Prices are us-east-1 list prices (no free tier, first pricing tier), kept
 * here as constants with where and when they were read.
 *
 * The memory model: Lambda allocates CPU in proportion to memory, and "at 1,769 MB, a function
 * has the equivalent of one vCPU (one vCPU-second of credits per second)"
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html, read 2026-11-24).
 * So below 1769 MB the handler's CPU time stretches by 1769 / memory; above it a single-threaded
 * handler gains nothing. Time spent waiting on DynamoDB or S3 does not stretch. Duration is
 * "rounded up to the nearest 1 ms" (https://aws.amazon.com/lambda/pricing/, read 2026-11-24).
 *
 * @example
 *   const c = costPerMillion({ cpuMicros: 1100, waitMicros: 0, memoryMb: 1024, storage: { reads: 0, writes: 0 } });
 *   c.totalUsd; c.items.lambdaDurationUsd;
 */
import { ACCESS_LOG_FORMAT } from "../../infra/access-log.js";

/**
 * List prices, us-east-1, first tier, USD. Read with the search tool on 2026-11-24.
 * - Lambda, Arm: $0.0000133334 per GB-second (first 7.5 billion GB-s / month) and $0.20 per
 *   1M requests. aws.amazon.com/lambda/pricing/ (the stored copy names the tiers but its table
 *   rows were not in the excerpt); the figures are from cloudchipr.com/blog/aws-lambda-pricing
 *   (2024) and agree with AWS's tiered-pricing announcement. Unchanged since Arm launched (2021).
 * - API Gateway HTTP APIs: $1.00 per million requests (first 300 million / month).
 *   aws.amazon.com/api-gateway/pricing/; figure as quoted by awsforengineers.com (2025-05-19)
 *   and learnaws.org (2021): unchanged since HTTP APIs launched. Metered per 512 KB: one token = one request.
 * - DynamoDB on-demand (Standard table class): $0.125 per million read request units, $0.625
 *   per million write request units, after the November 2024 50% cut (AWS News Blog post on
 *   on-demand, updated 2025-01-31; airbyte.com DynamoDB pricing, 2025-07-21). A strongly
 *   consistent read of up to 4 KB is 1 RRU, an eventually consistent one 0.5 RRU; a write of up
 *   to 1 KB is 1 WRU; transactional requests cost double (How AWS Pricing Works, DynamoDB).
 * - S3 GET: $0.0004 per 1,000 requests (S3 Standard), only when the key or pepper is (re)loaded.
 * - CloudFront: $0.0100 per 10,000 HTTPS requests (United States, Mexico, Canada). The stored
 *   copy of aws.amazon.com/cloudfront/pricing showed the free tier and the data-transfer table,
 *   not the request rows; $0.0100 / 10,000 is that page's long-standing US HTTPS rate (it has
 *   not changed since 2016 as far as the third-party guides found show), used here for that
 *   reason. Data transfer out: $0.085 per GB (first 10 TB, same page, read 2026-11-24).
 * - Cognito machine-to-machine: $2.25 per 1,000 token requests (2025-2026 list price, as the
 *   issue states): printed beside Latchkey's figure, not part of it.
 * - CloudWatch Logs ingestion, Standard log class: $0.50 per GB (read 2026-12-07 with the
 *   search tool: Duckbill Group on the May 2025 change, which made Lambda's logs tiered vended
 *   logs whose first tier, up to 10 TB a month, stays at that flat rate; hykell.com and
 *   cloudcostkit.com guides give the same us-east-1 figure for other log groups, such as the
 *   HTTP API's access log). Storage ($0.03 per GB-month) depends on the retention and is left
 *   out, as are the custom metrics' monthly charge per metric (not per token) and any
 *   per-event overhead CloudWatch may count: this item is a floor.
 */
export const PRICES = {
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaPerRequest: 0.2 / 1e6,
  httpApiPerRequest: 1.0 / 1e6,
  dynamoDbPerReadRequestUnit: 0.125 / 1e6,
  dynamoDbPerWriteRequestUnit: 0.625 / 1e6,
  s3PerGet: 0.0004 / 1000,
  cloudFrontPerHttpsRequest: 0.01 / 10_000,
  cloudFrontPerGbOut: 0.085,
  cognitoM2mPerTokenRequest: 2.25 / 1000,
  cloudWatchLogsPerGbIngested: 0.5,
} as const;

/** Memory at which Lambda gives one full vCPU (see the module comment). */
export const FULL_VCPU_MB = 1769;

/** Memory sizes the bench prices. */
export const MEMORY_SIZES_MB = [256, 512, 1024, 1769] as const;

export interface StoragePerToken {
  /** Read request units per token. */
  readUnits: number;
  /** Write request units per token. */
  writeUnits: number;
  /** S3 GETs per token (key and pepper loads, amortised). */
  s3Gets?: number;
}

export interface HandlerTime {
  /** The handler's CPU time per invocation on one full core, µs. */
  cpuMicros: number;
  /** Wall time per invocation not spent on CPU (waiting on storage), µs. */
  waitMicros: number;
}

/** Estimated Lambda duration at `memoryMb`: CPU stretched below one vCPU, waits unchanged. */
export function durationMs(t: HandlerTime, memoryMb: number): number {
  const stretch = Math.max(1, FULL_VCPU_MB / memoryMb);
  return (t.cpuMicros * stretch + Math.max(0, t.waitMicros)) / 1000;
}

/** Lambda bills duration rounded up to the next millisecond. */
export function billedMs(duration: number): number {
  return Math.max(1, Math.ceil(duration - 1e-9));
}

export interface CostPerMillion {
  memoryMb: number;
  estimatedDurationMs: number;
  billedMs: number;
  items: {
    lambdaRequestsUsd: number;
    lambdaDurationUsd: number;
    httpApiUsd: number;
    cloudFrontRequestsUsd: number;
    cloudFrontTransferUsd: number;
    dynamoDbUsd: number;
    s3Usd: number;
    cloudWatchLogsUsd: number;
  };
  totalUsd: number;
}

/** Cost of one million tokens, each one Lambda invocation behind CloudFront and an HTTP API. */
export function costPerMillion(input: HandlerTime & { memoryMb: number; storage: StoragePerToken; responseBytes?: number; logBytes?: number }): CostPerMillion {
  const million = 1e6;
  const duration = durationMs(input, input.memoryMb);
  const billed = billedMs(duration);
  const gbSeconds = (input.memoryMb / 1024) * (billed / 1000);
  const items = {
    lambdaRequestsUsd: million * PRICES.lambdaPerRequest,
    lambdaDurationUsd: million * gbSeconds * PRICES.lambdaArmPerGbSecond,
    httpApiUsd: million * PRICES.httpApiPerRequest,
    cloudFrontRequestsUsd: million * PRICES.cloudFrontPerHttpsRequest,
    cloudFrontTransferUsd: (million * (input.responseBytes ?? 0) * PRICES.cloudFrontPerGbOut) / 1024 ** 3,
    dynamoDbUsd:
      million * (input.storage.readUnits * PRICES.dynamoDbPerReadRequestUnit + input.storage.writeUnits * PRICES.dynamoDbPerWriteRequestUnit),
    s3Usd: million * (input.storage.s3Gets ?? 0) * PRICES.s3PerGet,
    cloudWatchLogsUsd: (million * (input.logBytes ?? 0) * PRICES.cloudWatchLogsPerGbIngested) / 1024 ** 3,
  };
  const rounded = Object.fromEntries(Object.entries(items).map(([k, v]) => [k, round4(v)])) as CostPerMillion["items"];
  return {
    memoryMb: input.memoryMb,
    estimatedDurationMs: Math.round(duration * 1000) / 1000,
    billedMs: billed,
    items: rounded,
    totalUsd: round4(Object.values(items).reduce((a, b) => a + b, 0)),
  };
}

/**
 * The log lines CloudWatch Logs ingests for one token besides what the function writes
 * itself: the Lambda platform's three lines per invocation in the Text log format the
 * functions use (infra/router.ts), as AWS's logging pages show them ("START RequestId: ...
 * Version: $LATEST", "END RequestId: ...", "REPORT RequestId: ...\tDuration: ... ms\tBilled
 * Duration: ... ms\tMemory Size: ... MB\tMax Memory Used: ... MB"; docs.aws.amazon.com/lambda/
 * latest/dg/ruby-logging.html, read 2026-12-07), and the HTTP API's access log line in the
 * stack's own format (infra/access-log.ts). Sample values stand in for the variable parts,
 * each as long as a real one: a UUID request id, a published version number, a 15-character
 * address, a two-digit latency.
 */
export function platformLogBytes(memoryMb: number): { lambda: number; accessLog: number } {
  const id = "6bc28136-0a1b-4365-b021-0ce6b2e64ab0";
  const lambda = [
    `START RequestId: ${id} Version: 12\n`,
    `END RequestId: ${id}\n`,
    `REPORT RequestId: ${id}\tDuration: 0.45 ms\tBilled Duration: 1 ms\tMemory Size: ${memoryMb} MB\tMax Memory Used: 110 MB\t\n`,
  ].join("");
  const sample: Record<string, string> = {
    "$context.requestId": "JkZ9xgxBIAMEV0g=",
    "$context.identity.sourceIp": "203.000.113.100",
    "$context.httpMethod": "POST",
    "$context.path": "/token",
    "$context.status": "200",
    "$context.responseLatency": "12",
    "$context.integrationErrorMessage": "-",
  };
  const accessLog = JSON.stringify(Object.fromEntries(Object.entries(ACCESS_LOG_FORMAT).map(([k, v]) => [k, sample[v] ?? v]))) + "\n";
  return { lambda: Buffer.byteLength(lambda), accessLog: Buffer.byteLength(accessLog) };
}

/** Cognito's price for the same million machine-to-machine tokens. */
export const cognitoM2mPerMillionUsd = PRICES.cognitoM2mPerTokenRequest * 1e6;

/**
 * DynamoDB request units for operations counted by name (X-Amz-Target), assuming items of at
 * most 4 KB read / 1 KB written (Latchkey's records are far smaller) and, conservatively,
 * strongly consistent reads.
 */
export function requestUnits(ops: Record<string, number>): { readUnits: number; writeUnits: number } {
  let readUnits = 0;
  let writeUnits = 0;
  for (const [op, n] of Object.entries(ops)) {
    if (op === "GetItem" || op === "Query" || op === "Scan") readUnits += n;
    else if (op === "BatchGetItem") readUnits += n; // one item per call on Latchkey's paths
    else if (op === "PutItem" || op === "UpdateItem" || op === "DeleteItem" || op === "BatchWriteItem") writeUnits += n;
    else if (op === "TransactWriteItems") writeUnits += 2 * n; // per item; counted per call here, at least one item
    else if (op === "TransactGetItems") readUnits += 2 * n;
  }
  return { readUnits, writeUnits };
}

function round4(n: number): number {
  return Math.round(n * 10_000) / 10_000;
}
