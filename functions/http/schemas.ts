/**
 * Request and response schemas. Handlers validate with these, and the OpenAPI document is
 * generated from the same objects, so the contract cannot drift from the code.
 */
import { z } from "zod";

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
