/** Facts stated in more than one place say the same thing: supported Node versions, what CI installs. */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const repo = resolve(import.meta.dirname, "../..");
const read = (p: string) => readFileSync(resolve(repo, p), "utf8");

describe("documentation agrees with the tooling", () => {
  it("one statement of supported Node.js versions: README, infra/README and package.json engines", () => {
    const statement = "Node.js 20 (20.11 or later) or 22";
    expect(read("README.md")).toContain(statement);
    expect(read("infra/README.md")).toContain(statement);
    // import.meta.dirname (tests) needs 20.11; node --import (npm start) needs 20.6.
    expect(JSON.parse(read("package.json")).engines.node).toBe("^20.11.0 || ^22.0.0");
  });

  it("README's Tests section names every package .ci/run installs with apt", () => {
    const installed = [...read(".ci/run").matchAll(/apt-get install [^\n]*?((?:\s+[a-z0-9][a-z0-9.+-]+)+)\)?\s*(?:>|\|\||$)/gm)].flatMap((m) =>
      m[1]!.trim().split(/\s+/).filter((w) => !w.startsWith("-")),
    );
    expect(installed).toContain("nginx-light");
    const section = read("README.md").split("\n## Tests and backends\n")[1]!.split("\n## ")[0]!;
    for (const pkg of installed) expect(section, pkg).toContain(pkg);
  });
});
