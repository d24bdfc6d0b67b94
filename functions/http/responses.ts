import { createHash } from "node:crypto";

/** Response helpers shared by routes. */

/** Token responses must not be cached (RFC 6749 section 5.1). */
export function noStore(res: Response): Response {
  res.headers.set("Cache-Control", "no-store");
  res.headers.set("Pragma", "no-cache");
  return res;
}

/** A strong ETag for a response body. */
export function etagOf(body: string): string {
  return `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
}
