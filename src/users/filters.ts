import { CanonicalJsonError, encodeCanonicalJson } from '../crypto/index.js';
import { MatrixError, type UserId } from '../protocol/index.js';
import type { FilterStore, Requester } from './ports.js';

/**
 * Sync filters: a client uploads one once and names it by id in /sync and /messages. The contract's schema
 * has already checked the shape; this keeps the JSON as given (canonical form, so a repeat gets the same id).
 */

export interface FilterDeps {
  readonly store: FilterStore;
}

export function createFilterService(deps: FilterDeps) {
  const { store } = deps;

  function ownUser(requester: Requester, userId: string, verb: string): UserId {
    if (userId !== requester.userId) throw new MatrixError('M_FORBIDDEN', `You cannot ${verb} filters of other users`);
    return requester.userId;
  }

  return {
    /** POST /user/{userId}/filter: the new (or identical existing) filter's id. */
    async create(requester: Requester, userId: string, filter: Readonly<Record<string, unknown>>): Promise<string> {
      const owner = ownUser(requester, userId, 'create');
      let json: string;
      try {
        json = encodeCanonicalJson(filter);
      } catch (err) {
        if (err instanceof CanonicalJsonError) throw new MatrixError('M_BAD_JSON', `The filter is not valid JSON for Matrix: ${err.message}`);
        throw err;
      }
      return store.addFilter(owner, json);
    },

    /** GET /user/{userId}/filter/{filterId}: the filter as uploaded, or M_NOT_FOUND. */
    async get(requester: Requester, userId: string, filterId: string): Promise<Record<string, unknown>> {
      const owner = ownUser(requester, userId, 'read');
      const json = await store.filter(owner, filterId);
      if (json === undefined) throw new MatrixError('M_NOT_FOUND', `No filter ${filterId}; upload it again`);
      return JSON.parse(json) as Record<string, unknown>;
    },
  };
}

export type FilterService = ReturnType<typeof createFilterService>;
