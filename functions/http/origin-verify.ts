/**
 * Callers reach the deployed issuer through CloudFront only. CloudFront adds a secret header
 * to every origin request (infra/edge.ts); when LATCHKEY_ORIGIN_VERIFY names accepted values,
 * a request without one of them (someone calling the execute-api endpoint directly, skipping
 * the edge's WAF and caching) is refused with 403 before any route runs. Two values are
 * accepted while the secret rotates (current and previous). Local mode sets none.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./env.js";
import { AccessDenied } from "../errors.js";
import { constantTimeIncludes } from "../security/constant-time.js";
import { requestHeader } from "./request-header.js";

/** Lower-case, as HTTP/2 and API Gateway payload 2.0 deliver header names. */
export const ORIGIN_VERIFY_HEADER = "x-latchkey-origin-verify";

/** Constant-time membership: neither the secret nor which one matched leaks through timing. */
export function isAcceptedOriginSecret(presented: string | undefined, accepted: string[]): boolean {
  return presented !== undefined && constantTimeIncludes(presented, accepted);
}

export function requireOriginVerify(accepted: string[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!isAcceptedOriginSecret(requestHeader(c, ORIGIN_VERIFY_HEADER), accepted)) {
      throw new AccessDenied("requests must be made to the issuer URL");
    }
    await next();
  };
}
