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
          return await openIssuer(flags).keys.rotate({ force: Boolean(flags.force) });
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
          return await openIssuer(flags).keys.revoke(args.kid!);
        } catch (err) {
          if (err instanceof RotationRefused) throw new CommandFailed(err.message);
          throw err;
        }
      },
    },
  },
};

function iso(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString();
}
