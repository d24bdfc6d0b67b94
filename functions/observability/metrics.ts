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
  kinds.clear();
}

/** CloudWatch's unit names (the EMF specification's list), the ones these metrics use. */
export const MetricUnit = { Count: "Count", Milliseconds: "Milliseconds", Seconds: "Seconds" } as const;
type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

type MetricDefinition = readonly [name: string, unit: Unit];

/**
 * What every record of one kind (one shape: namespace, dimension names, metric names and
 * units; and one set of dimension values) has in common, serialized once: the
 * `CloudWatchMetrics` directive ahead of the timestamp, the dimension members after it, and
 * each metric's member name. A record is then its timestamp and values put between them.
 * Building each record from scratch cost ~14 µs of a Lambda token's CPU (the token path
 * writes two per request, after the signature has left the CPU caches cold; A/B of
 * 2026-11-25, issue 15).
 *
 * Kinds are bounded by construction (see the top of this file); the map is emptied if it ever
 * holds MAX_KINDS, so a mistake there costs time, not memory.
 */
interface Kind {
  /** `{"_aws":{"CloudWatchMetrics":[...],"Timestamp":` */
  head: string;
  /** `},"service":"...",...`: the dimension members, `service` and then each set's keys, each key once. */
  members: string;
  /** `,"<metric name>":` for each metric, in order. */
  names: string[];
}

const kinds = new Map<string, Kind>();
export const MAX_KINDS = 10_000;

/** How many kinds are held (tests). */
export function kindsHeld(): number {
  return kinds.size;
}

