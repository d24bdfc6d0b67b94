/**
 * The one Lambda entry point. It tells events apart by shape, so one image can back both the
 * API function and the rotation function:
 * - API Gateway HTTP API payload 2.0 -> the HTTP app;
 * - `{"action":"rotate"}` (the EventBridge Scheduler target input), or a raw Scheduler /
 *   EventBridge "Scheduled Event" -> one key rotation;
 * - `{"action":"ensure-keys", ...}` (the deploy-time `aws.lambda.Invocation`) -> make sure a
 *   current and a next key exist; idempotent.
 * - `{"action":"ensure-client","client":{...}}` (one deploy-time Invocation per service client
 *   declared in stack config) -> converge that client, credentials to Secrets Manager; with
 *   `"tf":{"action":"delete"}` (the CRUD-scoped Invocation being deleted) -> retire it.
 * - `{"action":"revoke","kid":"..."}` (an operator: `aws lambda invoke` on the rotation
 *   function) -> revoke a compromised key.
 * - `{"action":"smoke"}` (the rollout's invocation of a newly published version) -> prove the
 *   version can load its config and keyring and decrypt its signing key, before it serves.
 * - `{"action":"report-key-age"}` (a daily schedule) -> emit the signing key's age metric, so
 *   the "rotation has stopped" alarm has a data point every day, not only when rotation runs.
 * Every keyring change (ensure-keys, rotate, revoke) republishes the static /.well-known
 * documents; a revocation also invalidates them in CloudFront.
 * Non-HTTP events run in a log context too (request id = the Lambda request id, route = the
 * event kind), and rotation and ensure-keys emit the key-age metric as well.
 * Anything else is rejected (thrown), so a misconfigured trigger fails loudly.
 */
import { loadConfig } from "./config.js";
import { createIssuer, type Issuer } from "./issuer.js";
import { createApp } from "./http/app.js";
import { lambdaHttpHandler, type HttpApiEvent } from "./http/lambda-adapter.js";
import { randomUUID } from "node:crypto";
import { log, setContextMode, withRequestContext } from "./log.js";
import { flushAuditTrail } from "./observability/audit.js";
import { reportSigningKeyAge } from "./keys/key-age.js";
import { RotationRefused } from "./errors.js";
import { setSigningMode } from "./tokens/access-token.js";
import { handleDeclaredClientEvent } from "./clients/declared.js";
import { publishWellKnownDocuments } from "./storage/public-documents.js";
import { sourceMappedStack } from "./observability/stack-trace.js";

export type EventKind = "http" | "rotate" | "ensure-keys" | "ensure-client" | "report-key-age" | "revoke" | "smoke" | "unknown";

/** Classifies an incoming Lambda event by its shape. */
export function classifyEvent(event: unknown): EventKind {
  if (typeof event !== "object" || event === null) return "unknown";
  const e = event as Record<string, unknown>;
  const rc = e.requestContext as Record<string, unknown> | undefined;
  if (e.version === "2.0" && rc && typeof rc.http === "object") return "http";
  if (e.action === "ensure-keys") return "ensure-keys";
  if (e.action === "ensure-client") return "ensure-client";
  if (e.action === "rotate") return "rotate";
  if (e.action === "report-key-age") return "report-key-age";
  if (e.action === "revoke") return "revoke";
  if (e.action === "smoke") return "smoke";
  if (e["detail-type"] === "Scheduled Event" && (e.source === "aws.scheduler" || e.source === "aws.events")) {
    return "rotate";
  }
  return "unknown";
}

let issuer: Issuer | undefined;
let httpHandler: ReturnType<typeof lambdaHttpHandler> | undefined;

function init(): { issuer: Issuer; httpHandler: ReturnType<typeof lambdaHttpHandler> } {
  if (!issuer || !httpHandler) {
    const config = loadConfig(process.env);
    // One request per instance at a time: no thread-pool hand-off, and the log context in one slot.
    setSigningMode("inline");
    setContextMode("sequential");
    issuer = createIssuer(config);
    httpHandler = lambdaHttpHandler(createApp(issuer));
  }
  return { issuer, httpHandler };
}

/** For tests: forget the cached issuer so the next event re-reads the environment. */
export function resetForTests(): void {
  setContextMode("explicit");
  issuer = undefined;
  httpHandler = undefined;
}

