/**
 * Callers reach the deployed issuer through CloudFront only. CloudFront adds a secret header
 * to every origin request (infra/edge.ts); when LATCHKEY_ORIGIN_VERIFY names accepted values,
 * a request without one of them (someone calling the execute-api endpoint directly, skipping
 * the edge's WAF and caching) is refused with 403 before any route runs. Two values are
 * accepted while the secret rotates (current and previous). Local mode sets none.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./env.js";
import { AccessDenied } from "../errors.js";

/** Lower-case, as HTTP/2 and API Gateway payload 2.0 deliver header names. */
export const ORIGIN_VERIFY_HEADER = "x-latchkey-origin-verify";

const digest = (value: string) => createHash("sha256").update(value).digest();

/** Constant-time membership: compares fixed-length digests, so neither value nor length leaks. */
export function isAcceptedOriginSecret(presented: string | undefined, accepted: string[]): boolean {
  if (presented === undefined) return false;
  const mine = digest(presented);
  let ok = false;
  for (const value of accepted) ok = timingSafeEqual(mine, digest(value)) || ok;
  return ok;
}

export function requireOriginVerify(accepted: string[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!isAcceptedOriginSecret(c.req.header(ORIGIN_VERIFY_HEADER), accepted)) {
      throw new AccessDenied("requests must be made to the issuer URL");
    }
    await next();
  };
}
