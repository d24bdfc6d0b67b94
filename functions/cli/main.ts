/**
 * The admin CLI: `npx latchkey <area> <command> [flags]` in this repository. Prints JSON on
 * stdout. Exit codes: 0 done, 1 usage (a mistake on the command line; stderr says which and
 * how to get help), 2 failure (understood, but it could not be done: refused, not found,
 * unreachable). Areas are registered below; each declares its commands and flags in a table
 * (see command-line.ts).
 */
import { readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { contextMode, setContextMode, setLogLevel, withRequestContext } from "../log.js";
import { flushAuditTrail } from "../observability/audit.js";
import { areaUsage, CommandFailed, commandUsage, parseCommand, suggest, UsageError, type Area } from "./command-line.js";
import { keys } from "./keys.js";
import { clients } from "./clients.js";
import { token } from "./token.js";
import { users } from "./users.js";

export const areas: Record<string, Area> = { keys, clients, users, token };

function overview(): string {
  return [
    "usage: latchkey <area> <command> [flags]",
    "",
    areaUsage(areas),
    "",
    "  latchkey help [<area> [<command>]]  more about one area or command",
    "  latchkey --version",
    "",
    "Keys and clients act on the instance `npm start` runs in this directory, or on a deployed",
    "stack given by --table, --bucket, --region (or LATCHKEY_TABLE, LATCHKEY_KEY_BUCKET, AWS_REGION).",
    "Exit codes: 0 done, 1 usage, 2 failure.",
  ].join("\n");
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return `latchkey ${pkg.version}`;
}

/** Help for `help`, `help <area>`, `help <area> <command>`; a UsageError for names that do not exist. */
function helpFor(words: string[]): string {
  const [areaName, verb] = words;
  if (!areaName) return overview();
  const area = lookupArea(areaName);
  if (verb === undefined || "" in area.commands) return "" in area.commands ? commandUsage(areaName, "", area) : `usage:\n${areaUsage({ [areaName]: area })}`;
  return commandUsage(areaName, lookupVerb(areaName, area, verb), area);
}

function lookupArea(name: string): Area {
  const area = areas[name];
  if (!area) throw new UsageError(`unknown command ${name}${suggest(name, Object.keys(areas), "")}\n\n${overview()}`);
  return area;
}

function lookupVerb(areaName: string, area: Area, verb: string | undefined): string {
  if (verb === undefined) throw new UsageError(`\`latchkey ${areaName}\` needs a command:\n${areaUsage({ [areaName]: area })}`);
  if (!Object.hasOwn(area.commands, verb) || verb === "") {
    throw new UsageError(`unknown command \`latchkey ${areaName} ${verb}\`${suggest(verb, Object.keys(area.commands), "")}\n${areaUsage({ [areaName]: area })}`);
  }
  return verb;
}

export interface Output {
  stdout(text: string): void;
  stderr(text: string): void;
}

const processOutput: Output = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

/** Runs one command line; returns the exit code. */
export async function run(argv: string[], out: Output = processOutput): Promise<number> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  setLogLevel("warn");
  const [first, ...rest] = argv;
  let usageHint = "`latchkey help`";
  try {
    if (first === undefined) {
      out.stderr(overview() + "\n");
      return 1;
    }
    if (first === "--version") {
      out.stdout(version() + "\n");
      return 0;
    }
    if (first === "help" || first === "--help" || first === "-h") {
      out.stdout(helpFor(rest) + "\n");
      return 0;
    }
    const area = lookupArea(first);
    let verb = "";
    let tail = rest;
    if (!("" in area.commands)) {
      if (rest[0] === "--help" || rest[0] === "-h") {
        out.stdout(helpFor([first]) + "\n");
        return 0;
      }
      verb = lookupVerb(first, area, rest[0]);
      tail = rest.slice(1);
    }
    usageHint = `\`latchkey ${[first, verb].filter(Boolean).join(" ")} --help\``;
    const invocation = parseCommand(first, verb, area, tail);
    if (invocation.help) {
      out.stdout(commandUsage(first, verb, area) + "\n");
      return 0;
    }
    // Audit records of what the command changes carry its own request id and name, and go to
    // stderr: stdout carries the command's JSON.
    const context = { requestId: randomUUID(), route: `cli ${[first, verb].filter(Boolean).join(" ")}`, records: { write: (line: string) => out.stderr(line) } };
    // One command at a time: what it writes finds its context in the slot. The mode is put back
    // afterwards, for a process that runs commands beside other work (tests, an embedding).
    const mode = contextMode();
    setContextMode("sequential");
    const result = await withRequestContext(context, async () => {
      try {
        return await invocation.command.run(invocation.args, invocation.flags, {
          note: (message) => out.stderr(`latchkey: note: ${message}\n`),
        });
      } finally {
        await flushAuditTrail();
      }
    }).finally(() => setContextMode(mode));
    out.stdout(JSON.stringify(result, null, 2) + "\n");
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      const hint = err.message.includes("\n") ? "" : ` (see ${usageHint})`;
      out.stderr(`latchkey: ${err.message}${hint}\n`);
      return 1;
    }
    if (err instanceof CommandFailed) {
      out.stderr(`latchkey: ${err.message}\n`);
      return 2;
    }
    out.stderr(`latchkey: ${(err as Error).name}: ${(err as Error).message}\n`);
    return 2;
  }
}
