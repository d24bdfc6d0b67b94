/** Authorization server metadata (RFC 8414), listing only what this issuer really supports. */
import type { Config } from "../config.js";
import { grants } from "../tokens/grants/index.js";
import { ASSERTION_ALGORITHMS } from "../clients/assertion.js";

export function discoveryDocument(config: Config): Record<string, unknown> {
  const iss = config.issuer;
  return {
    issuer: iss,
    jwks_uri: `${iss}/.well-known/jwks.json`,
    token_endpoint: `${iss}/token`,
    revocation_endpoint: `${iss}/revoke`,
    grant_types_supported: Object.keys(grants),
    // "none" covers the refresh_token grant for people who logged in at /login.
    token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
    token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
    revocation_endpoint_auth_methods_supported: ["none"],
    // RFC 8414 section 2 / RFC 7662: callers authenticate as clients, any method they have.
    introspection_endpoint: `${iss}/introspect`,
    introspection_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "private_key_jwt"],
    introspection_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
    response_types_supported: [],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["RS256"],
    scopes_supported: config.userScopes,
    service_documentation: `${iss}/openapi.json`,
  };
}
