/**
 * Structured JSON logs, one line per event (CloudWatch-friendly). Never pass secrets here:
 * fields named like credentials are redacted as a second line of defence.
 *
 * Every line written on behalf of a request carries that request's context (`requestId`,
 * `route`), so one request's lines can be found together. The context travels one of two ways:
 * - explicitly: code serving a request passes its `RequestContext` to `log.*`, `audit` and the
 *   services it calls (the HTTP app keeps it as `c.var.context`). This is the only way on a server
 *   that serves many requests at once (the local server);
 * - in one slot, for a process that serves one request at a time (a Lambda instance, the CLI:
 *   `setContextMode("sequential")`): `withRequestContext` fills the slot, and lines written
 *   without an explicit context take it from there.
 *
 * There is no AsyncLocalStorage: on Node 20 its promise hooks tax every promise in the process,
 * about 30 µs of the local server's CPU per token (issue 15; Node 24 makes it cheap, nodejs/node#55552).
 *
 * @example
 *   log.info("issued", { kid }, c.var.context); // {"level":"info",...,"msg":"issued","requestId":"abc","route":"/token","kid":...}
 */

type Level = "debug" | "info" | "warn" | "error";
const order: Record<Level | "silent", number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
const SECRET_FIELD = /pass(word)?|secret|token|assertion|authorization|private|pepper/i;

let threshold = order[(process.env.LATCHKEY_LOG_LEVEL as Level) ?? "info"] ?? order.info;

export function setLogLevel(level: Level | "silent"): void {
  threshold = order[level];
}

/** What every line written on behalf of one request (or one scheduled run) carries. */
export interface RequestContext {
  requestId: string;
  /** The route pattern that served the request (bounded: registered routes only), or the event kind. */
  route: string;
  /** The caller's address, for audit records. */
  sourceIp?: string | undefined;
  /**
   * The X-Forwarded-For chain as received (behind CloudFront, `sourceIp` is an edge address and
   * the viewer's address is in this chain, appended by CloudFront). Caller-supplied entries come first.
   */
  forwardedFor?: string | undefined;
  /** Work started on behalf of this request that must finish before the response (audit delivery). */
  pending?: Promise<unknown>[];
  /** Where this context's records go instead of stdout (the CLI: stderr, as stdout carries its output). */
  records?: { write(line: string): unknown };
  /**
   * Deferred records (metrics) written so far, when whoever set up the context writes them
   * out together at its end with `flushDeferredRecords` (the HTTP app: one write per request).
   */
  deferred?: string[];
}

/**
 * Where lines written without an explicit context find one:
 * - "explicit" (the default): nowhere. A server that serves many requests at once passes each
 *   request's context along; a slot shared by interleaved requests would tag lines with the
 *   wrong request, which is worse than tagging none;
 * - "sequential": the slot `withRequestContext` fills, for a process that serves one request
 *   at a time (a Lambda instance, the CLI; their entries set it).
 */
export type ContextMode = "explicit" | "sequential";
let sequential = false;
let current: RequestContext | undefined;

export function setContextMode(mode: ContextMode): void {
  sequential = mode === "sequential";
  current = undefined;
}

export function contextMode(): ContextMode {
  return sequential ? "sequential" : "explicit";
}

/**
 * Runs `work` as the serving of the request `context` describes. In sequential mode, lines
 * written meanwhile without an explicit context (also after awaits) carry it; in explicit mode
 * this only runs `work`.
 */
export function withRequestContext<T>(context: RequestContext, work: () => T): T {
  if (!sequential) return work();
  const previous = current;
  current = context;
  let result: T;
  try {
    result = work();
  } catch (err) {
    current = previous;
    throw err;
  }
  if (!(result instanceof Promise)) {
    current = previous;
    return result;
  }
  return result.finally(() => {
    current = previous;
  }) as T;
}

/** The context a line belongs to: the one given, else (sequential mode) the slot's. */
export function currentRequest(explicit?: RequestContext): RequestContext | undefined {
  return explicit ?? (sequential ? current : undefined);
}

type LineListener = (line: string) => void;
const listeners = new Set<LineListener>();

/**
 * Receives every line the service produces, whatever the log level (tests capture the
 * suite's output with it). Returns the function that stops listening.
 */
