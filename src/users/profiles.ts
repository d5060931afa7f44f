import type { Logger } from '../platform/logger.js';
import { isUserId, MatrixError, parseUserId, userIdLocalpart, userIdServer, type ServerName, type UserId } from '../protocol/index.js';
import type { Profile, ProfileRooms, ProfileStore, Requester } from './ports.js';
import type { RemoteProfiles } from './remote-profiles.js';

/**
 * Profiles: a display name and an avatar per local user, readable by anyone, settable by their owner, and
 * copied into the user's member event in every room they are joined to (that is where clients show them).
 */

/** Synapse's limits, so names and avatars that work there work here. */
export const MAX_DISPLAYNAME_LENGTH = 256;
export const MAX_AVATAR_URL_LENGTH = 1000;

/** The profile keys this server stores; the spec's other keys (m.tz, custom ones) are not kept yet. */
export const PROFILE_KEYS = ['displayname', 'avatar_url'] as const;
export type ProfileKey = (typeof PROFILE_KEYS)[number];

/** A profile as clients see it (GET /profile, m.room.member content): unset fields are absent. */
// A type, not an interface, so that it is assignable to the plain records of event content.
export type ProfileJson = {
  displayname?: string;
  avatar_url?: string;
};

export interface ProfileDeps {
  readonly store: ProfileStore;
  readonly rooms: ProfileRooms;
  readonly log: Logger;
  readonly serverName: ServerName;
  /** Other servers' users' profiles, over federation (remote-profiles.ts); absent: M_NOT_FOUND. */
  readonly remote?: Pick<RemoteProfiles, 'profile'>;
}

/** The default profile of a new account: its localpart as display name, as Synapse does. */
export function defaultProfile(userId: UserId): Profile {
  return { displayName: userIdLocalpart(userId), avatarUrl: null };
}

export function profileJson(profile: Profile): ProfileJson {
  return {
    ...(profile.displayName === null ? {} : { displayname: profile.displayName }),
    ...(profile.avatarUrl === null ? {} : { avatar_url: profile.avatarUrl }),
  };
}

/**
 * What a join of a local user carries: displayname and avatar_url where set (the room server's
 * memberProfile; read from the store so that the room server and the profile service need not know each other).
 */
export function memberProfileLookup(store: ProfileStore): (userId: string) => Promise<ProfileJson> {
  return async (userId) => {
    const profile = isUserId(userId) ? await store.profile(userId) : undefined;
    return profile === undefined ? {} : profileJson(profile);
  };
}

const MXC_URI = /^mxc:\/\/[A-Za-z0-9.:[\]-]+\/[A-Za-z0-9_-]+$/;

/** The value to store for `key` (null unsets), or a MatrixError saying what is wrong. */
/** A profile value as it is kept (empty is null), or the error setting it would give. */
export function checkedValue(key: ProfileKey, value: unknown): string | null {
  if (value === null || value === '') return null;
  if (typeof value !== 'string') throw new MatrixError('M_BAD_JSON', `${key} must be a string`);
  if (key === 'displayname') {
    if (value.length > MAX_DISPLAYNAME_LENGTH) {
      throw new MatrixError('M_INVALID_PARAM', `displayname is too long: at most ${MAX_DISPLAYNAME_LENGTH} characters`);
    }
    return value;
  }
  if (value.length > MAX_AVATAR_URL_LENGTH || !MXC_URI.test(value)) {
    throw new MatrixError('M_INVALID_PARAM', 'avatar_url must be an mxc:// URI (mxc://server/media-id), or empty to remove it');
  }
  return value;
}

/** The profile keys the spec allows (Matrix 1.16): the two of old, m.tz, and namespaced ones. */
const PROFILE_KEY_GRAMMAR = /^(avatar_url|displayname|m\.tz|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+)$/;

function isProfileKey(key: string): key is ProfileKey {
  return (PROFILE_KEYS as readonly string[]).includes(key);
}

