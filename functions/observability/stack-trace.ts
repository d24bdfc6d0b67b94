/**
 * Stack traces that name the TypeScript sources, read from the bundle's source maps only when
 * a stack is logged. The functions no longer run with `--enable-source-maps`: with it, Node
 * reads and parses the map of every module at import, ~35-55 ms of each cold start for maps
 * that matter only on the rare error whose stack is logged (measured 2026-12-07, issue 15).
 * Here the map of a file is read the first time one of its frames is printed, then kept.
 *
 * A frame whose file has no `.map` beside it (node's internals, the local server's TypeScript
 * under tsx, which maps its own) is left as it is.
 *
 * @example
 *   log.error("unhandled error", { stack: sourceMappedStack(err.stack) });
 *   // at handleEvent (file:///var/task/index.mjs:1:2345) -> at handleEvent (functions/lambda.ts:141:9)
 */
import { readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { fileURLToPath } from "node:url";

/** Keyed by the generated file's path; null when it has no readable map. One per bundle file. */
const maps = new Map<string, SourceMap | null>();

/** `(file:///x/index.mjs:1:2345)` or ` /x/index.mjs:1:2345` at the end of a frame line. */
const FRAME_LOCATION = /(file:\/\/[^\s()]+|\/[^\s():]+):(\d+):(\d+)(?=\)?$)/;

export function sourceMappedStack(stack: string | undefined): string | undefined {
  if (!stack) return stack;
  return stack
    .split("\n")
    .map((frame) => frame.replace(FRAME_LOCATION, (location: string, file: string, line: string, column: string) => original(file, +line, +column) ?? location))
    .join("\n");
}

/** `functions/x.ts:line:column` for a generated position (1-based, as V8 prints it). */
function original(file: string, line: number, column: number): string | undefined {
  const path = file.startsWith("file:") ? fileURLToPath(file) : file;
  const entry = mapOf(path)?.findEntry(line - 1, column - 1);
  // {} before the first mapping; past the last mapped line, that line's last entry (not this frame's).
  if (!entry || !("originalSource" in entry) || entry.generatedLine !== line - 1) return undefined;
  // esbuild writes sources relative to the map: "../../functions/lambda.ts" from dist/lambda/.
  return `${entry.originalSource.replace(/^(\.\.\/)+/, "")}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
}

function mapOf(path: string): SourceMap | null {
  let map = maps.get(path);
  if (map === undefined) {
    try {
      map = new SourceMap(JSON.parse(readFileSync(`${path}.map`, "utf8")));
    } catch {
      map = null; // no map, or not one node can read: the frame stays as V8 printed it
    }
    maps.set(path, map);
  }
  return map;
}
