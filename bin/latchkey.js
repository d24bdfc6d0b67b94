#!/usr/bin/env node
// The admin CLI. Runs the TypeScript sources through tsx so no build step is needed.
import { tsImport } from "tsx/esm/api";

await tsImport("../functions/cli/main.ts", import.meta.url);
