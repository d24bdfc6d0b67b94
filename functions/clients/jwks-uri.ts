/**
 * A client's `jwks_uri` (RFC 7591 section 2) is fetched by the issuer, from inside its network:
 * a server-side request forgery surface. Rules, checked when the client is registered and again
 * on every fetch:
 * - deployed: https only, to public addresses only. The address is checked after DNS resolution,
 *   in the socket's own lookup, so a name that resolves to a public address at registration and
 *   to 127.0.0.1 or 169.254.169.254 later (DNS rebinding) is never connected to;
 * - local mode (`LATCHKEY_ALLOW_PRIVATE_JWKS_URI`, set by `npm start`): http and loopback or
 *   private targets are allowed too;
 * - the Lambda runtime API (`AWS_LAMBDA_RUNTIME_API`, 127.0.0.1:9001) is never a target;
 * - no credentials in the URL, no redirects, a 2 s timeout and at most 64 KiB of response body,
 *   enforced while reading (a response without Content-Length is cut off as soon as it crosses).
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import http from "node:http";
import https from "node:https";
import { BlockList, isIP } from "node:net";
import type { FetchImplementation } from "jose";
import { InvalidRequest } from "../errors.js";

export const JWKS_MAX_BYTES = 64 * 1024;

export interface JwksUriPolicy {
  /** Local mode: allow http and loopback/private/link-local targets. */
  allowPrivate: boolean;
  /** `host:port` of the Lambda runtime API when running in Lambda. */
  lambdaRuntimeApi?: string | undefined;
  /** DNS resolution (tests inject one); defaults to the system resolver. */
  lookup?: typeof dnsLookup;
}

/** Refused at fetch time: the code lets callers log it apart from a bad key set. */
export class JwksUriRefused extends Error {
  override name = "JwksUriRefused";
  readonly code = "ERR_JWKS_URI_REFUSED";
}

/**
 * Addresses that are not publicly routable (IANA IPv4 and IPv6 special-purpose registries):
 * this-network, private, shared (CGNAT), loopback, link-local (including the EC2 metadata
 * service), documentation, benchmarking, multicast, reserved; IPv6 unspecified, loopback,
 * IPv4-compatible, NAT64 local-use, discard, IETF protocol assignments (Teredo), 6to4,
 * unique-local (including fd00:ec2::254), link- and site-local, multicast. IPv4-mapped IPv6
 * addresses are checked against the IPv4 rules.
 */
const NON_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8], ["10.0.0.0", 8], ["100.64.0.0", 10], ["127.0.0.0", 8], ["169.254.0.0", 16],
  ["172.16.0.0", 12], ["192.0.0.0", 24], ["192.0.2.0", 24], ["192.88.99.0", 24], ["192.168.0.0", 16],
  ["198.18.0.0", 15], ["198.51.100.0", 24], ["203.0.113.0", 24], ["224.0.0.0", 4], ["240.0.0.0", 4],
] as const) {
  NON_PUBLIC.addSubnet(network, prefix, "ipv4");
}
for (const [network, prefix] of [
  ["::", 96], ["64:ff9b::", 96], ["64:ff9b:1::", 48], ["100::", 64], ["2001::", 23], ["2001:db8::", 32],
  ["2002::", 16], ["fc00::", 7], ["fe80::", 10], ["fec0::", 10], ["ff00::", 8],
] as const) {
  NON_PUBLIC.addSubnet(network, prefix, "ipv6");
}

export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return !NON_PUBLIC.check(address, family === 4 ? "ipv4" : "ipv6");
}

/** Validates a jwks_uri at registration (and before each fetch); returns the parsed URL. */
export function checkJwksUri(raw: string, policy: JwksUriPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidRequest("jwks_uri must be a URL");
  }
  if (url.username || url.password) throw new InvalidRequest("jwks_uri must not carry credentials");
  if (url.protocol !== "https:" && !(policy.allowPrivate && url.protocol === "http:")) {
    throw new InvalidRequest("jwks_uri must use https");
  }
  const host = hostOf(url);
  if (policy.lambdaRuntimeApi && isRuntimeApi(url, policy.lambdaRuntimeApi)) {
    throw new InvalidRequest("jwks_uri must not point at the Lambda runtime API");
  }
  if (!policy.allowPrivate) {
    if (host === "localhost" || host.endsWith(".localhost") || (isIP(host) !== 0 && !isPublicAddress(host))) {
      throw new InvalidRequest("jwks_uri must point to a public address");
    }
  }
  return url;
}

/** A jose `customFetch` that applies the rules above to every JWKS fetch. */
export function jwksFetch(policy: JwksUriPolicy): FetchImplementation {
  const lookup = policy.allowPrivate ? undefined : publicOnlyLookup(policy.lookup ?? dnsLookup);
  return (raw, options) =>
    new Promise<Response>((resolve, reject) => {
      let url: URL;
      try {
        url = checkJwksUri(raw, policy);
      } catch (err) {
        reject(new JwksUriRefused((err as Error).message));
        return;
      }
      const transport = url.protocol === "https:" ? https : http;
      const request = transport.request(url, {
        method: "GET",
        headers: { accept: "application/json" },
        signal: options.signal,
        agent: false, // a fresh, checked connection per fetch
        ...(lookup ? { lookup } : {}),
      });
      // A timeout (jose's AbortSignal.timeout) surfaces as its TimeoutError, which jose reports as such.
      request.on("error", (err) => reject(options.signal.aborted ? options.signal.reason : err));
      request.on("response", (response) => {
        const declared = Number(response.headers["content-length"]);
        if (declared > JWKS_MAX_BYTES) {
          request.destroy();
          reject(new JwksUriRefused(`jwks_uri response is larger than ${JWKS_MAX_BYTES} bytes`));
          return;
        }
        const chunks: Buffer[] = [];
        let received = 0;
        response.on("data", (chunk: Buffer) => {
          received += chunk.length;
          if (received > JWKS_MAX_BYTES) {
            request.destroy();
            reject(new JwksUriRefused(`jwks_uri response is larger than ${JWKS_MAX_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        response.on("error", reject);
        response.on("end", () => {
          const contentType = response.headers["content-type"];
          resolve(
            new Response(response.statusCode === 204 || response.statusCode === 304 ? null : Buffer.concat(chunks), {
              status: response.statusCode ?? 502,
              headers: contentType ? { "content-type": contentType } : {},
            }),
          );
        });
      });
      request.end();
    });
}

/** Resolves like dns.lookup, then keeps only public addresses: the socket connects to nothing else. */
function publicOnlyLookup(resolve: typeof dnsLookup) {
  return (hostname: string, options: LookupOptions, callback: (...args: any[]) => void): void => {
    if (isIP(hostname) !== 0) {
      if (!isPublicAddress(hostname)) return callback(new JwksUriRefused(`jwks_uri address ${hostname} is not public`));
    }
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err);
      const allowed = (addresses as LookupAddress[]).filter((a) => isPublicAddress(a.address));
      if (allowed.length === 0) return callback(new JwksUriRefused(`jwks_uri host ${hostname} resolves to no public address`));
      if (options.all) callback(null, allowed);
      else callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
}

function isRuntimeApi(url: URL, runtimeApi: string): boolean {
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  const [apiHost, apiPort = "80"] = runtimeApi.split(":");
  const host = hostOf(url);
  const loopback = host === "localhost" || (isIP(host) !== 0 && NON_PUBLIC.check(host, isIP(host) === 4 ? "ipv4" : "ipv6"));
  return port === apiPort && (host === apiHost || loopback);
}
