import { CanonicalJsonError, encodeCanonicalJson } from '../crypto/index.js';
import { isRoomId, isUserId, MatrixError, type UserId } from '../protocol/index.js';
import type { FilterStore, Requester } from './ports.js';

/**
 * Sync filters: a client uploads one once and names it by id in /sync and /messages. The contract's schema
 * has already checked the shape; this checks the ids in it and keeps the JSON as given (canonical form, so
 * a repeat gets the same id).
 */

type Json = Readonly<Record<string, unknown>>;
const EVENT_FILTERS_OF_ROOM = ['timeline', 'state', 'ephemeral', 'account_data'] as const;

function object(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

const ID_LISTS = {
  user: { keys: ['senders', 'not_senders'], valid: (id: unknown) => isUserId(id) },
  room: { keys: ['rooms', 'not_rooms'], valid: (id: unknown) => isRoomId(id) },
} as const;

/** The first entry of the filter's user or room id lists that is no such id, as `where` names it. */
function badId(filter: Json | undefined, kind: keyof typeof ID_LISTS, where: string): string | undefined {
  const { keys, valid } = ID_LISTS[kind];
  for (const key of keys) {
    const list = filter?.[key];
    if (!Array.isArray(list)) continue;
    const bad: unknown = list.find((id) => !valid(id));
    if (bad !== undefined) return `${where}.${key} holds ${JSON.stringify(bad)}, which is not a ${kind} ID`;
  }
  return undefined;
}

/**
 * Why a filter's senders or rooms lists name something that is no user or room ID, or undefined. A typo
 * there would otherwise silently match nothing; Synapse refuses such filters the same way.
 */
function filterIdProblem(filter: Json): string | undefined {
  const room = object(filter.room);
  const problems = [
    badId(object(filter.presence), 'user', 'presence'),
    badId(object(filter.account_data), 'user', 'account_data'),
    badId(room, 'room', 'room'),
    ...EVENT_FILTERS_OF_ROOM.flatMap((key) => {
      const events = object(room?.[key]);
      return [badId(events, 'user', `room.${key}`), badId(events, 'room', `room.${key}`)];
    }),
  ];
  return problems.find((problem) => problem !== undefined);
}

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
      const problem = filterIdProblem(filter);
      if (problem !== undefined) throw new MatrixError('M_BAD_JSON', `The filter's ${problem}`);
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