export function createProfileService(deps: ProfileDeps) {
  const { store, rooms, log, serverName } = deps;

  /** The profile of a local user; others' come from their server. */
  async function profileOf(value: string): Promise<Profile> {
    const userId = parseUserId(value);
    if (userIdServer(userId) !== serverName) {
      if (deps.remote === undefined) {
        throw new MatrixError('M_NOT_FOUND', `The profile of ${userId} cannot be fetched: this server does not federate`);
      }
      const remote = await deps.remote.profile(userId);
      return { displayName: remote.displayname ?? null, avatarUrl: remote.avatar_url ?? null };
    }
    const profile = await store.profile(userId);
    if (profile === undefined) throw new MatrixError('M_NOT_FOUND', `There is no user ${userId} on this server`);
    return profile;
  }

  /**
   * A new join event with the profile in every room the user is joined to. A room that refuses (the
   * user left meanwhile, power levels forbid it) is logged and skipped: the profile itself is set.
   */
  async function propagate(userId: UserId, profile: Profile): Promise<void> {
    const content = profileJson(profile);
    for (const roomId of await rooms.joinedRooms(userId)) {
      try {
        await rooms.refreshMemberProfile(roomId, userId, content);
      } catch (err) {
        log.warn({ err, roomId, userId }, 'profile change not sent to room');
      }
    }
  }

  return {
    /** GET /profile/{userId}. */
    async profile(userId: string): Promise<ProfileJson> {
      return profileJson(await profileOf(userId));
    },

    /**
     * GET /profile/{userId}/{keyName}: M_NOT_FOUND for a missing user or a key this server does not keep.
     * displayname and avatar_url exist for every user, so an unset one is `{}`, not 404 (as Synapse and
     * Conduit answer, and as clients reading a fresh account's avatar expect).
     */
    async profileField(userId: string, key: string): Promise<ProfileJson> {
      const profile = profileJson(await profileOf(userId));
      if (!isProfileKey(key)) throw new MatrixError('M_NOT_FOUND', `${userId} has no ${key} set`);
      const value = profile[key];
      return value === undefined ? {} : { [key]: value };
    },

    /** PUT /profile/{userId}/{keyName}: only for yourself, only the keys this server keeps. */
    async setProfileField(requester: Requester, userId: string, key: string, body: Readonly<Record<string, unknown>>): Promise<void> {
      const target = parseUserId(userId);
      if (target !== requester.userId) throw new MatrixError('M_FORBIDDEN', "You cannot change another user's profile");
      if (!isProfileKey(key)) {
        throw new MatrixError('M_FORBIDDEN', `This server only lets you set ${PROFILE_KEYS.join(' and ')}`);
      }
      // The spec lets guests change their display name and nothing else of their profile.
      if (requester.isGuest && key !== 'displayname') {
        throw new MatrixError('M_GUEST_ACCESS_FORBIDDEN', 'Guest accounts can only set a display name');
      }
      if (!(key in body)) throw new MatrixError('M_MISSING_PARAM', `The body must have the ${key} property`);
      const value = checkedValue(key, body[key]);
      const before = await profileOf(target);
      const field = key === 'displayname' ? 'displayName' : 'avatarUrl';
      if (before[field] === value) return;
      await store.setProfileField(target, field, value);
      await propagate(target, { ...before, [field]: value });
    },

    /**
     * DELETE /profile/{userId}/{keyName}: unsets one of your own fields. A key of the spec's grammar that
     * this server does not keep is never set, so deleting it succeeds and changes nothing.
     */
    async deleteProfileField(requester: Requester, userId: string, key: string): Promise<void> {
      if (!PROFILE_KEY_GRAMMAR.test(key)) {
        throw new MatrixError('M_INVALID_PARAM', 'A profile key is displayname, avatar_url, m.tz or a namespaced name (com.example.field)');
      }
      const target = parseUserId(userId);
      if (target !== requester.userId) throw new MatrixError('M_FORBIDDEN', "You cannot change another user's profile");
      if (!isProfileKey(key)) return;
      if (requester.isGuest && key !== 'displayname') {
        throw new MatrixError('M_GUEST_ACCESS_FORBIDDEN', 'Guest accounts can only change their display name');
      }
      const before = await profileOf(target);
      const field = key === 'displayname' ? 'displayName' : 'avatarUrl';
      if (before[field] === null) return;
      await store.setProfileField(target, field, null);
      await propagate(target, { ...before, [field]: null });
    },

  };
}

export type ProfileService = ReturnType<typeof createProfileService>;
