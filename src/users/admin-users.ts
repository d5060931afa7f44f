import { isUserId, MatrixError, type UserId } from '../protocol/index.js';
import type { AccountThreepid } from './account-threepids.js';
import type { AccountStore, ExternalIdentity, ProfileStore, Requester, UserListQuery, UserRecord } from './ports.js';

/**
 * Synapse's admin API view of one account (GET /_synapse/admin/v2/users/{userId}), for server admins and
 * the tools written for Synapse (synadm, moderation bots): whether it is an admin, a guest, deactivated or
 * erased, its profile, when it was made and last seen, its email addresses and single sign-on identities. Fields Hearth has no notion of are answered as
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
  /** The single sign-on identities the account signs in with; absent: none. */
  readonly externalIds?: (userId: UserId) => Promise<readonly ExternalIdentity[]>;
}

/** An address on the account, as Synapse's admin API shows it. */
export interface AdminThreepidJson {
  readonly medium: string;
  readonly address: string;
  readonly added_at: number;
  readonly validated_at: number;
}

/** What the admin API says of every account, in its list and alone, as Synapse says it. */
export interface AdminAccountJson {
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
  readonly user_type: null;
}

/** One account (GET /_synapse/admin/v2/users/{userId}). */
export interface AdminUserJson extends AdminAccountJson {
  readonly last_seen_ts: number | null;
  readonly suspended: boolean;
  readonly appservice_id: null;
  readonly threepids: AdminThreepidJson[];
  readonly external_ids: Array<{ readonly auth_provider: string; readonly external_id: string }>;
}

/** An account in the list (GET /_synapse/admin/v2/users). */
export interface AdminListedUserJson extends AdminAccountJson {
  readonly approved: boolean;
}

export type AdminUsers = ReturnType<typeof createAdminUsers>;

export function createAdminUsers(deps: AdminUsersDeps) {
  /** The fields every view of an account has; Hearth has no shadow bans or user types. */
  function accountJson(user: Omit<UserRecord, 'passwordHash'>, profile: { readonly displayName: string | null; readonly avatarUrl: string | null }): AdminAccountJson {
    return {
      name: user.userId,
      displayname: profile.displayName,
      avatar_url: profile.avatarUrl,
      admin: user.admin,
      deactivated: user.deactivated,
      erased: deps.isErased(user.userId),
      is_guest: user.isGuest,
      creation_ts: user.createdTs,
      shadow_banned: false,
      locked: user.locked === true,
      user_type: null,
    };
  }

  return {
    /**
     * GET /_synapse/admin/v2/users: accounts in user id order, `limit` at a time from offset `from`;
     * next_token is the offset of the next page when there is one.
     */
    async list(requester: Requester, query: UserListQuery): Promise<{ users: AdminListedUserJson[]; total: number; next_token?: string }> {
      if (!(await deps.isServerAdmin(requester.userId))) throw new MatrixError('M_FORBIDDEN', 'You are not a server admin');
      const page = await deps.store.listUsers(query);
      const users = page.users.map((user): AdminListedUserJson => ({ ...accountJson(user, user), approved: true }));
      const next = query.from + users.length;
      return { users, total: page.total, ...(next < page.total && users.length > 0 ? { next_token: String(next) } : {}) };
    },

    async user(requester: Requester, userIdValue: string): Promise<AdminUserJson> {
      if (!(await deps.isServerAdmin(requester.userId))) throw new MatrixError('M_FORBIDDEN', 'You are not a server admin');
      if (!isUserId(userIdValue)) throw new MatrixError('M_INVALID_PARAM', `${userIdValue} is not a user id`);
      const user = await deps.store.user(userIdValue);
      if (user === undefined) throw new MatrixError('M_NOT_FOUND', `There is no user ${userIdValue} on this server`);
      const [profile, devices, threepids, externalIds] = await Promise.all([
        deps.profiles.profile(userIdValue),
        deps.store.devices(userIdValue),
        deps.threepids?.(userIdValue) ?? [],
        deps.externalIds?.(userIdValue) ?? [],
      ]);
      const seen = devices.map((device) => device.lastSeenTs).filter((ts): ts is number => ts !== null);
      return {
        ...accountJson(user, { displayName: profile?.displayName ?? null, avatarUrl: profile?.avatarUrl ?? null }),
        last_seen_ts: seen.length === 0 ? null : Math.max(...seen),
        suspended: user.suspended === true,
        appservice_id: null,
        threepids: threepids.map((t) => ({ medium: t.medium, address: t.address, added_at: t.addedTs, validated_at: t.validatedTs })),
        external_ids: externalIds.map((identity) => ({ auth_provider: identity.provider, external_id: identity.subject })),
      };
    },
  };
}
