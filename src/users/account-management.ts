import type { Logger } from '../platform/logger.js';
import { isUserId, MatrixError, type UserId } from '../protocol/index.js';
import type { PasswordHasher } from './passwords.js';
import { passwordStage } from './password-stage.js';
import type { AccountRooms, AccountStore, Requester } from './ports.js';
import type { AuthDict, Flow, StageCheck, Uia } from './uia.js';

/**
 * What a logged-in user does to their own account: change the password, deactivate the account. Both are
 * confirmed with the current password (user-interactive auth), as the spec and every client expect.
 */

export const PASSWORD_FLOWS: readonly Flow[] = [['m.login.password']];
export const DEACTIVATE_FLOWS: readonly Flow[] = [['m.login.password']];
/** A password reset proves an address on the account instead of the password. */
export const RESET_FLOWS: readonly Flow[] = [['m.login.email.identity']];

/** The memberships a deactivated account gives up (Synapse: joins, invites and knocks). */
const LEFT_ON_DEACTIVATION = ['join', 'invite', 'knock'] as const;

export interface AccountManagementDeps {
  readonly store: Pick<AccountStore, 'user' | 'setPassword' | 'deactivateUser' | 'deleteAllDevices'>;
  readonly uia: Uia;
  readonly passwords: PasswordHasher;
  readonly rooms: AccountRooms;
  readonly log: Logger;
  /** Told of an account deactivated with erasure, once stored: every process must serve its events redacted. */
  readonly erased?: (userId: string) => void;
  /** Resetting a forgotten password by email (account-threepids.ts); absent: no mail, no reset. */
  readonly emailReset?: {
    readonly stage: StageCheck;
    readonly ownerOfUia: (uiaSession: string) => Promise<string | undefined>;
  };
  /** Who may use the admin endpoints (Synapse's deactivate and reset_password); absent: nobody. */
  readonly isServerAdmin?: (userId: string) => Promise<boolean>;
}

