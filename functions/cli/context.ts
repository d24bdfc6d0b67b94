/**
 * Where the CLI acts: the local instance started by `npm start` in this directory (found via
 * `.latchkey/local.json`), or a deployed stack named by flags or environment variables
 * (LATCHKEY_TABLE, LATCHKEY_KEY_BUCKET, AWS_REGION, LATCHKEY_ISSUER).
 */
import { existsSync, readFileSync } from "node:fs";
import { loadConfig, type Config } from "../config.js";
import { createIssuer, type Issuer } from "../issuer.js";
import { LOCAL_STATE_FILE } from "../local/state.js";
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

export function resolveConfig(flags: TargetFlags, env: Record<string, string | undefined> = process.env): { config: Config; target: string } {
  const explicit = flags.table || flags.bucket || env.LATCHKEY_TABLE;
  let base: Record<string, string | undefined> = { ...env };
  let target = "environment";
  if (!explicit && existsSync(LOCAL_STATE_FILE)) {
    const local = JSON.parse(readFileSync(LOCAL_STATE_FILE, "utf8")) as { pid: number; env: Record<string, string> };
    if (!isAlive(local.pid)) {
      throw new CommandFailed(`${LOCAL_STATE_FILE} names a local instance (pid ${local.pid}) that is not running; start it with npm start`);
    }
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
  return { config: loadConfig(merged), target };
}

export function openIssuer(flags: TargetFlags | Record<string, string | boolean | undefined>): Issuer & { target: string } {
  const { config, target } = resolveConfig(flags as TargetFlags);
  return { ...createIssuer(config), target };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
