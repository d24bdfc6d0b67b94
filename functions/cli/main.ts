/**
 * The admin CLI: `npx latchkey <area> <command> [flags]`. Prints JSON on stdout; errors go to
 * stderr with exit code 1 (usage) or 2 (failure). Commands are registered per area below.
 */
import { parseArgs } from "node:util";
import { setLogLevel } from "../log.js";
import { UsageError } from "./context.js";
import { keysCommand, usage as keysUsage } from "./keys.js";
import { clientsCommand, flags as clientFlags, usage as clientsUsage } from "./clients.js";
import { tokenCommand, flags as tokenFlags, usage as tokenUsage } from "./token.js";

type Command = (args: string[], flags: Record<string, string | boolean | undefined>) => Promise<unknown>;

export const commands: Record<string, { run: Command; usage: string }> = {
  keys: { run: keysCommand as Command, usage: keysUsage },
  clients: { run: clientsCommand as Command, usage: clientsUsage },
  token: { run: tokenCommand as Command, usage: tokenUsage },
};

/** Flags every command understands; commands add their own. */
export const commonFlags = {
  table: { type: "string" },
  bucket: { type: "string" },
  region: { type: "string" },
  issuer: { type: "string" },
  force: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

const extraFlags = { ...clientFlags, ...tokenFlags } as const;

function help(): string {
  return [
    "usage: latchkey <command> [flags]",
    "",
    ...Object.values(commands).map((c) => c.usage),
    "",
    "Target: the instance started by `npm start` in this directory, or a deployed stack via",
    "--table, --bucket, --region (or LATCHKEY_TABLE, LATCHKEY_KEY_BUCKET, AWS_REGION).",
  ].join("\n");
}

export async function run(argv: string[]): Promise<number> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  setLogLevel("warn");
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...commonFlags, ...extraFlags }, allowPositionals: true, strict: true });
  } catch (err) {
    process.stderr.write(`latchkey: ${(err as Error).message}\n\n${help()}\n`);
    return 1;
  }
  const [area, ...rest] = parsed.positionals;
  if (parsed.values.help || !area) {
    process.stdout.write(help() + "\n");
    return area || parsed.values.help ? 0 : 1;
  }
  const command = commands[area];
  if (!command) {
    process.stderr.write(`latchkey: unknown command ${area}\n\n${help()}\n`);
    return 1;
  }
  try {
    const out = await command.run(rest, parsed.values as Record<string, string | boolean | undefined>);
    process.stdout.write(JSON.stringify(out, null, 2) + "\n");
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`latchkey: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`latchkey: ${(err as Error).name}: ${(err as Error).message}\n`);
    return 2;
  }
}

process.exitCode = await run(process.argv.slice(2));
