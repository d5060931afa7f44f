import { MatrixError, type UserId } from '../protocol/index.js';
import type { Requester } from './ports.js';

/**
 * The user directory (client-server API, "User Directory"): the users the searcher can see through rooms,
 * local and remote, found by user id or display name.
 */

export interface UserDirectoryEntry {
  readonly userId: UserId;
  readonly displayName: string | null;
  readonly avatarUrl: string | null;
}

export interface UserDirectoryStore {
  /**
   * Users (local ones not deactivated) whose user id or display name contains `term` (case-insensitively),
   * among the others the searcher shares a room with and those joined to a room with a public join rule or
   * world_readable history (Synapse's rule); the searcher only through the latter, as in Synapse. Only rooms
   * a local user is still joined to count: a room the server has left is no longer followed. Prefix matches
   * first. At most `limit`.
   */
  searchUsers(searcher: UserId, term: string, limit: number): Promise<UserDirectoryEntry[]>;
}

export interface UserDirectoryDeps {
  readonly store: UserDirectoryStore;
}

export const DEFAULT_USER_SEARCH_LIMIT = 10;
/** Synapse's cap on one page of results, so a search cannot ask for the whole directory. */
export const MAX_USER_SEARCH_LIMIT = 50;

export type UserSearchResult = { user_id: string; display_name?: string; avatar_url?: string };

export function createUserDirectory(deps: UserDirectoryDeps) {
  return {
    /** POST /user_directory/search. */
    async search(requester: Requester, searchTerm: string, limit = DEFAULT_USER_SEARCH_LIMIT): Promise<{ results: UserSearchResult[]; limited: boolean }> {
      if (!Number.isInteger(limit) || limit < 0) throw new MatrixError('M_INVALID_PARAM', 'limit must be a non-negative integer');
      const term = searchTerm.trim();
      const wanted = Math.min(limit, MAX_USER_SEARCH_LIMIT);
      if (term === '' || wanted === 0) return { results: [], limited: false };
      const found = await deps.store.searchUsers(requester.userId, term, wanted + 1);
      return {
        results: found.slice(0, wanted).map((entry) => ({
          user_id: entry.userId,
          ...(entry.displayName === null ? {} : { display_name: entry.displayName }),
          ...(entry.avatarUrl === null ? {} : { avatar_url: entry.avatarUrl }),
        })),
        limited: found.length > wanted,
      };
    },
  };
}

export type UserDirectory = ReturnType<typeof createUserDirectory>;
