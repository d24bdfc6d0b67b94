/**
 * The issuer's metrics, in CloudWatch Embedded Metric Format: JSON lines on stdout that
 * CloudWatch Logs turns into metrics, so recording one costs no API call.
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html)
 *
 * Powertools for AWS Lambda builds the documents (schema, units, dimension sets, limits). One
 * Powertools instance serves the process: `emit` adds, serializes and clears in one
 * synchronous call, so it never holds two requests' metrics, even on the local server that
 * serves requests concurrently. (An instance per record cost ~0.4 ms of CPU per token on the
 * Lambda path: each construction re-reads the environment and builds a Console; issue 15.)
 * The document goes out through `writeRecord`, so local mode prints exactly what Lambda does.
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

let instance: Metrics | undefined;

/** Set once per process from config (functions/issuer.ts). */
export function configureMetrics(next: { namespace: string; service: string }): void {
  settings = { ...next };
  instance = undefined;
}

/**
 * Our dimension sets share keys on purpose (`grant` in both TokensIssued sets, `route` in both
 * Responses sets, always with one value), which Powertools reports on every record as a
 * collision "between a dimension set and dimension set". That one is dropped; every other
 * warning is logged.
 */
const OWN_SETS_SHARE_KEYS = /defined as both a dimension set and dimension set/;
const warnings = {
  debug: () => {},
  info: () => {},
  warn: (...content: unknown[]) => {
    const detail = content.map(String).join(" ");
    if (!OWN_SETS_SHARE_KEYS.test(detail)) log.warn("metrics", { detail });
  },
  error: (...content: unknown[]) => log.error("metrics", { detail: content.map(String).join(" ") }),
};

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

/** One EMF document: every metric in `values` aggregated under every set in `dimensionSets`. */
function emit(dimensionSets: Record<string, string>[], values: [name: string, unit: Unit, value: number][]): void {
  const record = (instance ??= new Metrics({ namespace: settings.namespace, serviceName: settings.service, logger: warnings }));
  try {
    for (const set of dimensionSets) record.addDimensions(set);
    for (const [name, unit, value] of values) record.addMetric(name, unit, value);
    writeRecord(record.serializeMetrics() as unknown as Record<string, unknown>);
  } finally {
    record.clearMetrics();
    record.clearDimensions();
  }
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
