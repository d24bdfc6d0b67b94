/** Redirect URI registration rules and matching (RFC 6749 3.1.2, RFC 8252 7.1/7.3/8.3, RFC 9700 2.1). */
import { describe, expect, it } from "vitest";
import { checkRedirectUri, cspSourceOf, matchRedirectUri, originsOf } from "../../functions/clients/redirect-uris.js";

describe("redirect URI registration", () => {
  it.each(["https://app.example.com/callback", "http://127.0.0.1/cb", "http://[::1]:8080/cb", "http://localhost:5173/cb", "com.example.app:/oauth2redirect"])(
    "accepts %s",
    (uri) => expect(() => checkRedirectUri(uri)).not.toThrow(),
  );

  it.each([
    ["http://app.example.com/cb", /loopback only/],
    ["https://app.example.com/cb#frag", /fragment/],
    ["https://*.example.com/cb", /wildcard/],
    ["myapp:/cb", /reverse-domain/],
    ["javascript:alert(1)", /reverse-domain/],
    ["/relative/cb", /absolute/],
    ["https://user:pw@app.example.com/cb", /credentials/],
  ])("refuses %s", (uri, why) => expect(() => checkRedirectUri(uri)).toThrow(why));
});

describe("redirect URI matching", () => {
  const registered = ["https://app.example.com/cb", "http://127.0.0.1/cb", "http://[::1]:3000/native"];

  it("matches exactly", () => {
    expect(matchRedirectUri(registered, "https://app.example.com/cb")).toBe("https://app.example.com/cb");
    expect(matchRedirectUri(registered, "https://app.example.com/cb/")).toBeUndefined();
    expect(matchRedirectUri(registered, "https://app.example.com/cb?x=1")).toBeUndefined();
    expect(matchRedirectUri(registered, "https://APP.example.com/cb")).toBeUndefined();
    expect(matchRedirectUri(registered, "https://app.example.com:444/cb")).toBeUndefined();
  });

  it("lets only the port of a loopback http URI vary", () => {
    expect(matchRedirectUri(registered, "http://127.0.0.1:61000/cb")).toBe("http://127.0.0.1/cb");
    expect(matchRedirectUri(registered, "http://[::1]:4000/native")).toBe("http://[::1]:3000/native");
    expect(matchRedirectUri(registered, "http://127.0.0.1:61000/other")).toBeUndefined();
    expect(matchRedirectUri(registered, "http://[::1]:4000/cb")).toBeUndefined();
    expect(matchRedirectUri(["http://localhost.evil.example/cb"], "http://localhost.evil.example:1/cb")).toBeUndefined();
  });

  it("derives CSP sources and CORS origins", () => {
    expect(cspSourceOf("https://app.example.com/cb?x")).toBe("https://app.example.com");
    expect(cspSourceOf("com.example.app:/cb")).toBe("com.example.app:");
    expect(originsOf(["https://app.example.com/cb", "https://app.example.com/other", "com.example.app:/cb"])).toEqual(["https://app.example.com"]);
  });
});
