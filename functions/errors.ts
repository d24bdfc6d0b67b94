/**
 * The error taxonomy. Every failure a client can cause is one of these classes, thrown from
 * anywhere and rendered to JSON in exactly one place (`http/app.ts`). Codes are RFC 6749
 * section 5.2 / RFC 6750 / RFC 7009 names where they exist, and are stable strings.
 */
export abstract class OAuthError extends Error {
  abstract readonly code: string;
  abstract readonly status: number;
  /** Extra response headers (WWW-Authenticate, Retry-After, Allow). */
  headers: Record<string, string> = {};
  /** What only the log may know (which check failed); logged with the request id, never sent. */
  detail: string | undefined;

  constructor(readonly description: string) {
    super(description);
  }

  override get name(): string {
    return this.constructor.name;
  }

  toJSON(): { error: string; error_description: string } {
    return { error: this.code, error_description: this.description };
  }
}

/** 400: malformed or missing parameter (RFC 6749 5.2). */
export class InvalidRequest extends OAuthError {
  readonly code = "invalid_request";
  readonly status = 400;
}

/** 400: the password breaks a rule; the description says which. */
export class InvalidPassword extends OAuthError {
  readonly code = "invalid_password";
  readonly status = 400;
}

/** 400: username malformed. */
export class InvalidUsername extends OAuthError {
  readonly code = "invalid_username";
  readonly status = 400;
}

/** 400: refresh token invalid, expired, revoked or reused (RFC 6749 5.2). */
export class InvalidGrant extends OAuthError {
  readonly code = "invalid_grant";
  readonly status = 400;
}

/** 400: the authorization endpoint supports response_type=code only (RFC 6749 4.1.2.1). */
export class UnsupportedResponseType extends OAuthError {
  readonly code = "unsupported_response_type";
  readonly status = 400;
}

/** 400: the client may not use this grant or flow (RFC 6749 5.2), e.g. a public client and client_credentials. */
export class UnauthorizedClient extends OAuthError {
  readonly code = "unauthorized_client";
  readonly status = 400;
}

/** 400: prompt=none and no usable browser session (OIDC Core 3.1.2.6). Sent by redirect. */
export class LoginRequired extends OAuthError {
  readonly code = "login_required";
  readonly status = 400;
}

/** 400: OIDC Core 6: request objects (`request`, `request_uri`) are not supported. */
export class RequestNotSupported extends OAuthError {
  readonly code: string;
  readonly status = 400;
  constructor(parameter: "request" | "request_uri") {
    super(`the ${parameter} parameter is not supported; send the authorization request as query parameters`);
    this.code = parameter === "request" ? "request_not_supported" : "request_uri_not_supported";
  }
}

/** 403: the sign-in form came without the CSRF token bound to this browser. */
export class InvalidCsrfToken extends OAuthError {
  readonly code = "invalid_csrf_token";
  readonly status = 403;
  constructor() {
    super("the form has expired or did not come from this browser; go back and try again");
  }
}

export class UnsupportedGrantType extends OAuthError {
  readonly code = "unsupported_grant_type";
  readonly status = 400;
}

export class UnsupportedTokenType extends OAuthError {
  readonly code = "unsupported_token_type";
  readonly status = 400;
}

export class InvalidScope extends OAuthError {
  readonly code = "invalid_scope";
  readonly status = 400;
}

/** 400: audience/resource not allowed (RFC 8707 section 2). */
export class InvalidTarget extends OAuthError {
  readonly code = "invalid_target";
  readonly status = 400;
}

/**
 * 401: client authentication failed (RFC 6749 5.2). Every cause answers with the same body, so
 * a caller cannot learn whether a client_id exists, which method it uses, or which check
 * failed; the cause is the `detail`, logged with the request id.
 */
export class InvalidClient extends OAuthError {
  static readonly DESCRIPTION = "client authentication failed";
  readonly code = "invalid_client";
  readonly status = 401;
  constructor(detail: string, scheme = "Basic") {
    super(InvalidClient.DESCRIPTION);
    this.detail = detail;
    this.headers["WWW-Authenticate"] = `${scheme} realm="latchkey", error="invalid_client"`;
  }
}

/** 401: username/password login failed. Same body for unknown user and wrong password. */
export class InvalidCredentials extends OAuthError {
  readonly code = "invalid_credentials";
  readonly status = 401;
  constructor() {
    super("username or password is incorrect");
    this.headers["WWW-Authenticate"] = 'Basic realm="latchkey"';
  }
}

/** 401: bearer token missing or invalid (RFC 6750 section 3.1). */
export class InvalidToken extends OAuthError {
  readonly code = "invalid_token";
  readonly status = 401;
  constructor(description: string) {
    super(description);
    this.headers["WWW-Authenticate"] =
      `Bearer realm="latchkey", error="invalid_token", error_description="${description.replace(/"/g, "'")}"`;
  }
}

/** 403: token lacks a required scope (RFC 6750 section 3.1). */
export class InsufficientScope extends OAuthError {
  readonly code = "insufficient_scope";
  readonly status = 403;
  constructor(description: string, scope: string) {
    super(description);
    this.headers["WWW-Authenticate"] = `Bearer realm="latchkey", error="insufficient_scope", scope="${scope}"`;
  }
}

/** 403: the caller is authenticated but not allowed (registration off, client may not sign). */
export class AccessDenied extends OAuthError {
  readonly code = "access_denied";
  readonly status = 403;
}

export class NotFound extends OAuthError {
  readonly code = "not_found";
  readonly status = 404;
}

export class MethodNotAllowed extends OAuthError {
  readonly code = "method_not_allowed";
  readonly status = 405;
  constructor(description: string, allow: string[]) {
    super(description);
    this.headers["Allow"] = allow.join(", ");
  }
}

export class Conflict extends OAuthError {
  readonly code = "conflict";
  readonly status = 409;
}

/** 409 for a username that is taken. */
export class UsernameTaken extends OAuthError {
  readonly code = "username_taken";
  readonly status = 409;
}

export class PayloadTooLarge extends OAuthError {
  readonly code = "payload_too_large";
  readonly status = 413;
}

export class UnsupportedMediaType extends OAuthError {
  readonly code = "unsupported_media_type";
  readonly status = 415;
}

export class TooManyRequests extends OAuthError {
  readonly code = "too_many_requests";
  readonly status = 429;
  constructor(description: string, retryAfterSeconds: number) {
    super(description);
    this.headers["Retry-After"] = String(Math.max(1, Math.ceil(retryAfterSeconds)));
  }
}

/** 503: no signing key can be loaded (keyring missing or storage down). */
export class TemporarilyUnavailable extends OAuthError {
  readonly code = "temporarily_unavailable";
  readonly status = 503;
  constructor(description: string, retryAfterSeconds = 5) {
    super(description);
    this.headers["Retry-After"] = String(retryAfterSeconds);
  }
}

/**
 * An authorization-endpoint error reported to the client by redirect (RFC 6749 section
 * 4.1.2.1) once client_id and redirect_uri are trusted: `error`, `error_description`, `state`
 * and `iss` (RFC 9207) go back in the query. Rendered in http/app.ts like every other error.
 */
export class AuthorizationErrorRedirect extends Error {
  override name = "AuthorizationErrorRedirect";
  constructor(
    readonly error: OAuthError,
    readonly redirectUri: string,
    readonly state: string | undefined,
  ) {
    super(error.description);
  }
}

/** Operational (non-HTTP) refusal, e.g. a rotation that would break the publish-ahead rule. */
export class RotationRefused extends Error {
  override name = "RotationRefused";
  readonly code = "rotation_refused";
}
