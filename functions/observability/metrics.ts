/**
 * The issuer's metrics, in CloudWatch Embedded Metric Format: JSON lines on stdout that
 * CloudWatch Logs turns into metrics, so recording one costs no API call.
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html)
 *
 * Each record is written here by hand: the format is small (a `_aws` block naming the
 * namespace, dimension sets and metrics, then the values as top-level members), and writing it
 * is a fraction of what Powertools' Metrics cost per record (about a tenth of a token's CPU
 * beyond the signature on the Lambda path: validation, environment reads on every store
 * access, key-collision checks; profile of 2026-11-24, issue 15). On Lambda, a record written
 * while a request is served waits in its context and goes out with the request's others in one
 * write (`writeRecordLine(..., { deferred: true })`, functions/log.ts), when the response is
 * done; on the local server, records are gathered until the buffered output is written (`gather`).
 *
 * Dimensions are bounded by construction: route patterns, status classes, grant types, error
 * codes and the client ids of machine clients (which an operator creates). Every record also
 * carries the `service` dimension (the stack), so two stacks in one account stay apart.
 *
 * @example
 *   metrics.tokenIssued("client_credentials", "lkc_abc...");
 */
import { atNextFlush, outputBuffered, recordsWanted, writeRecordLine } from "../log.js";

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
  directiveCache.clear();
}

/** CloudWatch's unit names (the EMF specification's list), the ones these metrics use. */
export const MetricUnit = { Count: "Count", Milliseconds: "Milliseconds", Seconds: "Seconds" } as const;
type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

/**
 * One EMF document: every metric in `values` aggregated under every set in `dimensionSets`,
 * each set led by `service` (none given: `service` alone).
 *
 * The `CloudWatchMetrics` directive depends only on the namespace, the dimension names and the
 * metric names and units, a bounded set fixed by the code below, so each is serialized once
 * and reused; a record is then its timestamp and values around it (the token path writes two
 * per request).
 */
function emit(dimensionSets: Record<string, string>[], values: [name: string, unit: Unit, value: number][]): void {
  if (!recordsWanted()) return;
  const sets = dimensionSets.length ? dimensionSets : [{}];
  let shape = settings.namespace;
  for (const set of sets) shape += "|" + Object.keys(set).join(",");
  for (const [name, unit] of values) shape += "#" + name + ":" + unit;
  if (outputBuffered()) {
    gather(shape, sets, values);
    return;
  }
  let members = membersOf(sets);
  for (const [name, , value] of values) members += `,${JSON.stringify(name)}:${JSON.stringify(value)}`;
  writeRecordLine(`{"_aws":{"Timestamp":${Date.now()},"CloudWatchMetrics":${directivesOf(shape, sets, values)}},${members}}`, { deferred: true });
}

/** The serialized `CloudWatchMetrics` directives of a shape (cached: a bounded set). */
function directivesOf(shape: string, sets: Record<string, string>[], values: [name: string, unit: Unit, value: number][]): string {
  let directives = directiveCache.get(shape);
  if (directives === undefined) {
    directives = JSON.stringify([
      {
        Namespace: settings.namespace,
        Dimensions: sets.map((set) => [DIMENSION.service, ...Object.keys(set)]),
        Metrics: values.map(([Name, Unit]) => ({ Name, Unit })),
      },
    ]);
    directiveCache.set(shape, directives);
  }
  return directives;
}

/** The dimension members of a record: `service`, then each set's keys, each key once. */
function membersOf(sets: Record<string, string>[]): string {
  let members = `"${DIMENSION.service}":${JSON.stringify(settings.service)}`;
  const written = new Set<string>([DIMENSION.service]);
  for (const set of sets) {
    for (const key in set) {
      if (written.has(key)) continue; // shared keys carry one value by design
      written.add(key);
      members += `,${JSON.stringify(key)}:${JSON.stringify(set[key])}`;
    }
  }
  return members;
}

/**
 * Where output is buffered (the local server, many requests a second), records of one shape
 * with the same dimension values are gathered until the output is written (at most 25 ms,
 * functions/log.ts) and go out as one document whose metric values are arrays. The EMF
 * specification allows up to 100 values per metric, each its own data point, so CloudWatch's
 * statistics are those of separate records; a single value is written as it is. At 4,000
 * tokens a second this turns two records per token into a few per flush (profile of
 * 2026-11-25, issue 15).
 */
const MAX_VALUES = 100;

/** Records of one shape and dimension values, gathered: their strings, and each metric's values. */
interface Batch {
  timestamp: number;
  directives: string;
  members: string;
  names: string[];
  values: number[][];
}

const gathered = new Map<string, Batch>();

function gather(shape: string, sets: Record<string, string>[], values: [name: string, unit: Unit, value: number][]): void {
  // A batch per shape and dimension values; the document's strings are built once per batch.
  let key = shape;
  for (const set of sets) for (const k in set) key += "\u0000" + set[k];
  let batch = gathered.get(key);
  if (!batch) {
    if (gathered.size === 0) atNextFlush(writeGathered);
    const directives = directivesOf(shape, sets, values);
    batch = { timestamp: Date.now(), directives, members: membersOf(sets), names: values.map(([name]) => name), values: values.map(() => []) };
    gathered.set(key, batch);
  }
  for (let i = 0; i < values.length; i++) batch.values[i]!.push(values[i]![2]);
  if (batch.values[0]!.length >= MAX_VALUES) {
    gathered.delete(key);
    writeBatch(batch);
  }
}

function writeGathered(): void {
  const batches = [...gathered.values()];
  gathered.clear();
  for (const batch of batches) writeBatch(batch);
}

function writeBatch(batch: Batch): void {
  let members = batch.members;
  batch.names.forEach((name, i) => {
    const values = batch.values[i]!;
    members += `,${JSON.stringify(name)}:${values.length === 1 ? JSON.stringify(values[0]) : `[${values.join(",")}]`}`;
  });
  // Many requests' records, written whenever the output is: no request's context applies.
  writeRecordLine(`{"_aws":{"Timestamp":${batch.timestamp},"CloudWatchMetrics":${batch.directives}},${members}}`, { context: null });
}

/** Serialized directives by shape (namespace, dimension names, metric names and units). */
const directiveCache = new Map<string, string>();

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