export async function handler(event: unknown, context?: { awsRequestId?: string }): Promise<unknown> {
  try {
    const kind = classifyEvent(event);
    const { issuer, httpHandler } = init();
    // The HTTP app sets up each request's own context.
    if (kind === "http") return await httpHandler(event as HttpApiEvent, context);
    return await withRequestContext({ requestId: context?.awsRequestId ?? randomUUID(), route: kind }, async () => {
      try {
        return await handleEvent(kind, event, issuer);
      } finally {
        await flushAuditTrail();
      }
    });
  } catch (err) {
    // The Lambda runtime logs what a handler throws, stack included: name the sources in it.
    if (err instanceof Error) err.stack = sourceMappedStack(err.stack);
    throw err;
  }
}

async function handleEvent(kind: EventKind, event: unknown, issuer: Issuer): Promise<unknown> {
  switch (kind) {
    case "ensure-keys": {
      const result = await ridingOutIamPropagation(() => issuer.keys.ensureKeys());
      await ridingOutIamPropagation(() => issuer.clients.digester.ensurePepper());
      // Always, not only on a change: a deploy may change the issuer URL or the metadata.
      const documents = await ridingOutIamPropagation(() => publishWellKnownDocuments(issuer));
      log.info("ensure-keys", { ...result, documents: documents.published });
      await reportSigningKeyAge(issuer.keys);
      return { ok: true, action: "ensure-keys", ...result, documents: documents.published };
    }
    case "report-key-age": {
      const ageSeconds = await reportSigningKeyAge(issuer.keys);
      return { ok: ageSeconds !== undefined, action: "report-key-age", ...(ageSeconds !== undefined ? { ageSeconds } : {}) };
    }
    case "ensure-client": {
      const result = await handleDeclaredClientEvent(issuer, event as Parameters<typeof handleDeclaredClientEvent>[1]);
      log.info(result.action, { ...result });
      return { ok: true, ...result };
    }
    case "revoke": {
      const kid = (event as { kid?: unknown }).kid;
      if (typeof kid !== "string" || !kid) throw new Error("revoke needs the kid of the key to revoke");
      const result = await issuer.keys.revoke(kid);
      const documents = await publishWellKnownDocuments(issuer, { invalidate: true });
      log.warn("key revoked", { kid, ...result, invalidationId: documents.invalidationId });
      return { ok: true, action: "revoke", ...result, documents: documents.published, invalidationId: documents.invalidationId };
    }
    case "smoke": {
      // Under this version's own role: the keyring, the signing key (S3 + KMS), the JWKS.
      await issuer.keys.signingKey();
      await issuer.keys.jwks();
      return { ok: true, action: "smoke" };
    }
    case "rotate": {
      const force = (event as { force?: unknown }).force === true;
      try {
        const result = await issuer.keys.rotate({ force });
        const documents = result.changed ? await publishWellKnownDocuments(issuer) : { published: [] };
        log.info("rotation", { ...result, documents: documents.published });
        await reportSigningKeyAge(issuer.keys);
        return { ok: true, action: "rotate", ...result, documents: documents.published };
      } catch (err) {
        // A refused rotation is not a failure to retry: report it and let the next run try.
        if (err instanceof RotationRefused) {
          log.warn("rotation refused", { reason: err.message });
          return { ok: false, action: "rotate", changed: false, reason: err.message };
        }
        throw err;
      }
    }
    default:
      log.error("unrecognised event", { keys: Object.keys((event ?? {}) as object).slice(0, 10) });
      throw new Error("latchkey: unrecognised event shape");
  }
}

/**
 * On a brand-new stack the deploy hook can run seconds after its role policy was created,
 * before IAM has propagated it; AccessDenied then is transient. Retry it for up to ~30 s.
 */
export async function ridingOutIamPropagation<T>(work: () => Promise<T>, delaysMs = [1000, 2000, 4000, 8000, 15000]): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      const name = (err as { name?: string }).name ?? "";
      const delay = delaysMs[attempt];
      if (!/^AccessDenied/.test(name) || delay === undefined) throw err;
      log.warn("access denied during deploy hook; waiting for IAM propagation", { attempt: attempt + 1, delayMs: delay });
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
