/**
 * What only password routes need is loaded on first use, so a cold start that serves tokens
 * never pays for it (issue 15): argon2 (a native module), the zxcvbn-ts estimator and password
 * list, and the confusables data for new usernames. The
 * router bundle leaves both external (infra/build.ts), so what the source does here is what
 * the bundle does.
 */
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import argon2 from "../../functions/users/argon2.js";

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, "../..");

/** A fresh process: import the Lambda entry (and with it the whole app), then use password code. */
const PROBE = `
import { createRequire } from "node:module";
const loaded = () => Object.keys(createRequire(import.meta.url).cache);
const has = (name) => loaded().some((p) => p.includes("/node_modules/" + name + "/"));
await import("./functions/lambda.ts");
const modules = () => ({ argon2: has("argon2"), zxcvbn: has("@zxcvbn-ts/language-common"), estimator: has("@zxcvbn-ts/core"), confusables: has("unhomoglyph") });
const afterImport = modules();
const { checkPassword } = await import("./functions/users/password-policy.ts");
let refused = false;
try { await checkPassword("password1234567890", "alice", { minLength: 15, maxLength: 256 }); } catch { refused = true; }
const { checkNewUsername, normalizeUsername } = await import("./functions/users/usernames.ts");
await checkNewUsername(normalizeUsername("alice"));
const argon2 = (await import("./functions/users/argon2.ts")).default;
const verified = await argon2.verify(await argon2.hash("a passphrase long enough", { type: argon2.argon2id }), "a passphrase long enough");
process.stdout.write(JSON.stringify({ afterImport, refused, verified, afterUse: modules() }));
`;

describe("modules loaded on first use", () => {
  it("importing the router loads neither argon2, the password data nor the confusables; using them does", async () => {
    const { stdout } = await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", PROBE], {
      cwd: repo,
      env: { ...process.env, LATCHKEY_ISSUER: "http://127.0.0.1:1", LATCHKEY_TABLE: "lazy-test", LATCHKEY_KEY_BUCKET: "lazy-test" },
    });
    const out = JSON.parse(stdout) as Record<string, unknown>;
    expect(out.afterImport).toEqual({ argon2: false, zxcvbn: false, estimator: false, confusables: false });
    expect(out.refused).toBe(true); // the list was loaded and "password1234567890" is on it
    expect(out.verified).toBe(true);
    expect(out.afterUse).toEqual({ argon2: true, zxcvbn: true, estimator: true, confusables: true });
  });

  it("uses the package's own argon2id constant", () => {
    const real = createRequire(import.meta.url)("argon2") as typeof import("argon2");
    expect(argon2.argon2id).toBe(real.argon2id);
  });
});
