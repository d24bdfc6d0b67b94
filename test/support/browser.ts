/**
 * A minimal browser for protocol tests: a cookie jar (name=value, honouring Max-Age=0 and
 * Path=/ only, which is all the issuer sets), redirects not followed, forms read from HTML.
 */
export class CookieJar {
  readonly cookies = new Map<string, string>();

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (expired || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}

export interface Page {
  status: number;
  headers: Headers;
  body: string;
  location: string | null;
}

export class TestBrowser {
  readonly jar = new CookieJar();

  async get(url: string): Promise<Page> {
    return this.#send(url, { method: "GET" });
  }

  /** Submits a form (urlencoded) to `action`, resolved against `base`. */
  async submit(base: string, action: string, fields: Record<string, string>): Promise<Page> {
    return this.#send(new URL(action.replace(/&amp;/g, "&"), base).toString(), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields).toString(),
    });
  }

  async #send(url: string, init: RequestInit): Promise<Page> {
    const res = await fetch(url, { ...init, redirect: "manual", headers: { ...(init.headers as Record<string, string>), cookie: this.jar.header() } });
    this.jar.take(res);
    return { status: res.status, headers: res.headers, body: await res.text(), location: res.headers.get("location") };
  }
}

/** The first form on a page: its action and hidden fields. */
export function readForm(body: string): { action: string; hidden: Record<string, string> } {
  const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/.exec(body);
  if (!form) throw new Error("no form on the page:\n" + body.slice(0, 500));
  const hidden: Record<string, string> = {};
  for (const m of form[2]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) hidden[m[1]!] = m[2]!;
  return { action: form[1]!, hidden };
}
