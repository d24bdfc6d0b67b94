/**
 * Redirect URIs of apps that sign people in (authorization code flow). Registration rules:
 * https; http only on a loopback host (RFC 8252 section 7.3 and 8.3); or a private-use URI
 * scheme in reverse-domain form such as `com.example.app:/cb` (RFC 8252 section 7.1). Never
 * a fragment (RFC 6749 section 3.1.2), never a wildcard.
 *
 * Matching is exact string comparison (RFC 9700 section 2.1; OIDC Core 3.1.2.1), with the one
 * exception RFC 8252 section 7.3 requires: a loopback IP redirect may use any port at request
 * time, because a native app picks a free port when it starts.
 */
import { InvalidRequest } from "../errors.js";

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "[::1]", "localhost"]);
/** RFC 8252 section 7.1: reverse domain name of a domain the app controls, so at least one dot. */
const PRIVATE_SCHEME = /^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+$/;

/** Throws InvalidRequest naming the rule a redirect URI breaks. */
export function checkRedirectUri(uri: string, what = "redirect URI"): void {
  if (uri.length > 2048 || /\s/.test(uri)) throw new InvalidRequest(`${what} ${JSON.stringify(uri)} is not a valid URI`);
  if (uri.includes("*")) throw new InvalidRequest(`${what} ${JSON.stringify(uri)}: wildcards are not allowed`);
  if (uri.includes("#")) throw new InvalidRequest(`${what} ${JSON.stringify(uri)} must not have a fragment (RFC 6749 3.1.2)`);
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new InvalidRequest(`${what} ${JSON.stringify(uri)} is not an absolute URI`);
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme === "https") {
    if (url.username || url.password) throw new InvalidRequest(`${what} ${JSON.stringify(uri)} must not carry credentials`);
    return;
  }
  if (scheme === "http") {
    if (!LOOPBACK_HOSTS.has(url.hostname)) {
      throw new InvalidRequest(`${what} ${JSON.stringify(uri)}: http is allowed on loopback only (127.0.0.1, [::1], localhost); use https`);
    }
    return;
  }
  if (!PRIVATE_SCHEME.test(scheme)) {
    throw new InvalidRequest(
      `${what} ${JSON.stringify(uri)}: use https, http on loopback, or a private-use scheme in reverse-domain form (com.example.app:/cb)`,
    );
  }
}

/** The registered URI `requested` matches, or undefined. Exact, except the port of loopback http URIs. */
export function matchRedirectUri(registered: readonly string[], requested: string): string | undefined {
  if (registered.includes(requested)) return requested;
  const loose = withoutLoopbackPort(requested);
  if (!loose) return undefined;
  return registered.find((r) => withoutLoopbackPort(r) === loose);
}

/** `http://127.0.0.1:PORT/path?q` -> `http://127.0.0.1/path?q`; undefined for anything but loopback http. */
function withoutLoopbackPort(uri: string): string | undefined {
  const m = /^http:\/\/(127\.0\.0\.1|\[::1\]|localhost)(:\d{1,5})?([/?].*)?$/.exec(uri);
  if (!m) return undefined;
  return `http://${m[1]}${m[3] ?? ""}`;
}

/** The CSP source that lets a form submission redirect to `uri`: its origin, or its scheme. */
export function cspSourceOf(uri: string): string {
  const url = new URL(uri);
  return url.protocol === "https:" || url.protocol === "http:" ? url.origin : url.protocol;
}

/** Origins of http(s) redirect URIs: the browser origins a public client calls from (CORS). */
export function originsOf(uris: readonly string[]): string[] {
  const out = new Set<string>();
  for (const u of uris) {
    const url = new URL(u);
    if (url.protocol === "https:" || url.protocol === "http:") out.add(url.origin);
  }
  return [...out];
}