export function createAccountManagement(deps: AccountManagementDeps) {
  const { store, uia, passwords, rooms, log } = deps;

  function confirm(requester: Requester, operation: string, flows: readonly Flow[], auth: AuthDict | undefined) {
    if (requester.isGuest) {
      throw new MatrixError('M_GUEST_ACCESS_FORBIDDEN', 'Guest accounts have no password; register an account first');
    }
    return uia.check(operation, flows, auth, { 'm.login.password': passwordStage(deps, requester.userId) });
  }

  /** Leaves every room the user is in, invited to or knocking on; a room that refuses is logged and skipped. */
  async function leaveAllRooms(userId: UserId): Promise<void> {
    for (const membership of LEFT_ON_DEACTIVATION) {
      for (const roomId of await rooms.roomsWithMembership(userId, membership)) {
        try {
          await rooms.leave(roomId, userId);
        } catch (err) {
          log.warn({ err, roomId, userId, membership }, 'deactivated account could not leave a room');
        }
      }
    }
  }

  return {
    /**
     * Confirms an account operation with the user's password (user-interactive auth), for the other
     * services that ask it (adding an email address).
     */
    async confirmWithPassword(requester: Requester, operation: string, auth: AuthDict | undefined): Promise<void> {
      await confirm(requester, operation, PASSWORD_FLOWS, auth);
    },

    /**
     * POST /account/password. With logoutDevices (the spec's default) every other device of the user is
     * logged out and deleted; the one asking stays logged in.
     */
    async changePassword(requester: Requester | null, newPassword: string, logoutDevices: boolean, auth: AuthDict | undefined): Promise<void> {
      // Checked before auth, so the user does not type their password for a request that cannot succeed.
      if (newPassword === '') throw new MatrixError('M_MISSING_PARAM', 'new_password must not be empty');
      if (requester === null) {
        await resetByEmail(newPassword, logoutDevices, auth);
        return;
      }
      await confirm(requester, 'POST /account/password', PASSWORD_FLOWS, auth);
      const hash = await passwords.hash(newPassword);
      await store.setPassword(requester.userId, hash, logoutDevices ? (requester.deviceId ?? undefined) : undefined);
    },

    /**
     * POST /account/deactivate: the account can no longer log in, every device and token goes, the profile
     * is cleared, and the user leaves their rooms. The user id is never handed out again. With `erase`, the
     * user's messages are from now on served redacted to whoever was not in the room when they were sent,
     * and to other servers (src/rooms/erasure.ts).
     */
    async deactivate(requester: Requester, auth: AuthDict | undefined, erase = false): Promise<void> {
      // An application service deactivates its users without their passwords (they have none), as Synapse.
      if (requester.appservice === undefined) await confirm(requester, 'POST /account/deactivate', DEACTIVATE_FLOWS, auth);
      await close(requester.userId, erase);
    },

    /**
     * POST /_synapse/admin/v1/deactivate/{userId}: a server admin closes a local account (as the user
     * could), erasing it when asked. Deactivating an account already closed does it again (Synapse's answer).
     */
    async adminDeactivate(requester: Requester, userIdValue: string, erase = false): Promise<void> {
      const userId = await adminTarget(requester, userIdValue);
      await close(userId, erase);
      log.info({ admin: requester.userId, userId, erase }, 'account deactivated by a server admin');
    },

    /**
     * POST /_synapse/admin/v1/reset_password/{userId}: a server admin sets a local user's password; with
     * logoutDevices (the default) every device of the user is logged out.
     */
    async adminResetPassword(requester: Requester, userIdValue: string, newPassword: string, logoutDevices: boolean): Promise<void> {
      const userId = await adminTarget(requester, userIdValue);
      if (newPassword === '') throw new MatrixError('M_MISSING_PARAM', 'new_password must not be empty');
      await store.setPassword(userId, await passwords.hash(newPassword), undefined);
      if (logoutDevices) await store.deleteAllDevices(userId);
      log.info({ admin: requester.userId, userId, logoutDevices }, 'password reset by a server admin');
    },
  };

  /**
   * POST /account/password without an access token: the user forgot their password and proves an address
   * on the account instead (m.login.email.identity, after /account/password/email/requestToken). With
   * logoutDevices (the default) every device is logged out.
   */
  async function resetByEmail(newPassword: string, logoutDevices: boolean, auth: AuthDict | undefined): Promise<void> {
    const reset = deps.emailReset;
    if (!reset) throw new MatrixError('M_MISSING_TOKEN', 'Log in to change your password: this server sends no mail, so it cannot reset one by email');
    const sessionId = await uia.check('POST /account/password by email', RESET_FLOWS, auth, { 'm.login.email.identity': reset.stage });
    const owner = await reset.ownerOfUia(sessionId);
    if (owner === undefined || !isUserId(owner)) throw new MatrixError('M_THREEPID_NOT_FOUND', 'The address is on no account any more');
    await store.setPassword(owner, await passwords.hash(newPassword), undefined);
    if (logoutDevices) await store.deleteAllDevices(owner);
    log.info({ userId: owner, logoutDevices }, 'password reset by email');
  }

  /** Closes the account: no login, no devices or tokens, no profile; its rooms left (erased when asked). */
  async function close(userId: UserId, erase: boolean): Promise<void> {
    await store.deactivateUser(userId, erase);
    if (erase) deps.erased?.(userId);
    // After the account is closed, so a failure here leaves no way back in; the leaves are best effort.
    await leaveAllRooms(userId);
    log.info({ userId, erase }, 'account deactivated');
  }

  /** The local user an admin endpoint acts on: M_FORBIDDEN for non-admins, M_NOT_FOUND for unknown users. */
  async function adminTarget(requester: Requester, userIdValue: string): Promise<UserId> {
    if (!(await deps.isServerAdmin?.(requester.userId))) throw new MatrixError('M_FORBIDDEN', 'You are not a server admin');
    if (!isUserId(userIdValue)) throw new MatrixError('M_INVALID_PARAM', `${userIdValue} is not a user id`);
    if ((await store.user(userIdValue)) === undefined) throw new MatrixError('M_NOT_FOUND', `There is no user ${userIdValue} on this server`);
    return userIdValue;
  }
}

export type AccountManagement = ReturnType<typeof createAccountManagement>;
