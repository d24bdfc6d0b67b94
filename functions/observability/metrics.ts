/**
 * The issuer's metrics, in CloudWatch Embedded Metric Format: JSON lines on stdout that
 * CloudWatch Logs turns into metrics, so recording one costs no API call.
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html)
 *
 * Powertools for AWS Lambda builds the documents (schema, units, dimension sets, limits).
 * Every record gets its own Powertools instance, because one instance buffers metrics and
 * dimensions for the whole process, and the local server serves requests concurrently; the
 * document goes out through `writeRecord`, so local mode prints exactly what Lambda does.
 *
 * Dimensions are bounded by construction: route patterns, status classes, grant types, error
 * codes and the client ids of machine clients (which an operator creates). Every record also
 * carries the `service` dimension (the stack), so two stacks in one account stay apart.
 *
 * @example
 *   metrics.tokenIssued("client_credentials", "lkc_abc...");
 */
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { log, writeRecord } from "../log.js";

/** Metric names: the contract with infra/monitoring.ts (alarms, dashboard). */
export const METRIC = {
  tokensIssued: "TokensIssued",
  authenticationFailures: "AuthenticationFailures",
  lockouts: "Lockouts",
  refreshReuseDetected: "RefreshReuseDetected",
  responses: "Responses",
  latency: "Latency",
  signingKeyAge: "SigningKeyAge",
} as const;

/** Dimension names, same contract. `service` is added to every set. */
export const DIMENSION = {
  service: "service",
  grant: "grant",
  clientId: "clientId",
  reason: "reason",
  route: "route",
  statusClass: "statusClass",
} as const;

export const DEFAULT_NAMESPACE = "Latchkey";

let settings = { namespace: DEFAULT_NAMESPACE, service: "latchkey" };

/** Set once per process from config (functions/issuer.ts). */
export function configureMetrics(next: { namespace: string; service: string }): void {
  settings = { ...next };
}

const warnings = {
  debug: () => {},
  info: () => {},
  warn: (...content: unknown[]) => log.warn("metrics", { detail: content.map(String).join(" ") }),
  error: (...content: unknown[]) => log.error("metrics", { detail: content.map(String).join(" ") }),
};

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

/** One EMF document: every metric in `values` aggregated under every set in `dimensionSets`. */
function emit(dimensionSets: Record<string, string>[], values: [name: string, unit: Unit, value: number][]): void {
  const record = new Metrics({ namespace: settings.namespace, serviceName: settings.service, logger: warnings });
  for (const set of dimensionSets) record.addDimensions(set);
  for (const [name, unit, value] of values) record.addMetric(name, unit, value);
  writeRecord(record.serializeMetrics() as unknown as Record<string, unknown>);
}

export const metrics = {
  /** An access token was issued. Machine clients (client_credentials) are also counted per client_id. */
  tokenIssued(grant: string, machineClientId?: string): void {
    const sets: Record<string, string>[] = [{ [DIMENSION.grant]: grant }];
    if (machineClientId) sets.push({ [DIMENSION.grant]: grant, [DIMENSION.clientId]: machineClientId });
    emit(sets, [[METRIC.tokensIssued, MetricUnit.Count, 1]]);
  },

  /** A caller failed to authenticate; `reason` is the error code answered (bounded). */
  authenticationFailed(reason: string): void {
    emit([{ [DIMENSION.reason]: reason }, {}], [[METRIC.authenticationFailures, MetricUnit.Count, 1]]);
  },

  /** A username's failed logins reached the limit and further attempts are refused. */
  lockout(): void {
    emit([], [[METRIC.lockouts, MetricUnit.Count, 1]]);
  },

  /** A spent refresh token was presented again: its family was revoked. */
  refreshReuseDetected(): void {
    emit([], [[METRIC.refreshReuseDetected, MetricUnit.Count, 1]]);
  },

  /** One HTTP response: counted by route and status class, latency by route (and class). */
  response(route: string, status: number, latencyMs: number): void {
    emit(
      [{ [DIMENSION.route]: route }, { [DIMENSION.route]: route, [DIMENSION.statusClass]: `${Math.floor(status / 100)}xx` }, {}],
      [
        [METRIC.responses, MetricUnit.Count, 1],
        [METRIC.latency, MetricUnit.Milliseconds, latencyMs],
      ],
    );
  },

  /** How long the current signing key has been signing (rotation, ensure-keys, the daily report). */
  signingKeyAge(ageSeconds: number): void {
    emit([], [[METRIC.signingKeyAge, MetricUnit.Seconds, ageSeconds]]);
  },
};
