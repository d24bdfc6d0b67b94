/**
 * Where the CLI acts: the local instance started by `npm start` in this directory (found via
 * `.latchkey/local.json`), or a deployed stack named by flags or environment variables
 * (LATCHKEY_TABLE, LATCHKEY_KEY_BUCKET, AWS_REGION, LATCHKEY_ISSUER).
 */
import { loadConfig, type Config } from "../config.js";
import { createIssuer, type Issuer } from "../issuer.js";
import { isRunning, LOCAL_STATE_FILE, readLocalState } from "../local/state.js";
import { OAuthError } from "../errors.js";
import { CommandFailed, UsageError, type FlagSpec } from "./command-line.js";

export { CommandFailed, UsageError };

/** Where a command acts, for every command that reads or writes the stack's table and bucket. */
export const targetFlags: Record<string, FlagSpec> = {
  table: { type: "string", value: "NAME", help: "the stack's DynamoDB table (or LATCHKEY_TABLE)" },
  bucket: { type: "string", value: "NAME", help: "the stack's key bucket (or LATCHKEY_KEY_BUCKET)" },
  region: { type: "string", value: "REGION", help: "its AWS region (or AWS_REGION)" },
  issuer: { type: "string", value: "URL", help: "its issuer URL (or LATCHKEY_ISSUER)" },
};

export interface TargetFlags {
  table?: string | undefined;
  bucket?: string | undefined;
  region?: string | undefined;
  issuer?: string | undefined;
}

export function resolveConfig(flags: TargetFlags, env: Record<string, string | undefined> = process.env): { config: Config; target: string; credentials?: Record<string, string> } {
  const explicit = flags.table || flags.bucket || env.LATCHKEY_TABLE;
  let base: Record<string, string | undefined> = { ...env };
  let target = "environment";
  const local = explicit ? undefined : readLocalState();
  if (local) {
    if (!isRunning(local.pid)) {
      throw new CommandFailed(`${LOCAL_STATE_FILE} names a local instance (pid ${local.pid}) that is not running; start it with npm start`);
    }
    if (!local.env) throw new CommandFailed(`the local instance ${local.issuer} (pid ${local.pid}) is still starting; try again in a moment`);
    base = { ...env, ...local.env };
    target = `local instance ${local.env.LATCHKEY_ISSUER}`;
  }
  const merged: Record<string, string | undefined> = {
    ...base,
    ...(flags.table ? { LATCHKEY_TABLE: flags.table } : {}),
    ...(flags.bucket ? { LATCHKEY_KEY_BUCKET: flags.bucket } : {}),
    ...(flags.region ? { AWS_REGION: flags.region } : {}),
    ...(flags.issuer ? { LATCHKEY_ISSUER: flags.issuer } : {}),
  };
  if (!merged.LATCHKEY_TABLE || !merged.LATCHKEY_KEY_BUCKET) {
    throw new CommandFailed(
      "no issuer to act on: run `npm start` in this directory first, or pass --table and --bucket " +
        "(or set LATCHKEY_TABLE and LATCHKEY_KEY_BUCKET) for a deployed stack",
    );
  }
  // Key and client operations do not need the public URL; tokens name it only when issued.
  merged.LATCHKEY_ISSUER ??= "https://issuer.invalid";
  // stdout carries the command's JSON; keep routine logs out of it.
  merged.LATCHKEY_LOG_LEVEL ??= "warn";
  const credentials =
    local?.env?.AWS_ACCESS_KEY_ID && local.env.AWS_SECRET_ACCESS_KEY
      ? { AWS_ACCESS_KEY_ID: local.env.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: local.env.AWS_SECRET_ACCESS_KEY }
      : undefined;
  return { config: loadConfig(merged), target, ...(credentials ? { credentials } : {}) };
}

export function openIssuer(flags: TargetFlags | Record<string, string | boolean | undefined>): Issuer & { target: string } {
  const { config, target, credentials } = resolveConfig(flags as TargetFlags);
  // The local instance's emulators accept only its own credentials (AWS clients read them
  // from the environment); this process acts on that one target only.
  if (credentials) Object.assign(process.env, credentials);
  return { ...createIssuer(config), target };
}

/** The store refuses with OAuthErrors (unknown client or user, a concurrent change): a failure, exit 2. */
export async function failOnOAuthError<T>(op: () => Promise<T>, as: new (message: string) => Error = CommandFailed): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof OAuthError) throw new as(err.description);
    throw err;
  }
}
