/**
 * `npm run build`: bundles the router (functions/lambda.ts) into dist/lambda/, exactly what
 * the Dockerfile copies into the Lambda image's task root: `index.mjs` (handler
 * `index.handler`), the chunks it imports on first use (`chunks/`), and their source maps.
 * The output directory is emptied first, so nothing stale ships.
 *
 * @example
 *   npm run build   # -> dist/lambda/index.mjs, dist/lambda/chunks/*.mjs, and their .map files
 */
import { readFileSync, rmSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build, type Plugin } from "esbuild";

/**
 * Left out of the bundle and installed beside it in the image (the Dockerfile's
 * RUNTIME_MODULES, which adds what these require at run time). argon2 is a native module;
 * the zxcvbn-ts estimator and password list (functions/users/password-policy.ts) and the
 * confusables data (functions/users/confusables.ts) are required on first use, so a cold start
 * that serves tokens never parses or decompresses them.
 */
export const EXTERNAL_MODULES = ["argon2", "@zxcvbn-ts/language-common", "@zxcvbn-ts/core", "unhomoglyph"];

/** Relative to the repository root. */
export const OUT_DIR = "dist/lambda";

export async function buildRouter(root = process.cwd()): Promise<void> {
  const outdir = resolve(root, OUT_DIR);
  rmSync(outdir, { recursive: true, force: true });
  await build({
    absWorkingDir: root,
    entryPoints: { index: "functions/lambda.ts" },
    outdir: OUT_DIR,
    outExtension: { ".js": ".mjs" },
    // Cold start (issue 15): every dynamic import() becomes a chunk of its own, read only
    // when first used. What a token request never needs (the CloudFront, EventBridge and
    // Secrets Manager SDKs, the OpenAPI generator, the SDK's non-Lambda credential providers)
    // is then not even parsed by a cold start; esbuild otherwise inlines dynamic imports.
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    bundle: true,
    platform: "node",
    target: "node22", // the Lambda base image's runtime
    format: "esm",
    // The AWS SDK and the rest are bundled at their locked versions; CommonJS dependencies
    // inside an ES module still need `require` (createRequire aliased: bundled modules import
    // it too, and an unminified build would otherwise declare it twice).
    banner: { js: "import { createRequire as bannerCreateRequire } from 'node:module'; const require = bannerCreateRequire(import.meta.url);" },
    external: EXTERNAL_MODULES,
    // Cold start (issue 15): the ES module builds ("module") of the AWS SDK tree-shake; the
    // CommonJS ones that esbuild's node default (main, module) picks pull every S3 and DynamoDB
    // command into aggregated clients at import. Minified, the bundle parses in half the time;
    // names are kept for logs and error names.
    mainFields: ["module", "main"],
    minify: process.env.LATCHKEY_BUILD_MINIFY !== "0", // =0 for a profile with readable names
    keepNames: true,
    // Read only when a logged stack is printed (functions/observability/stack-trace.ts), which
    // needs positions, not the sources' text: without it the maps are a third of the size.
    sourcemap: true,
    sourcesContent: false,
    legalComments: "none",
    logLevel: "warning",
    plugins: [httpThroughRequire],
  });
}

/**
 * `node:http` and `node:https`, loaded through `require` instead of as ES modules. On Node 22
 * (the Lambda image's runtime) the ES module facade of `node:http` reads each of its exports,
 * and one is a lazy getter that loads Node's undici (`lazyUndici` in node's lib/http.js): 36-50
 * ms of every cold start for fetch/WebSocket code that a token request never runs (seen in a
 * profile of node 22.23.5's import; issue 15). `require` returns the module object without
 * reading them. The AWS SDK's HTTP handler is what imports them.
 */
const httpThroughRequire: Plugin = {
  name: "http-through-require",
  setup(b) {
    const namespace = "http-through-require";
    b.onResolve({ filter: /^(node:)?https?$/ }, (args) =>
      args.namespace === namespace || args.kind === "require-call" ? undefined : { path: args.path.replace(/^node:/, ""), namespace },
    );
    b.onLoad({ filter: /.*/, namespace }, (args) => ({ contents: `module.exports = require("node:${args.path}");`, loader: "js" }));
  },
};

/**
 * The files a module loads before it runs: itself and, transitively, every chunk it imports
 * statically. For the built entry that is what a cold start reads and parses; dynamically
 * imported chunks are left for their first use. Reads esbuild's output (relative specifiers
 * in `import ... from "./x.mjs"` / `import "./x.mjs"`), not arbitrary JavaScript.
 */
export function staticallyLoaded(entry: string): string[] {
  const reached = new Set<string>();
  const visit = (file: string) => {
    if (reached.has(file)) return;
    reached.add(file);
    for (const m of readFileSync(file, "utf8").matchAll(/(?:^|[;}\n])\s*import\s*(?:[^"'();]*?from\s*)?["'](\.[^"']+)["']/g)) {
      visit(resolve(dirname(file), m[1]!));
    }
  };
  visit(resolve(entry));
  return [...reached];
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await buildRouter();
}
