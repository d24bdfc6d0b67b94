/**
 * Request and response schemas. Handlers validate with these, and the OpenAPI document is
 * generated from the same objects, so the contract cannot drift from the code.
 */
import * as z from "zod";

const text = (max: number) => z.string().max(max);

export const RegisterRequest = z
  .object({
    username: text(256).describe("3-64 characters: letters, digits and . _ @ + -; case-insensitive"),
    password: text(4096).describe("NIST SP 800-63B rules: at least 15 characters by default, no composition rules"),
  })
  .strict();

export const LoginRequest = z
  .object({
    username: text(256),
    password: text(4096),
    audience: text(512).optional().describe("one of the configured user audiences; defaults to the first"),
    scope: text(1024).optional().describe("space-delimited subset of the configured user scopes"),
  })
  .strict();

export const RefreshRequest = z.object({ refresh_token: text(512) }).strict();

/**
 * /token accepts every grant's parameters; each grant checks the ones it needs. Unknown
 * parameters are ignored, as RFC 6749 section 3.2 requires (so is RFC 7009's /revoke).
 */
export const TokenRequest = z
  .object({
    grant_type: text(128),
    refresh_token: text(512).optional(),
    code: text(256).optional(),
    redirect_uri: text(2048).optional(),
    code_verifier: text(256).optional(),
    scope: text(1024).optional(),
    audience: text(512).optional(),
    resource: text(512).optional(),
    client_id: text(256).optional(),
    client_secret: text(512).optional(),
    client_assertion: text(16384).optional(),
    client_assertion_type: text(256).optional(),
  });

export const RevokeRequest = z
  .object({
    token: text(16384),
    token_type_hint: text(64).optional(),
    client_id: text(256).optional(),
    client_secret: text(512).optional(),
  });

/** POST /account/password: the current password, and a new one under the /register rules. */
export const ChangePasswordRequest = z
  .object({
    current_password: text(4096),
    new_password: text(4096).describe("NIST SP 800-63B rules, as at /register"),
  })
  .strict();

/** DELETE /account: the password confirms it. */
export const DeleteAccountRequest = z.object({ password: text(4096) }).strict();

/** GET /account/reset: the link's secret. */
export const ResetPageQuery = z.object({ token: text(128).describe("the secret from `latchkey users reset-password`") }).strict();

/** POST /account/reset: the hosted form. */
export const ResetPasswordForm = z.object({ token: text(128), password: text(4096).optional() }).strict();

/** POST /introspect (RFC 7662 section 2.1), with client authentication as for /token. */
export const IntrospectRequest = z.object({
  token: text(16384),
  token_type_hint: text(64).optional(),
  client_id: text(256).optional(),
  client_secret: text(512).optional(),
  client_assertion: text(16384).optional(),
  client_assertion_type: text(256).optional(),
});

/** RFC 7662 section 2.2: only `active` for anything that is not an active token. */
export const IntrospectResponse = z.object({
  active: z.boolean(),
  sub: z.string().optional(),
  client_id: z.string().optional(),
  scope: z.string().optional(),
  aud: z.union([z.string(), z.array(z.string())]).optional(),
  iss: z.string().optional(),
  exp: z.number().int().optional(),
  iat: z.number().int().optional(),
  token_type: z.string().optional(),
  sid: z.string().optional(),
});

export const TokenResponse = z.object({
  access_token: z.string(),
  token_type: z.literal("Bearer"),
  expires_in: z.number().int(),
  refresh_token: z.string().optional(),
  scope: z.string().optional(),
});

export const RegisterResponse = z.object({ sub: z.string(), username: z.string() });

export const ErrorResponse = z.object({ error: z.string(), error_description: z.string() });

/** POST /sign: caller-chosen claims, minted for clients granted it (client auth as for /token). */
export const SignRequest = z
  .object({
    claims: z.record(z.string(), z.unknown()).default({}).describe("claims to include; iss, iat, exp, nbf, jti, client_id are server-set"),
    audience: text(512).optional().describe("one of the client's allowed audiences; defaults to the first"),
    expires_in: z.number().int().positive().optional().describe("lifetime in seconds, at most the client's token lifetime"),
    client_id: text(256).optional(),
    client_secret: text(512).optional(),
    client_assertion: text(16384).optional(),
    client_assertion_type: text(256).optional(),
  })
  .strict();

export const SignResponse = z.object({
  access_token: z.string(),
  token_type: z.literal("Bearer"),
  expires_in: z.number().int(),
});

/** GET /validate query: requirements the token must meet. Each parameter at most once. */
export const ValidateQuery = z
  .object({
    scope: text(1024).optional().describe("space-delimited scopes the token must all carry"),
    audience: text(512)
      .optional()
      .describe("the audience the token must be issued for; required unless the issuer sets LATCHKEY_VALIDATE_AUDIENCE"),
  })
  .strict();

export const ValidateResponse = z.object({
  active: z.literal(true),
  sub: z.string(),
  client_id: z.string().optional(),
  scope: z.string().optional(),
  aud: z.union([z.string(), z.array(z.string())]),
  exp: z.number().int(),
});

/** GET/POST /authorize query: the authorization request (OIDC Core 3.1.2.1, RFC 7636 4.3). */
export const AuthorizeQuery = z.object({
  response_type: z.literal("code"),
  client_id: text(256),
  redirect_uri: text(2048).describe("exactly as registered; a loopback http URI may use any port (RFC 8252 7.3)"),
  code_challenge: text(43).describe("BASE64URL(SHA256(code_verifier))"),
  code_challenge_method: z.literal("S256"),
  scope: text(1024).optional().describe("within the client's scopes; include openid for an ID token"),
  state: text(2048).optional(),
  nonce: text(512).optional(),
  prompt: z.enum(["none", "login"]).optional(),
  max_age: z.number().int().nonnegative().optional(),
  login_hint: text(256).optional(),
  audience: text(512).optional(),
  resource: text(512).optional(),
  response_mode: z.literal("query").optional(),
});

/** The hosted sign-in and registration forms (application/x-www-form-urlencoded). */
export const SignInForm = z
  .object({
    username: text(256).default(""),
    password: text(4096).default(""),
    csrf_token: text(128).optional().describe("the token bound to this browser by the form's page"),
  })
  .strict();

/** POST /userinfo may carry the token in the body (RFC 6750 section 2.2). */
export const UserinfoForm = z.object({ access_token: text(16384).optional() }).strict();

export const UserinfoResponse = z
  .object({ sub: z.string(), preferred_username: z.string().optional() })
  .loose();

/** GET/POST /logout (OpenID Connect RP-Initiated Logout 1.0 section 2). */
export const LogoutQuery = z.object({
  id_token_hint: text(16384).optional().describe("an ID token this issuer gave the client (expired is fine)"),
  client_id: text(256).optional(),
  post_logout_redirect_uri: text(2048).optional().describe("exactly as registered for the client"),
  state: text(2048).optional(),
});

export const LogoutForm = z
  .object({ csrf_token: text(128).optional() })
  .strict();
