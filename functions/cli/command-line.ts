/**
 * The admin CLI's grammar: areas (`keys`, `clients`, `token`, ...) hold commands, and each
 * command declares its own flags and positional arguments in one table. Parsing is per
 * command, so a flag another command owns is an error here, with a suggestion.
 *
 * Adding a flag is one line in a command's `flags`; adding an area is one entry in
 * `main.ts`'s `areas`.
 */

/** A mistake on the command line: exit code 1, with the command's usage. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The command was understood but could not be carried out: exit code 2. */
export class CommandFailed extends Error {
  override name = "CommandFailed";
}

export interface FlagSpec {
  type: "string" | "boolean";
  /** Shown in help after the flag, e.g. `SECONDS`. */
  value?: string;
  help: string;
}

export interface ArgSpec {
  name: string;
  /**
   * What a value of this argument looks like. A token that starts with `-` but is not a flag
   * of the command is taken as this argument when it matches (base64url key ids often start
   * with `-`), so ids work as pasted, with no `--`.
   */
  pattern?: RegExp;
}

export type FlagValues = Record<string, string | boolean | undefined>;

export interface Command {
  /** One line: what it does. */
  summary: string;
  args?: ArgSpec[];
  flags?: Record<string, FlagSpec>;
  run(args: Record<string, string>, flags: FlagValues, notes: Notes): Promise<unknown>;
}

/** Where a command says something beside its JSON result (stderr). */
export interface Notes {
  note(message: string): void;
}

export interface Area {
  summary: string;
  /**
   * Commands by verb. An area that is itself one command (`token`) has a single command
   * under the verb "" (the empty string).
   */
  commands: Record<string, Command>;
  /** Flags every command of the area accepts (e.g. where the stack is). */
  sharedFlags?: Record<string, FlagSpec>;
}

export interface Invocation {
  command: Command;
  args: Record<string, string>;
  flags: FlagValues;
  help: boolean;
}

/** Parses `argv` (after area and verb) against one command's declaration. */
export function parseCommand(area: string, verb: string, spec: Area, argv: string[]): Invocation {
  const command = spec.commands[verb]!;
  const flags: Record<string, FlagSpec> = { ...spec.sharedFlags, ...command.flags };
  const argSpecs = command.args ?? [];
  const values: FlagValues = {};
  const positionals: string[] = [];
  let help = false;
  const name = [area, verb].filter(Boolean).join(" ");
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (token === "--help" || token === "-h") {
      help = true;
      continue;
    }
    const next = argSpecs[positionals.length];
    if (token.startsWith("-") && token.length > 1) {
      const eq = token.indexOf("=");
      const flagName = token.replace(/^--?/, "").split("=")[0]!;
      const flag = token.startsWith("--") ? flags[flagName] : undefined;
      if (!flag) {
        if (next?.pattern?.test(token)) {
          positionals.push(token);
          continue;
        }
        const owner = Object.entries(spec.commands).find(([, c]) => c.flags && Object.hasOwn(c.flags, flagName))?.[0];
        const hint = owner !== undefined ? ` (it belongs to \`latchkey ${[area, owner].filter(Boolean).join(" ")}\`)` : suggest(flagName, Object.keys(flags));
        throw new UsageError(`${token.split("=")[0]} is not a flag of \`latchkey ${name}\`${hint}`);
      }
      if (flag.type === "boolean") {
        if (eq > 0) throw new UsageError(`--${flagName} takes no value`);
        values[flagName] = true;
        continue;
      }
      const value = eq > 0 ? token.slice(eq + 1) : argv[++i];
      if (value === undefined || (eq < 0 && value.startsWith("--") && flags[value.slice(2).split("=")[0]!])) {
        throw new UsageError(`--${flagName} needs a value${flag.value ? ` (${flag.value})` : ""}`);
      }
      if (values[flagName] !== undefined) throw new UsageError(`--${flagName} is given twice`);
      values[flagName] = value;
      continue;
    }
    positionals.push(token);
  }
  if (help) return { command, args: {}, flags: values, help };
  if (positionals.length > argSpecs.length) {
    throw new UsageError(`unexpected argument ${positionals[argSpecs.length]} for \`latchkey ${name}\``);
  }
  const args: Record<string, string> = {};
  argSpecs.forEach((a, i) => {
    const v = positionals[i];
    if (v === undefined) throw new UsageError(`\`latchkey ${name}\` needs <${a.name}>`);
    args[a.name] = v;
  });
  return { command, args, flags: values, help };
}

/** ` (did you mean --scopes?)` when a known name is close to what was typed. */
export function suggest(typed: string, known: string[], prefix = "--"): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = k.startsWith(typed) || typed.startsWith(k) ? Math.min(1, editDistance(typed, k)) : editDistance(typed, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(typed.length / 3)) ? ` (did you mean ${prefix}${best}?)` : "";
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}

/** Usage text for one command: its synopsis and one line per flag. */
export function commandUsage(area: string, verb: string, spec: Area): string {
  const command = spec.commands[verb]!;
  const flags = { ...command.flags, ...spec.sharedFlags };
  const synopsis = [
    "latchkey",
    area,
    verb,
    ...(command.args ?? []).map((a) => `<${a.name}>`),
    ...Object.entries(command.flags ?? {}).map(([n, f]) => `[--${n}${f.type === "string" ? ` ${f.value ?? "VALUE"}` : ""}]`),
  ]
    .filter(Boolean)
    .join(" ");
  const width = Math.max(0, ...Object.entries(flags).map(([n, f]) => flagLabel(n, f).length));
  return [
    `usage: ${synopsis}`,
    `  ${command.summary}`,
    ...(Object.keys(flags).length ? ["", ...Object.entries(flags).map(([n, f]) => `  ${flagLabel(n, f).padEnd(width)}  ${f.help}`)] : []),
  ].join("\n");
}

/** Usage text for areas: one aligned line per command. */
export function areaUsage(areas: Record<string, Area>): string {
  const lines = Object.entries(areas).flatMap(([area, spec]) =>
    Object.entries(spec.commands).map(([verb, c]) => {
      const synopsis = ["latchkey", area, verb, ...(c.args ?? []).map((a) => `<${a.name}>`)].filter(Boolean).join(" ");
      return [synopsis, c.summary] as const;
    }),
  );
  const width = Math.max(...lines.map(([s]) => s.length));
  return lines.map(([s, summary]) => `  ${s.padEnd(width)}  ${summary}`).join("\n");
}

function flagLabel(name: string, f: FlagSpec): string {
  return `--${name}${f.type === "string" ? ` ${f.value ?? "VALUE"}` : ""}`;
}
