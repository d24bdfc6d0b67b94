/**
 * Authorization server metadata (RFC 8414) and OpenID Provider metadata (OIDC Discovery 1.0
 * section 3), one document for both, listing only what this issuer really supports.
 */
import type { Config } from "../config.js";
import { grants } from "../tokens/grants/index.js";
import { ASSERTION_ALGORITHMS } from "../clients/assertion.js";

export function discoveryDocument(config: Config): Record<string, unknown> {
  const iss = config.issuer;
  return {
    issuer: iss,
    jwks_uri: `${iss}/.well-known/jwks.json`,
    authorization_endpoint: `${iss}/authorize`,
    token_endpoint: `${iss}/token`,
    userinfo_endpoint: `${iss}/userinfo`,
    end_session_endpoint: `${iss}/logout`,
    revocation_endpoint: `${iss}/revoke`,
    grant_types_supported: Object.keys(grants),
    // "none": public clients (authorization_code with PKCE), and the refresh_token grant for people who logged in at /login.
    token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
    token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
    revocation_endpoint_auth_methods_supported: ["none"],
    // RFC 8414 section 2 / RFC 7662: callers authenticate as clients, any method they have.
    introspection_endpoint: `${iss}/introspect`,
    introspection_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "private_key_jwt"],
    introspection_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
    response_types_supported: ["code"],
    response_modes_supported: ["query"],
    code_challenge_methods_supported: ["S256"],
    // RFC 9207: every authorization response carries iss.
    authorization_response_iss_parameter_supported: true,
    prompt_values_supported: ["none", "login"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["RS256"],
    scopes_supported: [...new Set(["openid", ...config.userScopes])],
    claims_supported: ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid", "preferred_username"],
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    service_documentation: `${iss}/openapi.json`,
  };
}
