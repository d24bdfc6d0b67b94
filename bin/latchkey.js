#!/usr/bin/env node
// The admin CLI. Runs the TypeScript sources through tsx so no build step is needed.
import { tsImport } from "tsx/esm/api";

const { run } = await tsImport("../functions/cli/main.ts", import.meta.url);
process.exitCode = await run(process.argv.slice(2));
