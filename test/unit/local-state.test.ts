/** `.latchkey/local.json`: one owner per directory, stale files taken over, only the owner removes it. */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { claimLocalState, LocalInstanceRunning, readLocalState, releaseLocalState } from "../../functions/local/state.js";

const fileIn = () => join(mkdtempSync(join(tmpdir(), "latchkey-state-")), ".latchkey", "local.json");
/** A pid that is certainly not running: a child that has already exited. */
const deadPid = () => spawnSync(process.execPath, ["-e", ""]).pid!;

describe("local instance state", () => {
  it("claims a free directory, private to its owner", () => {
    const file = fileIn();
    claimLocalState({ pid: process.pid, issuer: "http://127.0.0.1:3000" }, file);
    expect(readLocalState(file)).toEqual({ pid: process.pid, issuer: "http://127.0.0.1:3000" });
    expect(statSync(file).mode & 0o077).toBe(0);
  });

  it("refuses while the owner runs, naming it, and leaves its file as it was", () => {
    const file = fileIn();
    mkdirSync(join(file, ".."), { recursive: true });
    const running = { pid: process.ppid, issuer: "http://127.0.0.1:3000", env: { A: "1" } };
    writeFileSync(file, JSON.stringify(running));
    expect(() => claimLocalState({ pid: process.pid, issuer: "http://127.0.0.1:4000" }, file)).toThrow(LocalInstanceRunning);
    expect(() => claimLocalState({ pid: process.pid, issuer: "http://127.0.0.1:4000" }, file)).toThrow(`http://127.0.0.1:3000 (pid ${process.ppid})`);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(running);
  });

  it("takes over a file whose process is gone", () => {
    const file = fileIn();
    mkdirSync(join(file, ".."), { recursive: true });
    writeFileSync(file, JSON.stringify({ pid: deadPid(), issuer: "http://127.0.0.1:3000" }));
    claimLocalState({ pid: process.pid, issuer: "http://127.0.0.1:4000" }, file);
    expect(readLocalState(file)?.issuer).toBe("http://127.0.0.1:4000");
  });

  it("only the owner removes the file", () => {
    const file = fileIn();
    claimLocalState({ pid: process.ppid, issuer: "http://127.0.0.1:3000" }, file);
    releaseLocalState(process.pid, file);
    expect(existsSync(file)).toBe(true);
    releaseLocalState(process.ppid, file);
    expect(existsSync(file)).toBe(false);
  });
});
