/** The route table is the one declaration of the HTTP surface: the app, OpenAPI and infra follow it. */
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../functions/config.js";
import { createIssuer } from "../../functions/issuer.js";
import { createApp } from "../../functions/http/app.js";
import { ROUTE_TABLE, ROUTES, routeKeys } from "../../functions/http/route-table.js";
import { ROUTE_KEYS } from "../../infra/api.js";

const issuer = createIssuer(
  loadConfig({ LATCHKEY_ISSUER: "https://issuer.example", LATCHKEY_TABLE: "t-table", LATCHKEY_KEY_BUCKET: "b-bucket", LATCHKEY_LOG_LEVEL: "silent" }),
);

describe("route table", () => {
  it("declares exactly the routes the app registers handlers for", () => {
    const registered = createApp(issuer)
      .routes.filter((r) => r.method !== "ALL")
      .map((r) => `${r.method} ${r.path}`);
    const declared = ROUTE_TABLE.map((r) => `${r.method.toUpperCase()} ${r.path}`);
    expect([...new Set(registered)].sort()).toEqual(declared.sort());
  });

  it("declares each method and path once", () => {
    const keys = ROUTE_TABLE.map((r) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("allows HEAD wherever GET is allowed (405 Allow header)", () => {
    for (const [path, methods] of Object.entries(ROUTES)) {
      if (methods.includes("GET")) expect(methods, path).toContain("HEAD");
    }
  });

  it("gives infra an API Gateway route for every declared route, split by function, plus $default", () => {
    expect(ROUTE_KEYS).toEqual(expect.arrayContaining([...routeKeys("api"), ...routeKeys("users"), "$default"]));
    expect(ROUTE_KEYS.length).toBe(ROUTE_TABLE.length + 1);
    expect(routeKeys("users")).toEqual(expect.arrayContaining(["POST /register", "POST /login"]));
    expect(routeKeys("api")).not.toContain("POST /login");
  });
});
