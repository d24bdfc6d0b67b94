/**
 * The local issuer as a newcomer runs it: a directory that behaves like a checkout (the
 * repository's `npm start` script, `npx latchkey` as this package's bin), and `npm start`
 * (or the same command without npm) started there, ready once it prints its URL.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const repo = resolve(import.meta.dirname, "../..");
const manifest = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { scripts: { start: string }; bin: Record<string, string> };

/** A fresh directory with the checkout's package.json essentials, node_modules, functions and bin. */
export async function checkoutDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "latchkey-checkout-"));
  await writeFile(join(dir, "package.json"), JSON.stringify({ name: "latchkey", private: true, type: "module", bin: manifest.bin, scripts: { start: manifest.scripts.start } }));
  for (const d of ["node_modules", "functions", "bin"]) await symlink(join(repo, d), join(dir, d));
  return dir;
}

export interface LocalInstance {
  child: ChildProcess;
  output(): string;
  /** The issuer URL it printed; rejects if it exits first. */
  ready: Promise<string>;
  exited: Promise<number | null>;
}

/** `npm start` ("npm") or the command it runs ("node": the script's own arguments) in `cwd`, with PORT=`port`. */
export function startLocal(cwd: string, port: string, via: "npm" | "node"): LocalInstance {
  const env = { ...process.env, PORT: port, LATCHKEY_LOG_LEVEL: "warn" };
  const child =
    via === "npm"
      ? spawn("npm", ["start", "--silent"], { cwd, env })
      : spawn(process.execPath, manifest.scripts.start.split(/\s+/).slice(1), { cwd, env });
  let output = "";
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const ready = new Promise<string>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start printed no URL in 30 s:\n${output}`)), 30_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = /running at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolvePromise(m[1]!);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code}:\n${output}`));
    });
  });
  ready.catch(() => undefined);
  return { child, output: () => output, ready, exited };
}
