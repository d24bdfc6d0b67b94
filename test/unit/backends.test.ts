/** The opt-in LocalStack backend stays loadable and picks the right image. */
import { describe, expect, it } from "vitest";
import { localstackImage } from "../support/backend.js";

describe("LocalStack backend", () => {
  it("loads @testcontainers/localstack on this Node version (12.x needs Node 22)", async () => {
    const mod = await import("@testcontainers/localstack");
    expect(typeof mod.LocalstackContainer).toBe("function");
  });

  it("uses the last token-free image unless an auth token or an explicit image is given", () => {
    expect(localstackImage({})).toBe("localstack/localstack:4.14.0");
    expect(localstackImage({ LOCALSTACK_AUTH_TOKEN: "t" })).toBe("localstack/localstack:latest");
    expect(localstackImage({ LATCHKEY_LOCALSTACK_IMAGE: "localstack/localstack:4.9" })).toBe("localstack/localstack:4.9");
  });
});
