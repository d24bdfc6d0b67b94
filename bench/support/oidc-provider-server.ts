/**
 * Child process: node-oidc-provider (v9) configured the way a team would for machine clients
 * with JWT access tokens, as the baseline Latchkey's client_credentials grant is compared to:
 * - `features.clientCredentials` on; one confidential client (client_secret_basic) allowed the
 *   `read` scope;
 * - `features.resourceIndicators` (RFC 8707) with `getResourceServerInfo` returning
 *   `accessTokenFormat: "jwt"` signed RS256, so tokens are RFC 9068 JWTs like Latchkey's;
 * - an RSA-2048 RS256 signing key in its JWKS; its default in-memory adapter (JWT access
 *   tokens are not stored);
 * - on Node's http server (`provider.callback()`), 127.0.0.1.
 *
 * Env: BENCH_CLIENT_ID, BENCH_CLIENT_SECRET, BENCH_AUDIENCE.
 */
import { createServer } from "node:http";
import { generateKeyPairSync } from "node:crypto";
import { freePort } from "../../functions/local/server.js";
import { serveParent } from "./child.js";

export interface OidcProviderReady {
  url: string;
}

/** The parts of oidc-provider's API used here (the package ships no types). */
type ProviderCtor = new (
  issuer: string,
  configuration: Record<string, unknown>,
) => { callback(): (req: unknown, res: unknown) => void; on(event: string, fn: (...args: unknown[]) => void): void };

async function main(): Promise<void> {
  const clientId = required("BENCH_CLIENT_ID");
  const clientSecret = required("BENCH_CLIENT_SECRET");
  const audience = required("BENCH_AUDIENCE");
  const specifier: string = "oidc-provider";
  const { default: Provider } = (await import(specifier)) as { default: ProviderCtor };

  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: "jwk" }), kid: "bench-rs256", alg: "RS256", use: "sig" };

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const provider = new Provider(url, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        grant_types: ["client_credentials"],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: "client_secret_basic",
        scope: "read",
      },
    ],
    jwks: { keys: [signingKey] },
    scopes: ["read"],
    // The resource server's accessTokenTTL decides; stated so the provider need not guess.
    ttl: { ClientCredentials: (_ctx: unknown, token: { resourceServer?: { accessTokenTTL?: number } }) => token.resourceServer?.accessTokenTTL ?? 900 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resourceIndicator: string) => {
          if (resourceIndicator !== audience) throw new Error(`unknown resource ${resourceIndicator}`);
          return {
            scope: "read",
            audience,
            accessTokenTTL: 900,
            accessTokenFormat: "jwt",
            jwt: { sign: { alg: "RS256" } },
          };
        },
      },
    },
  });
  provider.on("server_error", (_ctx, err) => process.stderr.write(`oidc-provider server_error: ${String(err)}\n`));

  const server = createServer(provider.callback() as Parameters<typeof createServer>[0] & object);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  serveParent({ url } satisfies OidcProviderReady, {}, async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
}

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
}

main().catch((err: unknown) => {
  process.stderr.write(`oidc-provider bench server: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
