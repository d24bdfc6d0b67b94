/**
 * The deploy guide's consumer stack (infra/README.md, "A consumer stack") runs as written: the
 * block is extracted from the README and run as a Pulumi program under mocks, with the
 * StackReference answering a Latchkey stack's `issuerUrl`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { installMocks, valueOf, type Declared } from "./mocks.js";

const readme = readFileSync(new URL("../../infra/README.md", import.meta.url), "utf8");
const section = readme.slice(readme.indexOf("## A consumer stack"));
const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
const file = new URL(`./consumer-example-${process.pid}.generated.ts`, import.meta.url);

let declared: Declared[];
let program: Record<string, any>;

beforeAll(async () => {
  expect(code, "a ts block in the consumer section").toBeTruthy();
  writeFileSync(file, code!);
  declared = await installMocks({}, "orders");
  program = await import(/* @vite-ignore */ file.href);
  await valueOf(program.ordersUrl);
  await new Promise((r) => setTimeout(r, 100));
}, 60_000);
afterAll(() => rmSync(file, { force: true }));

describe("the README's consumer stack", () => {
  it("references the Latchkey stack and trusts its issuer in a JWT authorizer on its own route", async () => {
    const ref = declared.find((r) => r.type === "pulumi:pulumi:StackReference")!;
    expect(ref.name).toBe("my-org/latchkey/prod");
    const auth = declared.find((r) => r.type === "aws:apigatewayv2/authorizer:Authorizer")!.inputs;
    expect(auth).toMatchObject({ authorizerType: "JWT", identitySources: ["$request.header.Authorization"] });
    expect(auth.jwtConfiguration).toEqual({ issuer: "https://auth.example.com", audiences: ["https://api.example.com"] });
    const route = declared.find((r) => r.type === "aws:apigatewayv2/route:Route")!.inputs;
    expect(route).toMatchObject({ routeKey: "GET /orders", authorizationType: "JWT", authorizationScopes: ["orders:read"] });
    expect(await valueOf(program.ordersUrl)).toMatch(/\/orders$/);
  });
});
