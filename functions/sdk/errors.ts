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

/**
 * Why the verifier refused a token (on `invalid_token` and `insufficient_scope` errors), stable
 * strings to match on and to log. None of them carries the token or the expected values.
 * - `missing`: no bearer token; `malformed`: not a well-formed JWT, or a required claim absent;
 * - `signature`: not signed by a key in the issuer's JWKS with RS256 (including an unknown kid);
 * - `expired`: past `exp`; `not_yet_valid`: before `nbf` or issued in the future;
 * - `issuer`: `iss` is not the issuer; `audience`: `aud` is not this API; `scope`: a required scope is missing;
 * - `revoked`: the issuer's introspection says the token is no longer active (`checkRevocation`).
 */
export type VerifyFailureReason = "missing" | "malformed" | "signature" | "expired" | "not_yet_valid" | "issuer" | "audience" | "scope" | "revoked";

export class LatchkeyError extends Error {
  override name = "LatchkeyError";
  /** For token verification failures: why (see VerifyFailureReason). */
  readonly reason?: VerifyFailureReason;
  constructor(
    readonly code: LatchkeyErrorCode,
    message: string,
    /** HTTP status from the issuer, when there was a response. */
    readonly status?: number,
    options?: { cause?: unknown; reason?: VerifyFailureReason },
  ) {
    super(message, options);
    if (options?.reason) this.reason = options.reason;
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
