import { isUserId, MatrixError, userIdLocalpart, userIdServer, type ServerName, type UserId } from '../protocol/index.js';
import type { AccountThreepid } from './account-threepids.js';
import { checkedValue } from './profiles.js';
import type { AccountStore, ExternalIdentity, ProfileStore, Requester, UserListQuery, UserRecord } from './ports.js';

/**
 * Synapse's admin API view of one account (GET /_synapse/admin/v2/users/{userId}), for server admins and
 * the tools written for Synapse (synadm, moderation bots): whether it is an admin, a guest, deactivated or
 * erased, its profile, when it was made and last seen, its email addresses and single sign-on identities. Fields Hearth has no notion of are answered as
 * Synapse answers an account without them.
 */

/** What PUT /_synapse/admin/v2/users/{userId} may set (absent: left as it is). */
export interface AdminUserChange {
  readonly password?: string | undefined;
  /** With a new password: log the account's devices out (default true, as Synapse). */
  readonly logoutDevices?: boolean | undefined;
  readonly displayname?: string | null | undefined;
  readonly avatarUrl?: string | null | undefined;
  readonly admin?: boolean | undefined;
  readonly deactivated?: boolean | undefined;
  readonly locked?: boolean | undefined;
  readonly approved?: boolean | undefined;
  readonly userType?: string | null | undefined;
  readonly threepids?: readonly unknown[] | undefined;
  readonly externalIds?: readonly unknown[] | undefined;
}

/** The services PUT /_synapse/admin/v2/users/{userId} acts through, as the user's own requests would. */
export interface AdminUserWrites {
  createAccount(localpart: string, password: string | null, admin: boolean, displayName: string | undefined): Promise<UserId>;
  resetPassword(requester: Requester, userId: UserId, password: string, logoutDevices: boolean): Promise<void>;
  deactivate(requester: Requester, userId: UserId): Promise<void>;
  setProfileField(userId: UserId, key: 'displayname' | 'avatar_url', value: string | null): Promise<void>;
}

export interface AdminUsersDeps {
  readonly store: Pick<AccountStore, 'user' | 'devices' | 'listUsers' | 'setAdmin' | 'setModeration'>;
  /** Creating and changing accounts (PUT); absent: PUT is refused. */
  readonly writes?: AdminUserWrites;
  readonly serverName: ServerName;
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

  async function userView(requester: Requester, userIdValue: string): Promise<AdminUserJson> {
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

    /**
     * PUT /_synapse/admin/v2/users/{userId}: creates the local account (created: true) or changes it, then
     * answers it as GET does. Hearth cannot take threepids, external_ids, a user_type, unapproved accounts,
     * or reactivate a deactivated account: asked for those, it refuses before changing anything.
     */
    async upsert(requester: Requester, userIdValue: string, change: AdminUserChange): Promise<{ user: AdminUserJson; created: boolean }> {
      if (!(await deps.isServerAdmin(requester.userId))) throw new MatrixError('M_FORBIDDEN', 'You are not a server admin');
      const writes = deps.writes;
      if (writes === undefined) throw new MatrixError('M_UNRECOGNIZED', 'Changing accounts through the admin API is not available here');
      if (!isUserId(userIdValue)) throw new MatrixError('M_INVALID_PARAM', `${userIdValue} is not a user id`);
      const userId = userIdValue as UserId;
      if (userIdServer(userId) !== deps.serverName) throw new MatrixError('M_INVALID_PARAM', 'Only local users can be created or changed');
      const unsupported = [
        change.threepids !== undefined ? 'threepids' : undefined,
        change.externalIds !== undefined ? 'external_ids' : undefined,
        change.userType != null ? 'user_type' : undefined,
        change.approved === false ? 'approved: false' : undefined,
      ].filter((name): name is string => name !== undefined);
      if (unsupported.length > 0) throw new MatrixError('M_INVALID_PARAM', `Hearth's admin API does not take ${unsupported.join(', ')}`);
      // The profile values are checked before anything is written, so a bad one changes nothing.
      if (change.displayname != null) checkedValue('displayname', change.displayname);
      if (change.avatarUrl != null) checkedValue('avatar_url', change.avatarUrl);
      const existing = await deps.store.user(userId);
      if (existing?.deactivated && change.deactivated !== true) {
        throw new MatrixError('M_INVALID_PARAM', `${userId} is deactivated, and Hearth cannot reactivate accounts`);
      }
      let created = false;
      if (existing === undefined) {
        await writes.createAccount(userIdLocalpart(userId), change.password ?? null, change.admin ?? false, change.displayname ?? undefined);
        created = true;
      } else if (!existing.deactivated) {
        if (change.password !== undefined) await writes.resetPassword(requester, userId, change.password, change.logoutDevices ?? true);
        if (change.displayname !== undefined) await writes.setProfileField(userId, 'displayname', change.displayname);
        if (change.admin !== undefined && change.admin !== existing.admin) await deps.store.setAdmin(userId, change.admin);
      }
      if (change.avatarUrl !== undefined && existing?.deactivated !== true) await writes.setProfileField(userId, 'avatar_url', change.avatarUrl);
      if (change.locked !== undefined && existing?.deactivated !== true) await deps.store.setModeration(userId, { locked: change.locked });
      if (change.deactivated === true && existing?.deactivated !== true) await writes.deactivate(requester, userId);
      return { user: await userView(requester, userId), created };
    },

    /** GET /_synapse/admin/v2/users/{userId}. */
    user: userView,
  };
}
