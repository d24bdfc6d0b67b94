/**
 * Captures the structured log lines an in-process issuer writes (functions/log.ts), so a test
 * can check what went to the log, e.g. the cause of a refusal next to its request id.
 */
import { vi } from "vitest";
import { flushOutput, setLogLevel } from "../../functions/log.js";

export interface LogCapture {
  lines: Record<string, unknown>[];
  /** The line carrying this request id and message, if any. */
  find(requestId: string | null, msg?: string): Record<string, unknown> | undefined;
  stop(): void;
}

export function captureLogs(level: "debug" | "info" | "warn" | "error" = "info"): LogCapture {
  const lines: Record<string, unknown>[] = [];
  const keep = (chunk: unknown) => {
    for (const text of String(chunk).split("\n")) {
      try {
        const line = JSON.parse(text) as unknown;
        if (line && typeof line === "object" && "msg" in line) lines.push(line as Record<string, unknown>);
      } catch {
        // not one of ours
      }
    }
    return true;
  };
  const out = vi.spyOn(process.stdout, "write").mockImplementation(keep);
  const err = vi.spyOn(process.stderr, "write").mockImplementation(keep);
  setLogLevel(level);
  // The local server holds stdout lines for a few milliseconds (functions/log.ts, OUTPUT_FLUSH):
  // what the log holds is what has been written plus what is pending.
  return {
    get lines() {
      flushOutput();
      return lines;
    },
    find(requestId, msg) {
      flushOutput();
      return lines.find((l) => l.requestId === requestId && (msg === undefined || l.msg === msg));
    },
    stop() {
      flushOutput(); // what is pending was written while capturing
      out.mockRestore();
      err.mockRestore();
      setLogLevel("silent");
    },
  };
}
