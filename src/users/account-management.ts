import type { Logger } from '../platform/logger.js';
import { MatrixError } from '../protocol/index.js';
import type { PasswordHasher } from './passwords.js';
import { passwordStage } from './password-stage.js';
import type { AccountRooms, AccountStore, Requester } from './ports.js';
import type { AuthDict, Flow, Uia } from './uia.js';

/**
 * What a logged-in user does to their own account: change the password, deactivate the account. Both are
 * confirmed with the current password (user-interactive auth), as the spec and every client expect.
 */

export const PASSWORD_FLOWS: readonly Flow[] = [['m.login.password']];
export const DEACTIVATE_FLOWS: readonly Flow[] = [['m.login.password']];

/** The memberships a deactivated account gives up (Synapse: joins, invites and knocks). */
const LEFT_ON_DEACTIVATION = ['join', 'invite', 'knock'] as const;

export interface AccountManagementDeps {
  readonly store: Pick<AccountStore, 'user' | 'setPassword' | 'deactivateUser'>;
  readonly uia: Uia;
  readonly passwords: PasswordHasher;
  readonly rooms: AccountRooms;
  readonly log: Logger;
  /** Told of an account deactivated with erasure, once stored: every process must serve its events redacted. */
  readonly erased?: (userId: string) => void;
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
  async function leaveAllRooms(requester: Requester): Promise<void> {
    const { userId } = requester;
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
     * POST /account/password. With logoutDevices (the spec's default) every other device of the user is
     * logged out and deleted; the one asking stays logged in.
     */
    async changePassword(requester: Requester, newPassword: string, logoutDevices: boolean, auth: AuthDict | undefined): Promise<void> {
      // Checked before auth, so the user does not type their password for a request that cannot succeed.
      if (newPassword === '') throw new MatrixError('M_MISSING_PARAM', 'new_password must not be empty');
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
      await store.deactivateUser(requester.userId, erase);
      if (erase) deps.erased?.(requester.userId);
      // After the account is closed, so a failure here leaves no way back in; the leaves are best effort.
      await leaveAllRooms(requester);
      log.info({ userId: requester.userId, erase }, 'account deactivated');
    },
  };
}

export type AccountManagement = ReturnType<typeof createAccountManagement>;
