import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { MatrixError, userIdServer, type UserId } from '../protocol/index.js';
import type { ProfileJson } from './profiles.js';

/**
 * Profiles of other servers' users, read with GET /_matrix/federation/v1/query/profile and kept briefly so
 * that a client opening a member list does not ask the same server once per render. As Synapse does, a
 * remote that says the user does not exist, or cannot be reached, is M_NOT_FOUND to the client.
 */

/** The signed federation client (src/federation/client.ts), as far as this needs it. */
export interface ProfileQueries {
  request<T>(destination: string, method: 'GET', path: string, options?: { readonly query?: Readonly<Record<string, string>>; readonly timeoutMs?: number }): Promise<T>;
}

export interface RemoteProfilesDeps {
  readonly client: ProfileQueries;
  readonly clock: Clock;
  readonly log: Logger;
  /** How long an answer (a profile or "not found") is kept. Default one minute. */
  readonly cacheMs?: number;
  /** Users kept at most; the oldest go first. Default 10,000. */
  readonly maxEntries?: number;
  /** Per request. Default 10 s. */
  readonly timeoutMs?: number;
}

export const REMOTE_PROFILE_CACHE_MS = 60_000;

/** The fields this server shows, when they are strings of a sane length; anything else is dropped. */
function profileFrom(answer: unknown): ProfileJson {
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) return {};
  const { displayname, avatar_url: avatarUrl } = answer as Record<string, unknown>;
  return {
    ...(typeof displayname === 'string' && displayname.length <= 1000 ? { displayname } : {}),
    ...(typeof avatarUrl === 'string' && avatarUrl.length <= 2000 ? { avatar_url: avatarUrl } : {}),
  };
}

export function createRemoteProfiles(deps: RemoteProfilesDeps) {
  const cacheMs = deps.cacheMs ?? REMOTE_PROFILE_CACHE_MS;
  const maxEntries = deps.maxEntries ?? 10_000;
  const log = deps.log.child({ component: 'remote-profiles' });
  // Insertion order is age order (a put deletes first); null: the remote said no, or did not answer.
  const cache = new Map<string, { readonly profile: ProfileJson | null; readonly at: number }>();
  // One request per user at a time: concurrent readers share it.
  const pending = new Map<string, Promise<ProfileJson | null>>();

  function remember(userId: string, profile: ProfileJson | null): void {
    cache.delete(userId);
    while (cache.size >= maxEntries) {
      const oldest = cache.keys().next().value;
      if (oldest === undefined) break;
      cache.delete(oldest);
    }
    cache.set(userId, { profile, at: deps.clock.now() });
  }

  async function fetchProfile(userId: UserId): Promise<ProfileJson | null> {
    const server = userIdServer(userId);
    try {
      const answer = await deps.client.request<unknown>(server, 'GET', '/_matrix/federation/v1/query/profile', {
        query: { user_id: userId },
        timeoutMs: deps.timeoutMs ?? 10_000,
      });
      return profileFrom(answer);
    } catch (err) {
      log.info({ err, server }, 'remote profile query failed');
      return null;
    }
  }

  return {
    /** The user's public profile from their server; M_NOT_FOUND when it has none or cannot be asked. */
    async profile(userId: UserId): Promise<ProfileJson> {
      const cached = cache.get(userId);
      let profile: ProfileJson | null;
      if (cached !== undefined && deps.clock.now() - cached.at < cacheMs) {
        profile = cached.profile;
      } else {
        let request = pending.get(userId);
        if (request === undefined) {
          request = fetchProfile(userId).finally(() => pending.delete(userId));
          pending.set(userId, request);
        }
        profile = await request;
        remember(userId, profile);
      }
      if (profile === null) throw new MatrixError('M_NOT_FOUND', `The profile of ${userId} could not be fetched from their server`);
      return profile;
    },

    /** Forgets a cached profile (e.g. a member event from their server carried a new one). */
    forget(userId: string): void {
      cache.delete(userId);
    },
  };
}

export type RemoteProfiles = ReturnType<typeof createRemoteProfiles>;