function kindOf(key: string, dimensionSets: () => Record<string, string>[], definitions: readonly MetricDefinition[]): Kind {
  let kind = kinds.get(key);
  if (kind === undefined) {
    if (kinds.size >= MAX_KINDS) kinds.clear();
    const given = dimensionSets();
    const sets = given.length ? given : [{}];
    const directives = JSON.stringify([
      {
        Namespace: settings.namespace,
        Dimensions: sets.map((set) => [DIMENSION.service, ...Object.keys(set)]),
        Metrics: definitions.map(([Name, Unit]) => ({ Name, Unit })),
      },
    ]);
    kind = {
      head: `{"_aws":{"CloudWatchMetrics":${directives},"Timestamp":`,
      members: `},${membersOf(sets)}`,
      names: definitions.map(([name]) => `,${JSON.stringify(name)}:`),
    };
    kinds.set(key, kind);
  }
  return kind;
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

/** A number as JSON writes it (a value that is not finite is null, never a bare NaN). */
function numberJson(value: number): string {
  return Number.isFinite(value) ? String(value) : "null";
}

/**
 * One EMF document: each of `values` (one per definition, in order) aggregated under every
 * dimension set (each led by `service`; none given: `service` alone). `key` names the kind:
 * the metric and every dimension value, so records that share a key share a shape and values;
 * `dimensionSets` is only called the first time a key is seen.
 */
function emit(key: string, dimensionSets: () => Record<string, string>[], definitions: readonly MetricDefinition[], values: number[]): void {
  if (!recordsWanted()) return;
  const kind = kindOf(key, dimensionSets, definitions);
  if (outputBuffered()) {
    gather(kind, values);
    return;
  }
  let line = kind.head + Date.now() + kind.members;
  for (let i = 0; i < values.length; i++) line += kind.names[i] + numberJson(values[i]!);
  writeRecordLine(line + "}", { deferred: true });
}

/**
 * Where output is buffered (the local server, many requests a second), records of one kind
 * are gathered until the output is written (at most 25 ms, functions/log.ts) and go out as
 * one document whose metric values are arrays. The EMF specification allows up to 100 values
 * per metric, each its own data point, so CloudWatch's statistics are those of separate
 * records; a single value is written as it is. At 4,000 tokens a second this turns two
 * records per token into a few per flush (profile of 2026-11-25, issue 15).
 */
const MAX_VALUES = 100;

/** Records of one kind, gathered: when the first was written, and each metric's values. */
interface Batch {
  timestamp: number;
  kind: Kind;
  values: number[][];
}

const gathered = new Map<Kind, Batch>();

function gather(kind: Kind, values: number[]): void {
  let batch = gathered.get(kind);
  if (!batch) {
    if (gathered.size === 0) atNextFlush(writeGathered);
    batch = { timestamp: Date.now(), kind, values: values.map(() => []) };
    gathered.set(kind, batch);
  }
  for (let i = 0; i < values.length; i++) batch.values[i]!.push(values[i]!);
  if (batch.values[0]!.length >= MAX_VALUES) {
    gathered.delete(kind);
    writeBatch(batch);
  }
}

function writeGathered(): void {
  const batches = [...gathered.values()];
  gathered.clear();
  for (const batch of batches) writeBatch(batch);
}

function writeBatch({ timestamp, kind, values }: Batch): void {
  let line = kind.head + timestamp + kind.members;
  values.forEach((series, i) => {
    line += kind.names[i] + (series.length === 1 ? numberJson(series[0]!) : `[${series.map(numberJson).join(",")}]`);
  });
  // Many requests' records, written whenever the output is: no request's context applies.
  writeRecordLine(line + "}", { context: null });
}

const TOKENS_ISSUED: readonly MetricDefinition[] = [[METRIC.tokensIssued, MetricUnit.Count]];
const AUTHENTICATION_FAILURES: readonly MetricDefinition[] = [[METRIC.authenticationFailures, MetricUnit.Count]];
const LOCKOUTS: readonly MetricDefinition[] = [[METRIC.lockouts, MetricUnit.Count]];
const REFRESH_REUSE: readonly MetricDefinition[] = [[METRIC.refreshReuseDetected, MetricUnit.Count]];
const RESPONSES: readonly MetricDefinition[] = [[METRIC.responses, MetricUnit.Count], [METRIC.latency, MetricUnit.Milliseconds]];
const SIGNING_KEY_AGE: readonly MetricDefinition[] = [[METRIC.signingKeyAge, MetricUnit.Seconds]];
const NO_DIMENSIONS = (): Record<string, string>[] => [];

export const metrics = {
  /** An access token was issued. Machine clients (client_credentials) are also counted per client_id. */
  tokenIssued(grant: string, machineClientId?: string): void {
    emit(
      `${METRIC.tokensIssued}\u0000${grant}\u0000${machineClientId ?? ""}`,
      (): Record<string, string>[] => [{ [DIMENSION.grant]: grant }, ...(machineClientId ? [{ [DIMENSION.grant]: grant, [DIMENSION.clientId]: machineClientId }] : [])],
      TOKENS_ISSUED,
      [1],
    );
  },

  /** A caller failed to authenticate; `reason` is the error code answered (bounded). */
  authenticationFailed(reason: string): void {
    emit(`${METRIC.authenticationFailures}\u0000${reason}`, (): Record<string, string>[] => [{ [DIMENSION.reason]: reason }, {}], AUTHENTICATION_FAILURES, [1]);
  },

  /** A username's failed logins reached the limit and further attempts are refused. */
  lockout(): void {
    emit(METRIC.lockouts, NO_DIMENSIONS, LOCKOUTS, [1]);
  },

  /** A spent refresh token was presented again: its family was revoked. */
  refreshReuseDetected(): void {
    emit(METRIC.refreshReuseDetected, NO_DIMENSIONS, REFRESH_REUSE, [1]);
  },

  /** One HTTP response: counted by route and status class, latency by route (and class). */
  response(route: string, status: number, latencyMs: number): void {
    const statusClass = `${Math.floor(status / 100)}xx`;
    emit(
      `${METRIC.responses}\u0000${route}\u0000${statusClass}`,
      (): Record<string, string>[] => [{ [DIMENSION.route]: route }, { [DIMENSION.route]: route, [DIMENSION.statusClass]: statusClass }, {}],
      RESPONSES,
      [1, latencyMs],
    );
  },

  /** How long the current signing key has been signing (rotation, ensure-keys, the daily report). */
  signingKeyAge(ageSeconds: number): void {
    emit(METRIC.signingKeyAge, NO_DIMENSIONS, SIGNING_KEY_AGE, [ageSeconds]);
  },
};
