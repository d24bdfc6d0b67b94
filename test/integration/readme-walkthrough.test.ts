/**
 * README's shell walkthrough, run as a newcomer runs it: every ```sh block of "Try it with
 * curl" and "Machine clients", in order, in one shell, in a directory where the local issuer
 * runs (so `npx latchkey` acts on it). The comment lines right under a command are what it
 * prints: JSON compared by shape (`…` inside a string matches anything there, a bare `…`
 * member allows more members, everything else is exact, key sets included), or text. Then the
 * openid-client example runs with the client that walkthrough created.
 */
import { execFile } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { skipIntegration } from "../support/issuer.js";
import { checkoutDir, repo, startLocal, type LocalInstance } from "../support/local-instance.js";

const run = promisify(execFile);
const README_ISSUER = "http://127.0.0.1:3000";

interface Step {
  command: string;
  /** What README says it prints; undefined when README shows nothing. */
  expected?: string;
}

/** The ```sh blocks of one README section, split into commands and the output shown under each. */
export function steps(readme: string, heading: string): Step[] {
  const start = readme.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README has no section ${heading}`);
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const found: Step[] = [];
  for (const block of section.matchAll(/```sh\n([\s\S]*?)```/g)) {
    let current: Step | undefined;
    let continued = false;
    for (const line of block[1]!.split("\n")) {
      if (continued) {
        current!.command += `\n${line}`;
        continued = line.endsWith("\\");
      } else if (line.startsWith("#")) {
        // A comment right under a command (no blank line) is that command's output.
        if (current && (current.expected !== undefined || !current.command.endsWith("\n"))) {
          const text = line.replace(/^# ?/, "");
          current.expected = current.expected === undefined ? text : `${current.expected}\n${text}`;
        }
      } else if (line.trim() === "") {
        if (current) current.command += "\n";
        current = undefined;
      } else {
        current = { command: line };
        found.push(current);
        continued = line.endsWith("\\");
      }
    }
  }
  return found.map((s) => ({ ...s, command: s.command.trimEnd() }));
}

const MORE = "\u0000more";
const ANY = "\u0000any";

/** README's JSON-with-ellipses as a value: bare `…` members become markers. */
function parseShape(text: string): unknown {
  let out = "";
  let inString = false;
  const stack: string[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === "\\") out += text[++i] ?? "";
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === "{" || c === "[") stack.push(c);
    else if (c === "}" || c === "]") stack.pop();
    if (c === "…") out += stack.at(-1) === "{" ? JSON.stringify(MORE) + ":true" : JSON.stringify(ANY);
    else out += c;
  }
  return JSON.parse(out);
}

/** Differences between what README shows and what was printed ([] when they agree). */
export function compareShape(shape: unknown, actual: unknown, path = "$"): string[] {
  if (typeof shape === "string") {
    if (typeof actual !== "string") return [`${path}: README shows a string, got ${JSON.stringify(actual)}`];
    const pattern = new RegExp(`^${shape.split("…").map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("[\\s\\S]*")}$`);
    return pattern.test(actual) ? [] : [`${path}: README shows ${JSON.stringify(shape)}, got ${JSON.stringify(actual)}`];
  }
  if (Array.isArray(shape)) {
    if (!Array.isArray(actual)) return [`${path}: README shows an array, got ${JSON.stringify(actual)}`];
    if (shape.includes(ANY)) return [];
    if (shape.length !== actual.length) return [`${path}: README shows ${shape.length} items, got ${actual.length}`];
    return shape.flatMap((s, i) => compareShape(s, actual[i], `${path}[${i}]`));
  }
  if (shape && typeof shape === "object") {
    if (!actual || typeof actual !== "object" || Array.isArray(actual)) return [`${path}: README shows an object, got ${JSON.stringify(actual)}`];
    const open = MORE in shape;
    const shown = Object.keys(shape).filter((k) => k !== MORE);
    const problems = shown.flatMap((k) => (k in actual ? compareShape((shape as Record<string, unknown>)[k], (actual as Record<string, unknown>)[k], `${path}.${k}`) : [`${path}.${k}: README shows it, the output has no such member`]));
    if (!open) for (const k of Object.keys(actual)) if (!shown.includes(k)) problems.push(`${path}.${k}: printed, but README does not show it`);
    return problems;
  }
  return Object.is(shape, actual) ? [] : [`${path}: README shows ${JSON.stringify(shape)}, got ${JSON.stringify(actual)}`];
}

function compareOutput(expected: string, printed: string): string[] {
  if (/^[{[]/.test(expected)) {
    let actual: unknown;
    try {
      actual = JSON.parse(printed);
    } catch {
      return [`README shows JSON, the command printed: ${printed}`];
    }
    return compareShape(parseShape(expected), actual);
  }
  return compareShape(expected, printed);
}

describe("README shape comparison", () => {
  it("matches wildcards, open objects and exact members, and reports the rest", () => {
    expect(compareOutput('{"a":"lkr_…","b":900, …}', '{"a":"lkr_x","b":900,"c":1}')).toEqual([]);
    expect(compareOutput('{"a":"lkr_…"}', '{"a":"lks_x"}')).toEqual(['$.a: README shows "lkr_…", got "lks_x"']);
    expect(compareOutput('{"a":1}', '{"a":1,"c":2}')).toEqual(["$.c: printed, but README does not show it"]);
    expect(compareOutput('{"a":1,"c":2}', '{"a":1}')).toEqual(["$.c: README shows it, the output has no such member"]);
    expect(compareOutput('{"k":[{"x":"…"}]}', '{"k":[{"x":"1"},{"x":"2"}]}')).toEqual(["$.k: README shows 1 items, got 2"]);
    expect(compareOutput("200", "200")).toEqual([]);
    expect(compareOutput("200", "401")).toHaveLength(1);
  });

  it("splits blocks into commands with the output under each", () => {
    const readme = "\n## S\n```sh\nA=1\n\n# prose\ncurl x \\\n  -d y\n# {\"a\":1}\n# more\n\n# prose\nls\n```\n## T\n";
    expect(steps(readme, "S")).toEqual([{ command: "A=1" }, { command: "curl x \\\n  -d y", expected: '{"a":1}\nmore' }, { command: "ls" }]);
  });
});

