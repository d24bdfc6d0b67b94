/**
 * The hosted pages (sign-in, registration, errors, signed out): server-rendered HTML with no
 * script and no third-party assets (the operator's logo URL aside), so they work without
 * JavaScript. Every interpolated value is escaped by `html`; only `Html` values pass through.
 * The one stylesheet is inline and allowed by its hash in the Content-Security-Policy, so the
 * policy needs neither 'unsafe-inline' nor a second request.
 */
import { createHash } from "node:crypto";
import type { Config } from "../config.js";

export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);
}

/** Tagged template: interpolations are escaped unless they are Html (or arrays of it). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += fragment(v) + strings[i + 1]!;
  });
  return new Html(out);
}

function fragment(v: unknown): string {
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(fragment).join("");
  if (v === undefined || v === null || v === false) return "";
  return escapeHtml(String(v));
}

export interface PageFrame {
  /** The page's <h1> and <title>. */
  title: string;
  body: Html;
}

/** Page chrome and the headers every page carries. */
export class Pages {
  readonly #style: string;
  readonly #styleHash: string;

  constructor(private readonly config: Config) {
    const accent = config.brand.accentColor;
    this.#style = [
      "*{box-sizing:border-box}",
      "body{margin:0;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1b1f24;background:#f4f5f7}",
      "main{max-width:24rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.15)}",
      "h1{font-size:1.4rem;margin:0 0 1rem}",
      ".brand{display:flex;align-items:center;gap:.6rem;margin-bottom:1.2rem;font-weight:600}",
      ".brand img{max-height:2.5rem;max-width:8rem}",
      "label{display:block;margin:.9rem 0 .3rem;font-weight:600}",
      "input[type=text],input[type=password]{width:100%;padding:.6rem;border:1px solid #6b7280;border-radius:4px;font:inherit}",
      `input:focus,button:focus,a:focus{outline:3px solid ${accent};outline-offset:2px}`,
      `button{margin-top:1.4rem;width:100%;padding:.7rem;border:0;border-radius:4px;background:${accent};color:${readableOn(accent)};font:inherit;font-weight:600;cursor:pointer}`,
      ".error{margin:0 0 1rem;padding:.7rem;border-radius:4px;background:#fdecea;color:#8a1c1c}",
      ".hint{font-size:.9rem;color:#4b5563}",
      "a{color:#1f4fbf}",
      "p.alt{margin-top:1.4rem;text-align:center}",
    ].join("");
    this.#styleHash = createHash("sha256").update(this.#style).digest("base64");
  }

  render(frame: PageFrame): string {
    const { brand } = this.config;
    return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${frame.title} - ${brand.name}</title>
<style>${new Html(this.#style)}</style>
</head>
<body>
<main>
<div class="brand">${brand.logoUrl ? html`<img src="${brand.logoUrl}" alt="">` : ""}<span>${brand.name}</span></div>
<h1>${frame.title}</h1>
${frame.body}
</main>
</body>
</html>
`.value;
  }

  /**
   * Headers of every page: no script at all, only this page's stylesheet, forms may post here
   * and (after sign-in) redirect to the client, never framed (clickjacking), never cached,
   * never leaking the URL (which carries state) in Referer.
   */
  headers(formTargets: string[] = []): Record<string, string> {
    const logo = this.config.brand.logoUrl ? new URL(this.config.brand.logoUrl).origin : "'none'";
    const csp = [
      "default-src 'none'",
      `style-src 'sha256-${this.#styleHash}'`,
      `img-src ${logo}`,
      `form-action 'self' ${formTargets.join(" ")}`.trim(),
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ].join("; ");
    return {
      "Content-Type": "text/html; charset=utf-8",
      "Content-Security-Policy": csp,
      "Cache-Control": "no-store",
      Pragma: "no-cache",
      "Referrer-Policy": "no-referrer",
      "X-Frame-Options": "DENY",
    };
  }
}

/** Black or white text, whichever contrasts more with the accent (WCAG 2 relative luminance). */
export function readableOn(hex: string): string {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  const l = 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
  return (1.05 / (l + 0.05)) >= ((l + 0.05) / 0.05) ? "#ffffff" : "#000000";
}
