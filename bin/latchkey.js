#!/usr/bin/env node
// The admin CLI. Runs the TypeScript sources through tsx, so no build step is needed; it
// works in a Latchkey checkout, not from the installed SDK package (which ships no sources).
import { existsSync } from "node:fs";

const main = new URL("../functions/cli/main.ts", import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    "latchkey: the admin CLI runs in a Latchkey checkout (npx latchkey there, after npm ci).\n" +
      "This installed package is the SDK: import from latchkey/client and latchkey/verifier.\n",
  );
  process.exit(1);
}
const { tsImport } = await import("tsx/esm/api");
const { run } = await tsImport(main.href, import.meta.url);
process.exitCode = await run(process.argv.slice(2));
