/**
 * The instruction-count benches need valgrind (Debian's package). Without it they print one
 * JSON document saying so and stop, as every bench prints one document.
 *
 * @example
 *   if (skippedWithoutValgrind("Lambda path in instructions")) return;
 */
import { execFileSync } from "node:child_process";

export function skippedWithoutValgrind(bench: string): boolean {
  try {
    execFileSync("valgrind", ["--version"], { stdio: "ignore" });
    return false;
  } catch {
    process.stdout.write(JSON.stringify({ bench, skipped: "valgrind is not installed (apt-get install valgrind)" }) + "\n");
    return true;
  }
}
