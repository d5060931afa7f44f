import type { Logger } from '../platform/logger.js';
import { MatrixError, parseUserId, userIdServer, type ServerName, type UserId } from '../protocol/index.js';
import type { AccountStore, Requester } from './ports.js';

/**
 * Account moderation (client-server API 1.18, "Account moderation" and the administration module's
 * /admin/lock and /admin/suspend): a server admin locks an account (it can only log out; its clients keep
 * their state and see M_USER_LOCKED until it is unlocked) or suspends it (it keeps reading but cannot
 * join, invite, send or change its profile: M_USER_SUSPENDED). Both are reversible and leave the account's
 * tokens, devices and rooms alone. The refusals themselves happen where requests are authenticated
 * (src/protocol/endpoints/account-moderation.ts).
 */

export interface AccountModerationDeps {
  readonly store: Pick<AccountStore, 'user' | 'setModeration'>;
  readonly isServerAdmin: (userId: string) => Promise<boolean>;
  readonly serverName: ServerName;
  readonly log: Logger;
}

export type ModerationAction = 'locked' | 'suspended';

export function createAccountModeration(deps: AccountModerationDeps) {
  const { store, log } = deps;

  /** The account an admin acts on: checked in the spec's order, the admin first so nobody learns which accounts exist. */
  async function target(requester: Requester, userIdValue: string) {
    if (!(await deps.isServerAdmin(requester.userId))) throw new MatrixError('M_FORBIDDEN', 'You are not a server admin');
    let userId: UserId;
    try {
      userId = parseUserId(userIdValue);
    } catch {
      throw new MatrixError('M_INVALID_PARAM', `${userIdValue} is not a user id`);
    }
    if (userIdServer(userId) !== deps.serverName) throw new MatrixError('M_INVALID_PARAM', `${userId} does not belong to this server`);
    const user = await store.user(userId);
    if (user === undefined || user.deactivated) throw new MatrixError('M_NOT_FOUND', `There is no active user ${userId} on this server`);
    if (user.admin && userId !== requester.userId) throw new MatrixError('M_FORBIDDEN', `${userId} is a server admin too; admins cannot moderate each other`);
    return user;
  }

  return {
    /** Whether the user may lock and suspend accounts (GET /capabilities' m.account_moderation). */
    isServerAdmin: deps.isServerAdmin,

    /** GET /admin/lock/{userId} and /admin/suspend/{userId}. */
    async status(requester: Requester, userIdValue: string, action: ModerationAction): Promise<boolean> {
      const user = await target(requester, userIdValue);
      return user[action] === true;
    },

    /** PUT /admin/lock/{userId} and /admin/suspend/{userId}: sets it, answering the state now. */
    async set(requester: Requester, userIdValue: string, action: ModerationAction, value: boolean): Promise<boolean> {
      const user = await target(requester, userIdValue);
      if (user.userId === requester.userId && value) {
        throw new MatrixError('M_FORBIDDEN', `You cannot ${action === 'locked' ? 'lock' : 'suspend'} your own account`);
      }
      if (!(await store.setModeration(user.userId, { [action]: value }))) {
        throw new MatrixError('M_NOT_FOUND', `There is no active user ${user.userId} on this server`);
      }
      log.info({ admin: requester.userId, userId: user.userId, [action]: value }, 'account moderation');
      return value;
    },
  };
}

export type AccountModeration = ReturnType<typeof createAccountModeration>;
