/**
 * The hosted pages in a real browser (Debian's Chromium driven by playwright-core): sign-in
 * through the form with JavaScript switched off, single sign-on on a second visit, logout, no
 * Content-Security-Policy violations, and an axe-core accessibility check of every page with
 * zero serious or critical violations. Skips with a message when Chromium is not installed
 * (`apt-get install chromium`, as .ci/run does; LATCHKEY_CHROMIUM points elsewhere).
 */
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import axe from "axe-core";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { GOOD_PASSWORD, skipIntegration, startTestIssuer, uniqueName, type TestIssuer } from "../support/issuer.js";

const executablePath = process.env.LATCHKEY_CHROMIUM ?? "/usr/bin/chromium";
const haveChromium = existsSync(executablePath);
if (!haveChromium) console.warn(`[latchkey] browser tests SKIPPED: no Chromium at ${executablePath} (apt-get install chromium, or set LATCHKEY_CHROMIUM)`);

describe.skipIf(skipIntegration || !haveChromium)("hosted sign-in in a real browser", () => {
  let t: TestIssuer;
  let browser: Browser;
  let rp: Server;
  let rpUrl: string;
  let clientId: string;
  const username = uniqueName("pat");

  beforeAll(async () => {
    t = await startTestIssuer({ LATCHKEY_BRAND_NAME: "Acme Accounts", LATCHKEY_BRAND_ACCENT: "#0b5394" });
    await t.issuer.users.register(username, GOOD_PASSWORD);
    rp = createServer((req, res) => res.writeHead(200, { "content-type": "text/html" }).end(`<!doctype html><title>app</title><p>${req.url}</p>`));
    await new Promise<void>((r) => rp.listen(0, "127.0.0.1", () => r()));
    rpUrl = `http://127.0.0.1:${(rp.address() as AddressInfo).port}`;
    clientId = (await t.issuer.clients.create({ name: "Acme Notes", auth: "none", redirectUris: ["http://127.0.0.1/cb"], postLogoutRedirectUris: [`${rpUrl}/bye`] })).client.clientId;
    browser = await chromium.launch({ executablePath, headless: true, args: ["--headless", "--no-sandbox"] });
  });
  afterAll(async () => {
    await browser?.close();
    rp?.close();
    await t?.close();
  });

  const authorizeUrl = (extra: Record<string, string> = {}) => {
    const challenge = createHash("sha256").update(randomBytes(32).toString("base64url")).digest("base64url");
    return `${t.url}/authorize?${new URLSearchParams({ response_type: "code", client_id: clientId, redirect_uri: `${rpUrl}/cb`, scope: "openid profile", state: "s-1", code_challenge: challenge, code_challenge_method: "S256", ...extra })}`;
  };

  /** Collects CSP violations the page reports to its console. */
  function watchCsp(page: Page): string[] {
    const violations: string[] = [];
    page.on("console", (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    return violations;
  }

  async function seriousViolations(page: Page): Promise<string[]> {
    // Evaluated through the DevTools protocol, which the page's CSP (no script at all) does not govern.
    await page.evaluate(axe.source);
    const result = await page.evaluate(async () => (globalThis as unknown as { axe: typeof axe }).axe.run(document));
    return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id}: ${v.help}`);
  }

  it("signs in without JavaScript, signs in again without the form (SSO), and logs out", async () => {
    const context: BrowserContext = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const csp = watchCsp(page);
    await page.goto(authorizeUrl());
    await expect(page.title()).resolves.toBe("Sign in - Acme Accounts");
    await page.getByLabel("Username").fill(username);
    await page.getByLabel("Password").fill(GOOD_PASSWORD);
    await Promise.all([page.waitForURL(`${rpUrl}/cb?**`), page.getByRole("button", { name: "Sign in" }).click()]);
    const back = new URL(page.url());
    expect(back.searchParams.get("code")).toMatch(/^lkac_/);
    expect(back.searchParams.get("state")).toBe("s-1");
    expect(back.searchParams.get("iss")).toBe(t.url);
    const cookie = (await context.cookies(t.url)).find((c) => c.name === "lk_session")!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Lax" });

    // Second visit: straight back to the app with a new code, no form.
    await page.goto(authorizeUrl({ state: "s-2" }));
    expect(page.url().startsWith(`${rpUrl}/cb?`)).toBe(true);
    expect(new URL(page.url()).searchParams.get("state")).toBe("s-2");

    // Logout asks for confirmation, then returns to the registered URI.
    await page.goto(`${t.url}/logout?${new URLSearchParams({ client_id: clientId, post_logout_redirect_uri: `${rpUrl}/bye`, state: "bye" })}`);
    await Promise.all([page.waitForURL(`${rpUrl}/bye?state=bye`), page.getByRole("button", { name: "Sign out" }).click()]);
    expect((await context.cookies(t.url)).some((c) => c.name === "lk_session")).toBe(false);
    await page.goto(authorizeUrl());
    await expect(page.getByLabel("Password").count()).resolves.toBe(1);
    expect(csp).toEqual([]);
    await context.close();
  });

  it("has no serious accessibility violations on the sign-in, error, registration and sign-out pages", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const csp = watchCsp(page);
    const report: Record<string, string[]> = {};
    await page.goto(authorizeUrl());
    report.signIn = await seriousViolations(page);
    await page.getByLabel("Username").fill(username);
    await page.getByLabel("Password").fill("a wrong password, certainly");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert").textContent()).resolves.toBe("The username or password is incorrect.");
    report.signInError = await seriousViolations(page);
    await page.getByRole("link", { name: "Create an account" }).click();
    report.register = await seriousViolations(page);
    await page.goto(`${t.url}/authorize?client_id=lkc_AAAAAAAAAAAAAAAAAAAAAA`);
    report.errorPage = await seriousViolations(page);
    await page.goto(authorizeUrl());
    await page.getByLabel("Username").fill(username);
    await page.getByLabel("Password").fill(GOOD_PASSWORD);
    await Promise.all([page.waitForURL(`${rpUrl}/cb?**`), page.getByRole("button", { name: "Sign in" }).click()]);
    await page.goto(`${t.url}/logout`);
    report.signOut = await seriousViolations(page);
    expect(report).toEqual({ signIn: [], signInError: [], register: [], errorPage: [], signOut: [] });
    expect(csp).toEqual([]);
    await context.close();
  });
});
