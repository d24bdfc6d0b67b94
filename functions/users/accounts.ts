/**
 * The account lifecycle, on top of the user aggregate (functions/users/users.ts), the
 * revocation state (functions/revocations/) and reset links (functions/users/password-resets.ts):
 * self-service with a person's access token (change password, sign out everywhere, delete the
 * account) and administration from the CLI (disable, enable, delete, revoke sessions, reset).
 *
 * Every change is written in the same order: first the revocation mark (so the affected
 * access tokens stop passing at /validate and /introspect), then the account (which ends the
 * refresh-token families and browser sessions, checked when they are used), then the event.
 * A failure half way leaves more revoked, never less, and a retry completes it.
 *
 * Browser sessions (OIDC sign-in) are ended through the `BrowserSessionStore` hook when the
 * issuer has them (pass its sessions module to the constructor): every change that ends the
 * account's sessions ends them too, a password change all but the caller's. Whoever resumes
 * a session can also ask `users.requireLiveSession(userKey, sub, {sid, createdAt})`, and a
 * logout calls `revocations.revokeSession(sid)` so the session's access tokens stop passing.
 *
 * @example
 *   await accounts.changePassword({ sub, sid }, current, next);
 */
import type { Config } from "../config.js";
import { AccessDenied, InvalidCredentials, InvalidGrant, InvalidRequest } from "../errors.js";
import type { Revocations } from "../revocations/revocations.js";
import { audit } from "../observability/audit.js";
import type { RequestContext } from "../log.js";
import { nowSeconds } from "../storage/dynamo.js";
import type { PasswordResets } from "./password-resets.js";
import type { Account, Users } from "./users.js";

/** Who calls a self-service route: the verified access token's subject and session. */
export interface Caller {
  sub: string;
  sid?: string | undefined;
}

/** What Accounts needs of browser sessions (OIDC sign-in): end a person's sessions, maybe but one. */
export interface BrowserSessionStore {
  revokeAllForSubject(sub: string, options?: { exceptSid?: string | undefined; context?: RequestContext | undefined }): Promise<unknown>;
}

export class Accounts {
  constructor(
    private readonly config: Config,
    private readonly users: Users,
    private readonly revocations: Revocations,
    private readonly resets: PasswordResets,
    private readonly browserSessions?: BrowserSessionStore,
  ) {}

  /** The caller's account; 403 for a token that belongs to no account (a machine client's). */
  async ofCaller(caller: Caller): Promise<Account> {
    const account = await this.users.bySub(caller.sub);
    if (!account) throw new AccessDenied("this token does not belong to a person's account");
    return account;
  }

  /**
   * POST /account/password: the current password (through the /login lockout), then the new
   * one (the /register rules). Every other session ends; the caller's stays.
   */
  async changePassword(caller: Caller, currentPassword: string, newPassword: string, context?: RequestContext): Promise<void> {
    const account = await this.ofCaller(caller);
    await this.users.checkNewPassword(account, newPassword); // a rule broken costs no attempt
    await this.#verifyPassword(account, currentPassword, context);
    const hash = await this.users.hashPassword(newPassword);
    const at = nowSeconds();
    await this.revocations.revokeSubject(account.sub, { before: at, exceptSid: caller.sid });
    await this.users.setPassword(account, hash, at, caller.sid);
    await this.browserSessions?.revokeAllForSubject(account.sub, { exceptSid: caller.sid, context });
    audit("user.password_changed", { sub: account.sub }, context);
  }

  /** DELETE /account: the password, then the account goes and its tokens stop passing. */
  async deleteOwn(caller: Caller, password: string, context?: RequestContext): Promise<void> {
    const account = await this.ofCaller(caller);
    await this.#verifyPassword(account, password, context);
    await this.#remove(account, context);
  }

  /** DELETE /account/sessions: every session of the caller ends, this one included. */
  async signOutEverywhere(caller: Caller, context?: RequestContext): Promise<void> {
    await this.#endSessions(await this.ofCaller(caller), context);
  }

