/**
 * SDK errors. Every failure has a stable `code` to match on; messages never contain a
 * secret, a password or a token.
 *
 * @example
 *   try { await client.getToken(); } catch (e) { if (e instanceof LatchkeyError && e.code === "invalid_client") rotateCredentials(); }
 */
export type LatchkeyErrorCode =
  | "invalid_client"
  | "invalid_grant"
  | "invalid_scope"
  | "invalid_target"
  | "invalid_request"
  | "unsupported_grant_type"
  | "logged_out"
  | "network_error"
  | "discovery_failed"
  | "server_error"
  | "invalid_token"
  | "insufficient_scope";

export class LatchkeyError extends Error {
  override name = "LatchkeyError";
  constructor(
    readonly code: LatchkeyErrorCode,
    message: string,
    /** HTTP status from the issuer, when there was a response. */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const KNOWN: ReadonlySet<string> = new Set(["invalid_client", "invalid_grant", "invalid_scope", "invalid_target", "invalid_request", "unsupported_grant_type"]);

/** Turns an issuer error response into a LatchkeyError (only the server's own words). */
export async function errorFromResponse(res: Response): Promise<LatchkeyError> {
  let body: { error?: unknown; error_description?: unknown } = {};
  try {
    body = (await res.json()) as typeof body;
  } catch {
    // not JSON
  }
  const error = typeof body.error === "string" ? body.error : "";
  const description = typeof body.error_description === "string" ? body.error_description : `HTTP ${res.status}`;
  const code: LatchkeyErrorCode = KNOWN.has(error) ? (error as LatchkeyErrorCode) : "server_error";
  return new LatchkeyError(code, `${error || "error"}: ${description}`, res.status);
}
