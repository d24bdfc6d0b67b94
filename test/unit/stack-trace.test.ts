/**
 * Logged stacks name the TypeScript sources without --enable-source-maps
 * (functions/observability/stack-trace.ts): a module built as the router is (minified, names
 * kept, maps without the sources' text) throws in a plain node process, as on Lambda (vitest
 * itself maps stacks), and the stack it printed is mapped back here.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sourceMappedStack } from "../../functions/observability/stack-trace.js";

let dir: string;
/** The stack as a plain node process printed it. */
let printed: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "latchkey-stack-"));
  writeFileSync(
    join(dir, "thrower.ts"),
    ["export class Boom extends Error {}", "", "/** Throws from line 5. */", "export function explodeHere(): never {", '  throw new Boom("kaboom");', "}", ""].join("\n"),
  );
  await build({ entryPoints: [join(dir, "thrower.ts")], outfile: join(dir, "out", "thrower.mjs"), bundle: true, format: "esm", platform: "node", minify: true, keepNames: true, sourcemap: true, sourcesContent: false, logLevel: "silent" });
  const probe = `const { explodeHere } = await import(${JSON.stringify(pathToFileURL(join(dir, "out", "thrower.mjs")).href)}); try { explodeHere(); } catch (err) { process.stdout.write(err.stack); }`;
  printed = execFileSync(process.execPath, ["--input-type=module", "-e", probe], { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("sourceMappedStack", () => {
  it("names the source file, line and column of a frame in a built file with a map beside it", () => {
    expect(printed).toMatch(/thrower\.mjs:1:\d+\)/); // as V8 prints it: the minified position
    const mapped = sourceMappedStack(printed)!;
    expect(mapped.split("\n")[1]).toMatch(/^\s+at (Module\.)?explodeHere \(thrower\.ts:5:9\)$/);
    expect(mapped.split("\n")[0]).toBe("Error: kaboom"); // the message line is untouched
  });

  it("leaves frames it cannot map as they are: no map beside the file, node's internals, TypeScript", () => {
    const stack = [
      "Error: x",
      "    at f (file:///nowhere/bundle.mjs:1:10)",
      "    at /nowhere/plain.js:3:4",
      "    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)",
      "    at g (/work/functions/lambda.ts:12:3)",
    ].join("\n");
    expect(sourceMappedStack(stack)).toBe(stack);
    expect(sourceMappedStack(undefined)).toBeUndefined();
  });

  it("leaves a position the map has no entry for as it is", () => {
    const url = /\((file:[^)]+\.mjs):\d+:\d+\)/.exec(printed.split("\n")[1]!)![1]!;
    const stack = `Error: z\n    at h (${url}:40:1)\n    at i (${url}:1:1)`; // past the last line; before the first mapping
    expect(sourceMappedStack(stack)).toBe(stack);
  });

  it("maps a frame without a function name, written without parentheses", () => {
    const frame = /\((file:[^)]+)\)/.exec(printed.split("\n")[1]!)![1]!;
    expect(sourceMappedStack(`Error: y\n    at ${frame}`)).toBe("Error: y\n    at thrower.ts:5:9");
  });
});
