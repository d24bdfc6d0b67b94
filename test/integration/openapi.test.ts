/** GET /openapi.json: a valid OpenAPI 3.1 document covering every route the app serves. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Validator } from "@seriousme/openapi-schema-validator";
import { ROUTES } from "../../functions/http/app.js";
import { skipIntegration, startTestIssuer, type TestIssuer } from "../support/issuer.js";

describe.skipIf(skipIntegration)("OpenAPI document", () => {
  let t: TestIssuer;
  let doc: any;
  beforeAll(async () => {
    t = await startTestIssuer();
    const res = await fetch(`${t.url}/openapi.json`);
    expect(res.status).toBe(200);
    doc = await res.json();
  });
  afterAll(() => t?.close());

  it("validates against the OpenAPI 3.1 schema", async () => {
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.servers).toEqual([{ url: t.url }]);
  });

  it("documents every route and method the app serves", () => {
    for (const [path, methods] of Object.entries(ROUTES)) {
      for (const method of methods.filter((m) => m !== "HEAD")) {
        expect(doc.paths[path]?.[method.toLowerCase()], `${method} ${path}`).toBeDefined();
      }
    }
    expect(Object.keys(doc.paths).sort()).toEqual(Object.keys(ROUTES).sort());
  });

  it("describes request bodies from the validation schemas, with both media types where accepted", () => {
    const token = doc.paths["/token"].post.requestBody.content;
    expect(Object.keys(token).sort()).toEqual(["application/json", "application/x-www-form-urlencoded"]);
    expect(token["application/json"].schema.required).toEqual(["grant_type"]);
    const register = doc.paths["/register"].post.requestBody.content["application/json"].schema;
    expect(register.required.sort()).toEqual(["password", "username"]);
    expect(register.additionalProperties).toBe(false); // strict, like the validator
    expect(register.properties.password.maxLength).toBe(4096);
  });

  it("documents the error body for every error status", () => {
    for (const [path, ops] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(ops)) {
        for (const [status, response] of Object.entries<any>(op.responses)) {
          if (Number(status) < 400) continue;
          const schema = response.content?.["application/json"]?.schema;
          expect(schema?.required, `${method} ${path} ${status}`).toEqual(["error", "error_description"]);
        }
      }
    }
    expect(Object.keys(doc.paths["/login"].post.responses)).toEqual(expect.arrayContaining(["200", "400", "401", "429", "503"]));
  });
});