export function onLogLine(listener: LineListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function redact(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = SECRET_FIELD.test(k) ? "[redacted]" : v;
  return out;
}

function contextFields(explicit: RequestContext | undefined): Record<string, unknown> {
  const ctx = currentRequest(explicit);
  return ctx ? { requestId: ctx.requestId, route: ctx.route } : {};
}

function write(level: Level, msg: string, fields: Record<string, unknown> = {}, context?: RequestContext): void {
  const wanted = order[level] >= threshold;
  if (!wanted && listeners.size === 0) return;
  const line = JSON.stringify({ level, time: new Date().toISOString(), msg, ...contextFields(context), ...redact(fields) });
  for (const listener of listeners) listener(line);
  if (wanted) {
    if (level === "error" || level === "warn") process.stderr.write(line + "\n");
    else toStdout(line + "\n");
  }
}

/**
 * Output buffering for a server that serves many requests at once (the local server turns it
 * on): stdout lines are gathered and written together, at most `OUTPUT_FLUSH.afterMs` after the
 * first of them or as soon as `OUTPUT_FLUSH.atBytes` are pending, instead of one system call per
 * line; whatever is pending is written when the process exits. At a few thousand requests a
 * second, a write per event-loop turn was still a thousand writes a second (profile of
 * 2026-11-25, issue 15). Lambda leaves it off: an instance may be frozen right after it
 * answers, so it writes before answering.
 */
export const OUTPUT_FLUSH = { afterMs: 25, atBytes: 64 * 1024 } as const;

let buffering = false;
let pendingOutput: string[] = [];
let pendingBytes = 0;
let flushScheduled = false;

let flushesOnExit = false;

export function bufferOutput(on: boolean): void {
  if (on && !flushesOnExit) {
    flushesOnExit = true;
    process.on("exit", flushOutput);
  }
  if (!on) flushOutput();
  buffering = on;
}

/** Whether stdout is buffered (the local server): records may then be gathered until the flush. */
export function outputBuffered(): boolean {
  return buffering;
}

const flushHooks: (() => void)[] = [];

/**
 * Buffered output only: `produce` runs once, when pending output is next written, and writes
 * what it gathered meanwhile (metric records, functions/observability/metrics.ts).
 */
export function atNextFlush(produce: () => void): void {
  flushHooks.push(produce);
  scheduleFlush();
}

/** Writes out what buffering holds (tests, shutdown). */
export function flushOutput(): void {
  flushScheduled = false;
  for (const produce of flushHooks.splice(0)) produce();
  if (!pendingOutput.length) return;
  const text = pendingOutput.join("");
  pendingOutput = [];
  pendingBytes = 0;
  process.stdout.write(text);
}

function toStdout(text: string, sink?: { write(text: string): unknown }): void {
  if (sink) {
    sink.write(text);
    return;
  }
  if (!buffering) {
    process.stdout.write(text);
    return;
  }
  pendingOutput.push(text);
  pendingBytes += text.length;
  if (pendingBytes >= OUTPUT_FLUSH.atBytes) flushOutput();
  else scheduleFlush();
}

function scheduleFlush(): void {
  if (flushScheduled) return;
  flushScheduled = true;
  setTimeout(flushOutput, OUTPUT_FLUSH.afterMs).unref(); // unref: exit's flush covers the rest
}

/**
 * Writes a record that is data rather than a log message (an audit event, an Embedded Metric
 * Format document) to stdout, whatever the level short of "silent". The caller builds the
 * whole object; the request context is not merged in (EMF documents have their own schema).
 */
export function writeRecord(record: Record<string, unknown>, options?: RecordOptions): void {
  if (!recordsWanted()) return;
  writeRecordLine(JSON.stringify(record), options);
}

/** Whether a record written now would go anywhere (callers may skip building one). */
export function recordsWanted(): boolean {
  return recordsToStdout() || listeners.size > 0;
}

/** Records go to stdout at every level short of "silent". */
function recordsToStdout(): boolean {
  return threshold < order.silent;
}

export interface RecordOptions {
  /** Keep the record with its request's context until the request ends (metrics). */
  deferred?: boolean;
  /** The request the record belongs to, when not the sequential slot's; null: none (gathered records). */
  context?: RequestContext | null | undefined;
}

/** `writeRecord` for a record its caller has serialized already (one JSON object, no newline). */
export function writeRecordLine(line: string, options?: RecordOptions): void {
  if (!recordsWanted()) return;
  const context = options?.context === null ? undefined : currentRequest(options?.context);
  // Deferred: kept with the request until it ends. A metric is data about the request, and
  // one write per request costs a system call less per record (issue 15); audit records and
  // log lines are never deferred, so none waits on the request's outcome.
  if (options?.deferred && context?.deferred) {
    context.deferred.push(line);
    return;
  }
  for (const listener of listeners) listener(line);
  if (recordsToStdout()) toStdout(line + "\n", context?.records);
}

/** Writes the context's deferred records, in the order they were written, in one write. */
export function flushDeferredRecords(context: RequestContext): void {
  const lines = context.deferred;
  if (!lines?.length) return;
  context.deferred = [];
  for (const line of lines) for (const listener of listeners) listener(line);
  if (recordsToStdout()) toStdout(lines.join("\n") + "\n", context.records);
}

/** `context`: the request the line belongs to (see the top of this file). */
export const log = {
  debug: (msg: string, fields?: Record<string, unknown>, context?: RequestContext) => write("debug", msg, fields, context),
  info: (msg: string, fields?: Record<string, unknown>, context?: RequestContext) => write("info", msg, fields, context),
  warn: (msg: string, fields?: Record<string, unknown>, context?: RequestContext) => write("warn", msg, fields, context),
  error: (msg: string, fields?: Record<string, unknown>, context?: RequestContext) => write("error", msg, fields, context),
};
