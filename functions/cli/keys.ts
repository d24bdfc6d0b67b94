/**
 * `latchkey keys list|rotate|revoke`: the keyring, by hand.
 *
 * @example
 *   npx latchkey keys list
 *   npx latchkey keys rotate --force
 *   npx latchkey keys revoke <kid>
 */
import { RotationRefused } from "../errors.js";
import type { Area } from "./command-line.js";
import { CommandFailed, openIssuer, targetFlags } from "./context.js";
import { publishWellKnownDocuments, type PublishResult } from "../storage/public-documents.js";

/** A JWK thumbprint kid (RFC 7638: base64url of a SHA-256 digest), which may start with `-`. */
const KID = /^[A-Za-z0-9_-]{16,}$/;

export const keys: Area = {
  summary: "the signing keys: list, rotate, revoke",
  sharedFlags: targetFlags,
  commands: {
    list: {
      summary: "show every key and its status",
      async run(_args, flags) {
        const issuer = openIssuer(flags);
        const state = await issuer.keys.read();
        if (!state) return { target: issuer.target, version: 0, keys: [] };
        return {
          target: issuer.target,
          version: state.version,
          keys: state.keys.map((k) => ({
            kid: k.kid,
            status: k.status,
            createdAt: iso(k.createdAt),
            ...(k.activatedAt ? { activatedAt: iso(k.activatedAt) } : {}),
            ...(k.deactivatedAt ? { deactivatedAt: iso(k.deactivatedAt) } : {}),
            ...(k.retiredAt ? { retiredAt: iso(k.retiredAt) } : {}),
            ...(k.revokedAt ? { revokedAt: iso(k.revokedAt) } : {}),
          })),
        };
      },
    },
    rotate: {
      summary: "one rotation step (refuses while verifiers could miss a key, unless --force)",
      flags: { force: { type: "boolean", help: "rotate even if verifiers caching the JWKS could miss a key" } },
      async run(_args, flags) {
        try {
          const issuer = openIssuer(flags);
          const result = await issuer.keys.rotate({ force: Boolean(flags.force) });
          return { ...result, ...(result.changed ? published(await publishWellKnownDocuments(issuer)) : {}) };
        } catch (err) {
          if (err instanceof RotationRefused) throw new CommandFailed(`rotation refused: ${err.message}`);
          throw err;
        }
      },
    },
    revoke: {
      summary: "a compromised key: every instance stops signing with it and drops it from the JWKS within 10 s",
      args: [{ name: "kid", pattern: KID }],
      async run(args, flags) {
        try {
          const issuer = openIssuer(flags);
          const result = await issuer.keys.revoke(args.kid!);
          return { ...result, ...published(await publishWellKnownDocuments(issuer, { invalidate: true })) };
        } catch (err) {
          if (err instanceof RotationRefused) throw new CommandFailed(err.message);
          throw err;
        }
      },
    },
  },
};

/**
 * With LATCHKEY_DOCUMENTS_BUCKET (and LATCHKEY_DISTRIBUTION_ID) set, as for a deployed stack,
 * a keyring change made here republishes the static /.well-known documents (and a revocation
 * invalidates them), as the rotation function does; locally there is nothing to publish.
 */
function published(result: PublishResult): Record<string, unknown> {
  if (!result.published.length) return {};
  return { documents: result.published, ...(result.invalidationId ? { invalidationId: result.invalidationId } : {}) };
}

function iso(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString();
}