describe.skipIf(skipIntegration)("README walkthrough: Try it with curl, then Machine clients", () => {
  let dir: string;
  let server: LocalInstance;
  let url: string;
  let readme: string;

  beforeAll(async () => {
    readme = await readFile(join(repo, "README.md"), "utf8");
    dir = await checkoutDir();
    server = startLocal(dir, "0", "node");
    url = await server.ready;
  }, 60_000);

  afterAll(async () => {
    server?.child.kill("SIGTERM");
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("every command prints what README shows under it", async () => {
    const all = [...steps(readme, "Try it with curl"), ...steps(readme, "Machine clients")];
    expect(all.filter((s) => s.expected !== undefined).length).toBeGreaterThanOrEqual(10);
    const marker = (i: number) => `@@latchkey-step-${i}@@`;
    const script = [
      "set -eo pipefail",
      ...all.flatMap((s, i) => [s.command.replaceAll(README_ISSUER, url), `printf '\\n${marker(i)}\\n'`]),
      // Hand the client to the openid-client example.
      'printf "%s\\n%s\\n" "$CLIENT_ID" "$CLIENT_SECRET"',
    ].join("\n");
    const result = await run("bash", ["-c", script], { cwd: dir, env: { ...process.env, LATCHKEY_LOG_LEVEL: "warn" }, timeout: 60_000 }).catch((e: { stdout: string; stderr: string; code: number }) => e);
    const stdout = result.stdout;
    const outputs = stdout.split(/\n@@latchkey-step-\d+@@\n/);
    const reached = outputs.length - 1;
    expect(reached, `stopped at: ${all[reached]?.command}\n${(result as { stderr: string }).stderr}`).toBe(all.length);
    const problems = all.flatMap((s, i) =>
      s.expected === undefined ? [] : compareOutput(s.expected.replaceAll(README_ISSUER, url), outputs[i]!.trim()).map((p) => `${s.command.split("\n")[0]}\n    ${p}`),
    );
    expect(problems).toEqual([]);

    // The openid-client example, with the client the walkthrough created.
    const [clientId, clientSecret] = outputs.at(-1)!.trim().split("\n");
    const example = /<!-- example: openid-client -->\n```js\n([\s\S]*?)```/.exec(readme)![1]!;
    const exampleDir = join(repo, ".latchkey/readme-walkthrough");
    await mkdir(exampleDir, { recursive: true });
    const file = join(exampleDir, `openid-client-${process.pid}.mjs`);
    await writeFile(file, example);
    try {
      const { stdout: printed } = await run(process.execPath, [file], { env: { ...process.env, ISSUER: url, CLIENT_ID: clientId, CLIENT_SECRET: clientSecret } });
      expect(printed.trim()).toBe("3");
    } finally {
      await rm(file, { force: true });
    }
  });
});
