/**
 * Client authentication at the token endpoint (RFC 6749 section 2.3): client_secret_basic,
 * client_secret_post, private_key_jwt (RFC 7523), or a secret and an assertion together for
 * clients that require both. Every failure is 401 invalid_client with WWW-Authenticate and one
 * generic description (the cause goes to the log); unknown and known ids cost the same work:
 * a secret is digested and compared either way, and unknown ids are cached like known ones.
 */
import type { Config } from "../config.js";
import { InvalidClient, InvalidRequest } from "../errors.js";
import { activeDigests, type Client, type Clients } from "./clients.js";
import { assertionClientId, JWT_BEARER_ASSERTION, type AssertionVerifier } from "./assertion.js";

export interface ClientCredentials {
  authorization?: string | undefined;
  client_id?: string | undefined;
  client_secret?: string | undefined;
  client_assertion?: string | undefined;
  client_assertion_type?: string | undefined;
}

/** "none": a public client identified by client_id alone (OIDC Core 9, RFC 6749 2.1). */
export type AuthMethod = "client_secret_basic" | "client_secret_post" | "private_key_jwt" | "none";

export interface AuthenticatedClient {
  client: Client;
  methods: AuthMethod[];
}

export class ClientAuthenticator {
  constructor(
    private readonly config: Config,
    private readonly clients: Clients,
    private readonly assertions: AssertionVerifier,
  ) {}

  async authenticate(creds: ClientCredentials): Promise<AuthenticatedClient> {
    const basic = parseBasic(creds.authorization);
    const scheme = "Basic";
    if (basic && creds.client_secret !== undefined) {
      throw new InvalidRequest("use one of client_secret_basic and client_secret_post, not both (RFC 6749 2.3)");
    }
    const secret = basic?.secret ?? creds.client_secret;
    const assertion = creds.client_assertion;
    if (assertion !== undefined && creds.client_assertion_type !== JWT_BEARER_ASSERTION) {
      throw new InvalidRequest(`client_assertion_type must be ${JWT_BEARER_ASSERTION}`);
    }
    if (assertion === undefined && creds.client_assertion_type !== undefined) {
      throw new InvalidRequest("client_assertion_type without client_assertion");
    }
    const ids = new Set(
      [basic?.id, creds.client_id, assertion ? assertionClientId(assertion) ?? "(invalid)" : undefined].filter(
        (x): x is string => x !== undefined,
      ),
    );
    if (ids.size === 0) throw new InvalidClient("no client credentials", scheme);
    if (ids.size > 1) throw new InvalidClient("the credentials name different clients", scheme);
    const [clientId] = ids as Set<string>;
    // Both are cached on a warm instance (taken without waiting); a cold one reads them in parallel.
    const hit = this.clients.cached(clientId!);
    const loadedPepper = this.clients.digester.pepperIfLoaded();
    const [client, pepper] =
      hit && loadedPepper ? [hit.client, loadedPepper] : await Promise.all([this.clients.get(clientId!), this.clients.digester.pepper()]);

    const methods: AuthMethod[] = [];
    if (secret !== undefined) {
      // Compare even for unknown clients so timing does not reveal which ids exist.
      const digests = client ? activeDigests(client) : [];
      const ok = pepper ? this.clients.digester.matches(secret, digests, pepper) : false;
      if (!client) throw new InvalidClient("unknown client_id", scheme);
      if (!ok) throw new InvalidClient("the secret does not match an active secret of this client", scheme);
      methods.push(basic ? "client_secret_basic" : "client_secret_post");
    }
    if (!client) throw new InvalidClient("unknown client_id", scheme);
    if (assertion !== undefined) {
      if (client.auth === "secret" || client.auth === "none") throw new InvalidClient("this client does not use private_key_jwt", scheme);
      await this.assertions.verify(assertion, client);
      methods.push("private_key_jwt");
    }
    const hasSecret = methods.includes("client_secret_basic") || methods.includes("client_secret_post");
    const hasAssertion = methods.includes("private_key_jwt");
    if (client.auth === "both" && !(hasSecret && hasAssertion)) {
      throw new InvalidClient("this client must authenticate with both its secret and a signed assertion", scheme);
    }
    if (client.auth === "secret" && !hasSecret) throw new InvalidClient("this client must authenticate with its secret", scheme);
    if (client.auth === "private_key_jwt" && !hasAssertion) {
      throw new InvalidClient("this client must authenticate with a signed assertion (private_key_jwt)", scheme);
    }
    if (client.auth === "none") {
      // A public client has no credentials; a secret or assertion sent for it already failed above.
      methods.push("none");
    }
    if (!client.enabled) throw new InvalidClient("client is disabled", scheme);
    return { client, methods };
  }
}

/** RFC 6749 section 2.3.1: id and secret are form-urlencoded before Basic encoding. */
function parseBasic(header: string | undefined): { id: string; secret: string } | undefined {
  if (!header) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=._~-]+)\s*$/i.exec(header);
  if (!match) {
    if (/^Basic\b/i.test(header)) throw new InvalidClient("malformed Basic credentials");
    return undefined; // another scheme (e.g. Bearer) is not client authentication
  }
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) throw new InvalidClient("malformed Basic credentials");
  try {
    return {
      id: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, " ")),
      secret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, " ")),
    };
  } catch {
    throw new InvalidClient("malformed Basic credentials");
  }
}
