/**
 * The image tag is a hash of what the Dockerfile copies: the same sources give the same tag
 * on any machine, a changed source gives a new one, and files the build never sees do not.
 */
import { describe, expect, it } from "vitest";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { BUILD_INPUTS, buildContentHash } from "../../infra/image.js";

const root = path.resolve(new URL("../..", import.meta.url).pathname);

function copyOfSources(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "latchkey-image-"));
  for (const input of [...BUILD_INPUTS, "README.md"]) cpSync(path.join(root, input), path.join(dir, input), { recursive: true });
  return dir;
}

describe("the image's content hash", () => {
  it("hashes exactly what .dockerignore lets into the build context (and the Dockerfile itself)", () => {
    const lines = readFileSync(path.join(root, ".dockerignore"), "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
    const allowed = lines.filter((l) => l.startsWith("!")).map((l) => l.slice(1));
    expect(BUILD_INPUTS.filter((i) => i !== "Dockerfile").sort()).toEqual(allowed.sort());
    expect(lines).toContain("functions/**/*.test.ts");
  });

  it("is the same for the same sources in another checkout, and changes with any source or the platform", () => {
    const a = copyOfSources();
    const b = copyOfSources();
    try {
      const before = buildContentHash(a, "linux/arm64");
      expect(buildContentHash(b, "linux/arm64")).toBe(before);
      expect(buildContentHash(a, "linux/amd64")).not.toBe(before);
      writeFileSync(path.join(b, "README.md"), "not in the image\n");
      writeFileSync(path.join(b, "functions", "ignored.test.ts"), "// test files stay out of the image\n");
      expect(buildContentHash(b, "linux/arm64")).toBe(before);
      writeFileSync(path.join(b, "functions", "log.ts"), `${readFileSync(path.join(b, "functions", "log.ts"), "utf8")}\n// changed\n`);
      expect(buildContentHash(b, "linux/arm64")).not.toBe(before);
      writeFileSync(path.join(a, "Dockerfile"), `${readFileSync(path.join(a, "Dockerfile"), "utf8")}\n# changed\n`);
      expect(buildContentHash(a, "linux/arm64")).not.toBe(before);
    } finally {
      rmSync(a, { recursive: true, force: true });
      rmSync(b, { recursive: true, force: true });
    }
  });
});
