/**
 * The admin CLI as a user types it: per-command flags with suggestions, ids that start with
 * `-`, help and version, and the exit codes README promises (1 usage, 2 failure). Runs the
 * CLI's `run` in-process against a real issuer on the run's backend.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../functions/cli/main.js";
import { contextMode } from "../../functions/log.js";
import { parseCommand, type Area } from "../../functions/cli/command-line.js";
import { keys } from "../../functions/cli/keys.js";
import { skipIntegration, startTestIssuer, type TestIssuer } from "../support/issuer.js";

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string; json: any }> {
  let stdout = "";
  let stderr = "";
  const code = await run(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    json = undefined;
  }
  return { code, stdout, stderr, json };
}

describe("command line grammar (no issuer needed)", () => {
  it("a bare `latchkey` prints usage to stderr and exits 1", async () => {
    const r = await cli();
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^usage: latchkey <area> <command>/);
    expect(r.stderr).toContain("latchkey keys revoke <kid>");
  });

  it("help, <area> --help, <area> <command> --help and --version print to stdout and exit 0", async () => {
    const help = await cli("help");
    expect([help.code, help.stderr]).toEqual([0, ""]);
    expect(help.stdout).toContain("latchkey clients rotate-secret <client_id>");
    const area = await cli("clients", "--help");
    expect(area.code).toBe(0);
    expect(area.stdout).toContain("latchkey clients create");
    expect(area.stdout).not.toContain("latchkey keys");
    const command = await cli("clients", "create", "--help");
    expect(command.code).toBe(0);
    expect(command.stdout).toMatch(/--scopes a,b +scopes it may ask for/);
    expect((await cli("help", "keys", "rotate")).stdout).toContain("--force");
    expect((await cli("token", "-h")).stdout).toContain("--client-id ID");
    const version = await cli("--version");
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^latchkey \d+\.\d+\.\d+\n$/);
  });

  it("a flag of another command is refused with a suggestion, before anything is created", async () => {
    const r = await cli("clients", "create", "--name", "x", "--scope", "a", "--audience", "https://x");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("--scope is not a flag of `latchkey clients create` (did you mean --scopes?)");
    const force = await cli("clients", "create", "--name", "x", "--force");
    expect(force.code).toBe(1);
    expect(force.stderr).toContain("--force is not a flag of `latchkey clients create`");
    expect((await cli("keys", "revoke", "--force", "abc")).stderr).toContain("it belongs to `latchkey keys rotate`");
  });

  it("unknown areas and commands are usage errors with a suggestion", async () => {
    expect(await cli("clientz", "list")).toMatchObject({ code: 1, stderr: expect.stringContaining("(did you mean clients?)") });
    expect(await cli("clients", "creat")).toMatchObject({ code: 1, stderr: expect.stringContaining("(did you mean create?)") });
    expect(await cli("keys")).toMatchObject({ code: 1, stderr: expect.stringContaining("`latchkey keys` needs a command") });
  });

  it("missing or extra arguments and values are usage errors", async () => {
    for (const argv of [
      ["keys", "revoke"],
      ["keys", "list", "extra"],
      ["clients", "create"],
      ["clients", "create", "--name"],
      ["clients", "create", "--name", "x", "--auth", "magic"],
      ["clients", "create", "--name", "x", "--auth", "none"],
      ["clients", "create", "--name", "x", "--ttl", "-5"],
      ["clients", "create", "--name", "x", "--may-sign=yes"],
      ["clients", "show"],
      ["token", "--scope", "a"],
    ]) {
      const r = await cli(...argv);
      expect(r.code, argv.join(" ")).toBe(1);
      expect(r.stderr, argv.join(" ")).toMatch(/^latchkey: /);
    }
  });

  it("a key id that starts with - is the argument, as pasted (no --)", () => {
    const kid = "-Xq3uZ0fJ6mGk1vH8o2cB9yLrT4wS7eN5aPdQjKiVh";
    const parsed = parseCommand("keys", "revoke", keys as Area, [kid]);
    expect(parsed.args.kid).toBe(kid);
    expect(parseCommand("keys", "revoke", keys as Area, ["--", kid]).args.kid).toBe(kid);
    // Short dash words are still flag mistakes, not ids.
    expect(() => parseCommand("keys", "revoke", keys as Area, ["-x"])).toThrow(/-x is not a flag/);
  });
});

describe.skipIf(skipIntegration)("the CLI against an issuer: exit code 2 for failures", () => {
  let t: TestIssuer;
  const saved = { ...process.env };

  beforeAll(async () => {
    t = await startTestIssuer();
    // As `npm start` and the deploy hook do before serving.
    await t.issuer.clients.digester.ensurePepper();
    Object.assign(process.env, t.env);
  });
  afterAll(async () => {
    process.env = saved;
    await t?.close();
  });

  it("a kid starting with - reaches the keyring (unknown kid: failure 2, not a usage error)", async () => {
    const r = await cli("keys", "revoke", "-Xq3uZ0fJ6mGk1vH8o2cB9yLrT4wS7eN5aPdQjKiVh");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no key with kid -Xq3uZ0fJ6mGk1vH8o2cB9yLrT4wS7eN5aPdQjKiVh");
  });

  it("a refused rotation, an unknown client and a rejected token request exit 2", async () => {
    const rotate = await cli("keys", "rotate");
    expect(rotate.code).toBe(2);
    expect(rotate.stderr).toMatch(/^latchkey: rotation refused: .*--force/);
    expect(await cli("clients", "show", "lkc_nope")).toMatchObject({ code: 2, stderr: expect.stringContaining("no client lkc_nope") });
    const token = await cli("token", "--issuer", t.url, "--client-id", "lkc_nope", "--client-secret", "lks_nope");
    expect(token.code).toBe(2);
    expect(token.stderr).toMatch(/^latchkey: invalid_client/);
    // A command keeps its context in the slot only while it runs, failed or not: a server in
    // the same process goes back to passing contexts explicitly.
    expect(contextMode()).toBe("explicit");
  });

  it("registers an app that signs people in: public (no secret) or confidential; bad redirect URIs are usage errors", async () => {
    const spa = await cli("clients", "create", "--name", "spa", "--auth", "none", "--redirect-uris", "https://app.example.com/cb,http://127.0.0.1/cb", "--post-logout-redirect-uris", "https://app.example.com/");
    expect(spa.code, spa.stderr).toBe(0);
    expect(spa.json.client_secret).toBeUndefined();
    expect(spa.json.client).toMatchObject({ auth: "none", redirectUris: ["https://app.example.com/cb", "http://127.0.0.1/cb"], postLogoutRedirectUris: ["https://app.example.com/"], scopes: ["openid", "profile"] });
    const web = await cli("clients", "create", "--name", "web", "--redirect-uris", "https://web.example.com/cb", "--scopes", "openid");
    expect(web.json.client_secret).toMatch(/^lks_/);
    expect(web.json.client.scopes).toEqual(["openid"]);
    for (const uri of ["http://app.example.com/cb", "https://app.example.com/cb#top", "myapp:/cb"]) {
      const bad = await cli("clients", "create", "--name", "bad", "--redirect-uris", uri);
      expect(bad.code, uri).toBe(1);
      expect(bad.stderr, uri).toMatch(/^latchkey: redirect URI/);
    }
  });

  it("creates a client with the flags given, then fetches its token; --issuer localhost says what iss will be", async () => {
    const created = await cli("clients", "create", "--name", "cli-svc", "--scopes", "a,b", "--audiences", "https://x.example");
    expect(created.code).toBe(0);
    expect(created.json.client).toMatchObject({ scopes: ["a", "b"], audiences: ["https://x.example"] });
    const viaLocalhost = t.url.replace("127.0.0.1", "localhost");
    const token = await cli("token", "--issuer", viaLocalhost, "--client-id", created.json.client_id, "--client-secret", created.json.client_secret);
    expect(token.code, token.stderr).toBe(0);
    expect(token.json.token_type).toBe("Bearer");
    const iss = JSON.parse(Buffer.from(token.json.access_token.split(".")[1], "base64url").toString()).iss;
    expect(iss).toBe(t.url);
    expect(token.stderr).toContain(`${viaLocalhost} names itself ${t.url}; tokens it issues carry iss=${t.url}`);
    const same = await cli("token", "--issuer", t.url, "--client-id", created.json.client_id, "--client-secret", created.json.client_secret);
    expect(same.stderr).toBe("");
  });
});
