import { isUserId, MatrixError } from '../protocol/index.js';
import type { AccountThreepid } from './account-threepids.js';
import type { AccountStore, ProfileStore, Requester, UserListQuery } from './ports.js';

/**
 * Synapse's admin API view of one account (GET /_synapse/admin/v2/users/{userId}), for server admins and
 * the tools written for Synapse (synadm, moderation bots): whether it is an admin, a guest, deactivated or
 * erased, its profile, when it was made and last seen. Fields Hearth has no notion of are answered as
 * Synapse answers an account without them.
 */

export interface AdminUsersDeps {
  readonly store: Pick<AccountStore, 'user' | 'devices' | 'listUsers'>;
  readonly profiles: Pick<ProfileStore, 'profile'>;
  readonly isServerAdmin: (userId: string) => Promise<boolean>;
  /** Whether the account was deactivated with erasure. */
  readonly isErased: (userId: string) => boolean;
  /** The email addresses on the account (account-threepids.ts); absent: none. */
  readonly threepids?: (userId: string) => Promise<readonly AccountThreepid[]>;
}

/** An address on the account, as Synapse's admin API shows it. */
export interface AdminThreepidJson {
  readonly medium: string;
  readonly address: string;
  readonly added_at: number;
  readonly validated_at: number;
}

export interface AdminUserJson {
  readonly name: string;
  readonly displayname: string | null;
  readonly avatar_url: string | null;
  readonly admin: boolean;
  readonly deactivated: boolean;
  readonly erased: boolean;
  readonly is_guest: boolean;
  readonly creation_ts: number;
  readonly last_seen_ts: number | null;
  readonly shadow_banned: boolean;
  readonly locked: boolean;
  readonly suspended: boolean;
  readonly user_type: null;
  readonly appservice_id: null;
  readonly threepids: AdminThreepidJson[];
  readonly external_ids: never[];
}

/** An account in the admin API's list (GET /_synapse/admin/v2/users), as Synapse lists one. */
export interface AdminListedUserJson {
  readonly name: string;
  readonly displayname: string | null;
  readonly avatar_url: string | null;
  readonly admin: boolean;
  readonly deactivated: boolean;
  readonly erased: boolean;
  readonly is_guest: boolean;
  readonly creation_ts: number;
  readonly shadow_banned: boolean;
  readonly locked: boolean;
  readonly approved: boolean;
  readonly user_type: null;
}

export type AdminUsers = ReturnType<typeof createAdminUsers>;

export function createAdminUsers(deps: AdminUsersDeps) {
  return {
    /**
     * GET /_synapse/admin/v2/users: accounts in user id order, `limit` at a time from offset `from`;
     * next_token is the offset of the next page when there is one.
     */
    async list(requester: Requester, query: UserListQuery): Promise<{ users: AdminListedUserJson[]; total: number; next_token?: string }> {
      if (!(await deps.isServerAdmin(requester.userId))) throw new MatrixError('M_FORBIDDEN', 'You are not a server admin');
      const page = await deps.store.listUsers(query);
      const users = page.users.map((user): AdminListedUserJson => ({
        name: user.userId,
        displayname: user.displayName,
        avatar_url: user.avatarUrl,
        admin: user.admin,
        deactivated: user.deactivated,
        erased: deps.isErased(user.userId),
        is_guest: user.isGuest,
        creation_ts: user.createdTs,
        shadow_banned: false,
        locked: false,
        approved: true,
        user_type: null,
      }));
      const next = query.from + users.length;
      return { users, total: page.total, ...(next < page.total && users.length > 0 ? { next_token: String(next) } : {}) };
    },

    async user(requester: Requester, userIdValue: string): Promise<AdminUserJson> {
      if (!(await deps.isServerAdmin(requester.userId))) throw new MatrixError('M_FORBIDDEN', 'You are not a server admin');
      if (!isUserId(userIdValue)) throw new MatrixError('M_INVALID_PARAM', `${userIdValue} is not a user id`);
      const user = await deps.store.user(userIdValue);
      if (user === undefined) throw new MatrixError('M_NOT_FOUND', `There is no user ${userIdValue} on this server`);
      const [profile, devices, threepids] = await Promise.all([
        deps.profiles.profile(userIdValue),
        deps.store.devices(userIdValue),
        deps.threepids?.(userIdValue) ?? [],
      ]);
      const seen = devices.map((device) => device.lastSeenTs).filter((ts): ts is number => ts !== null);
      return {
        name: user.userId,
        displayname: profile?.displayName ?? null,
        avatar_url: profile?.avatarUrl ?? null,
        admin: user.admin,
        deactivated: user.deactivated,
        erased: deps.isErased(user.userId),
        is_guest: user.isGuest,
        creation_ts: user.createdTs,
        last_seen_ts: seen.length === 0 ? null : Math.max(...seen),
        shadow_banned: false,
        locked: false,
        suspended: false,
        user_type: null,
        appservice_id: null,
        threepids: threepids.map((t) => ({ medium: t.medium, address: t.address, added_at: t.addedTs, validated_at: t.validatedTs })),
        external_ids: [],
      };
    },
  };
}
