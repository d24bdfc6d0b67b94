/**
 * `latchkey keys list|rotate|revoke`: the keyring, by hand.
 *
 * @example
 *   npx latchkey keys list
 *   npx latchkey keys rotate --force
 *   npx latchkey keys revoke <kid>
 */
import { RotationRefused } from "../errors.js";
import { openIssuer, UsageError, type TargetFlags } from "./context.js";

export const usage = `latchkey keys list                 show every key and its status
latchkey keys rotate [--force]     one rotation step (refuses if verifiers could miss a key, unless --force)
latchkey keys revoke <kid>         remove a key from the JWKS at once (a compromised key)`;

export async function keysCommand(args: string[], flags: TargetFlags & { force?: boolean }): Promise<unknown> {
  const [verb, ...rest] = args;
  const issuer = openIssuer(flags);
  switch (verb) {
    case "list": {
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
    }
    case "rotate":
      try {
        return await issuer.keys.rotate({ force: Boolean(flags.force) });
      } catch (err) {
        if (err instanceof RotationRefused) throw new UsageError(`rotation refused: ${err.message}`);
        throw err;
      }
    case "revoke": {
      const kid = rest[0];
      if (!kid) throw new UsageError("keys revoke needs a kid (see `latchkey keys list`)");
      try {
        return await issuer.keys.revoke(kid);
      } catch (err) {
        if (err instanceof RotationRefused) throw new UsageError(err.message);
        throw err;
      }
    }
    default:
      throw new UsageError(`unknown keys command ${verb ?? "(none)"}\n${usage}`);
  }
}

function iso(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString();
}