  /** Admin: disable (sign-in, refresh and every token refused) or enable again. */
  async setDisabled(ref: string, disabled: boolean): Promise<Account> {
    const account = await this.#find(ref);
    if (disabled) {
      const at = nowSeconds();
      await this.revocations.revokeSubject(account.sub, { before: at });
      await this.users.setDisabled(account, true, at);
      await this.browserSessions?.revokeAllForSubject(account.sub);
      audit("user.disabled", { sub: account.sub });
    } else {
      await this.users.setDisabled(account, false);
      audit("user.enabled", { sub: account.sub });
    }
    return (await this.users.bySub(account.sub)) ?? account;
  }

  /** Admin: delete the account; the username is free again, the old sub's tokens stay refused. */
  async remove(ref: string): Promise<Account> {
    const account = await this.#find(ref);
    await this.#remove(account);
    return account;
  }

  /** Admin: end every session of the account. */
  async revokeSessions(ref: string): Promise<Account> {
    const account = await this.#find(ref);
    await this.#endSessions(account);
    return account;
  }

  /** Admin: a one-time link (15 minutes) to the hosted page where the person sets a new password. */
  async issueReset(ref: string): Promise<{ account: Account; link: string; expiresAt: number }> {
    const account = await this.#find(ref);
    const { secret, expiresAt } = await this.resets.issue(account);
    audit("user.password_reset_issued", { sub: account.sub });
    return { account, link: `${this.config.issuer}/account/reset?token=${secret}`, expiresAt };
  }

  /** Whether a reset link can still be used (the page's GET; no side effects). */
  async resetUsable(secret: string): Promise<boolean> {
    const pending = await this.resets.peek(secret);
    if (!pending) return false;
    const account = await this.users.byKey(pending.user);
    return Boolean(account && stillCurrent(account, pending));
  }

  /**
   * The hosted page's POST: checks the new password against the rules first (a refused
   * password does not spend the link), then uses the link up, sets the password and ends
   * every session.
   */
  async completeReset(secret: string, newPassword: string, context?: RequestContext): Promise<void> {
    const pending = await this.resets.peek(secret);
    const account = pending ? await this.users.byKey(pending.user) : undefined;
    if (!pending || !account || !stillCurrent(account, pending)) throw new InvalidGrant("this reset link is invalid, used or expired");
    await this.users.checkNewPassword(account, newPassword);
    if (!(await this.resets.consume(secret))) throw new InvalidGrant("this reset link is invalid, used or expired");
    const hash = await this.users.hashPassword(newPassword);
    const at = nowSeconds();
    await this.revocations.revokeSubject(account.sub, { before: at });
    await this.users.setPassword(account, hash, at);
    await this.browserSessions?.revokeAllForSubject(account.sub, { context });
    audit("user.password_reset", { sub: account.sub }, context);
  }

  async #find(ref: string): Promise<Account> {
    const account = await this.users.find(ref);
    if (!account) throw new InvalidRequest(`no user ${ref}`);
    return account;
  }

  /** The account's password, through the per-username lockout (429 when locked). */
  async #verifyPassword(account: Account, password: string, context: RequestContext | undefined): Promise<void> {
    try {
      await this.users.verifyPassword(account, password, context);
    } catch (err) {
      if (err instanceof InvalidCredentials) throw new AccessDenied("the password is incorrect");
      throw err;
    }
  }

  async #endSessions(account: Account, context?: RequestContext): Promise<void> {
    const at = nowSeconds();
    await this.revocations.revokeSubject(account.sub, { before: at });
    await this.users.endSessions(account, at);
    await this.browserSessions?.revokeAllForSubject(account.sub, { context });
    audit("user.sessions_revoked", { sub: account.sub }, context);
  }

  async #remove(account: Account, context?: RequestContext): Promise<void> {
    await this.revocations.revokeSubject(account.sub, { before: nowSeconds() });
    await this.users.remove(account);
    await this.browserSessions?.revokeAllForSubject(account.sub, { context });
    audit("user.deleted", { sub: account.sub }, context);
  }
}

/** A link issued before the account's last password change (or for an older account of that name) is void. */
function stillCurrent(account: Account, pending: { sub: string; issuedAtMs: number }): boolean {
  return account.sub === pending.sub && (account.passwordChangedAtMs ?? 0) <= pending.issuedAtMs;
}
