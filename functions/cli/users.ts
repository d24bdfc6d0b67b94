/**
 * `latchkey users ...`: people's accounts, by hand. Every change is also an audit record (on
 * stderr, with the command's request id), and every change that ends sessions makes the affected access tokens
 * stop passing at /validate and /introspect within the bound README states.
 *
 * @example
 *   npx latchkey users show alice
 *   npx latchkey users disable alice
 *   npx latchkey users reset-password alice   # prints a one-time link, valid 15 minutes
 */
import type { Account } from "../users/users.js";
import { UsageError, type ArgSpec, type Command } from "./command-line.js";
import { CommandFailed, failOnOAuthError, openIssuer, targetFlags } from "./context.js";

const USER: ArgSpec = { name: "username|sub" };

export const users = {
  summary: "people: list, show, disable, enable, delete, revoke-sessions, reset-password",
  sharedFlags: targetFlags,
  commands: {
    list: {
      summary: "a page of accounts (never password hashes)",
      flags: {
        limit: { type: "string", value: "N", help: "accounts per page, 1-1000 (default 100)" },
        cursor: { type: "string", value: "C", help: "the cursor the previous page printed" },
      },
      async run(_args, f) {
        const limit = f.limit === undefined ? 100 : Number(f.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError("--limit must be a whole number from 1 to 1000");
        const page = await failOnOAuthError(() => openIssuer(f).users.list(limit, f.cursor === undefined ? undefined : String(f.cursor)), UsageError);
        return { users: page.accounts.map(describeAccount), ...(page.cursor ? { cursor: page.cursor } : {}) };
      },
    },
    show: {
      summary: "one account, by username or sub",
      args: [USER],
      async run(args, f) {
        const account = await openIssuer(f).users.find(args["username|sub"]!);
        if (!account) throw new CommandFailed(`no user ${args["username|sub"]} (see \`latchkey users list\`)`);
        return describeAccount(account);
      },
    },
    disable: {
      summary: "refuse sign-in and refresh, and revoke every token it holds",
      args: [USER],
      async run(args, f) {
        return describeAccount(await failOnOAuthError(() => openIssuer(f).accounts.setDisabled(args["username|sub"]!, true)));
      },
    },
    enable: {
      summary: "allow a disabled account to sign in again (its old tokens stay revoked)",
      args: [USER],
      async run(args, f) {
        return describeAccount(await failOnOAuthError(() => openIssuer(f).accounts.setDisabled(args["username|sub"]!, false)));
      },
    },
    delete: {
      summary: "remove the account; the username is free again, its tokens stay revoked",
      args: [USER],
      async run(args, f) {
        const account = await failOnOAuthError(() => openIssuer(f).accounts.remove(args["username|sub"]!));
        return { deleted: true, sub: account.sub, username: account.username };
      },
    },
    "revoke-sessions": {
      summary: "sign the person out everywhere (refresh tokens and access tokens)",
      args: [USER],
      async run(args, f) {
        const account = await failOnOAuthError(() => openIssuer(f).accounts.revokeSessions(args["username|sub"]!));
        return { sessionsRevoked: true, sub: account.sub, username: account.username };
      },
    },
    "reset-password": {
      summary: "a one-time link (15 minutes) to a page where the person sets a new password",
      args: [USER],
      async run(args, f) {
        const issuer = openIssuer(f);
        if (issuer.config.issuer === "https://issuer.invalid") {
          throw new UsageError("users reset-password needs the issuer's public URL for the link: pass --issuer URL (or set LATCHKEY_ISSUER)");
        }
        const { account, link, expiresAt } = await failOnOAuthError(() => issuer.accounts.issueReset(args["username|sub"]!));
        return { sub: account.sub, username: account.username, link, expiresAt: iso(expiresAt) };
      },
    },
  } satisfies Record<string, Command>,
};

/** An account as shown to admins: never the password hash. */
export function describeAccount(account: Account): Record<string, unknown> {
  return {
    sub: account.sub,
    username: account.username,
    disabled: account.disabled,
    createdAt: iso(account.createdAt),
    ...(account.passwordChangedAtMs !== undefined ? { passwordChangedAt: new Date(account.passwordChangedAtMs).toISOString() } : {}),
    ...(account.sessionsRevokedAt !== undefined ? { sessionsRevokedAt: iso(account.sessionsRevokedAt) } : {}),
  };
}

function iso(s: number): string {
  return new Date(s * 1000).toISOString();
}
