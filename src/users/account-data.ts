import { MatrixError, parseRoomId, type UserId } from '../protocol/index.js';
import type { AccountDataStore, Requester } from './ports.js';

/**
 * Account data: JSON a client keeps on the server for its user, globally or per room, and /sync hands to
 * the user's other clients. Every write is a new position on the account-data stream.
 */

/** Types the server maintains itself (read markers, push rules); clients change them through their own APIs. */
const SERVER_MANAGED_TYPES = new Set(['m.fully_read', 'm.push_rules']);

/** Synapse's cap on a type's length, so a type cannot bloat every /sync. */
const MAX_TYPE_LENGTH = 255;

export interface AccountDataDeps {
  readonly store: AccountDataStore;
}

export function createAccountDataService(deps: AccountDataDeps) {
  const { store } = deps;

  function ownUser(requester: Requester, userId: string, verb: 'add' | 'read'): UserId {
    if (userId !== requester.userId) {
      throw new MatrixError('M_FORBIDDEN', `You cannot ${verb} account data for other users`);
    }
    return requester.userId;
  }

  function room(roomId: string | null): string | null {
    return roomId === null ? null : parseRoomId(roomId);
  }

  return {
    /** PUT .../account_data/{type}; roomId null for global account data. Returns the stream position. */
    async put(
      requester: Requester,
      userId: string,
      roomId: string | null,
      type: string,
      content: Readonly<Record<string, unknown>>,
    ): Promise<number> {
      const owner = ownUser(requester, userId, 'add');
      const inRoom = room(roomId);
      if (SERVER_MANAGED_TYPES.has(type)) {
        throw new MatrixError('M_BAD_JSON', `Cannot set ${type} through this API`, { status: 405 });
      }
      if (type === '' || type.length > MAX_TYPE_LENGTH) {
        throw new MatrixError('M_INVALID_PARAM', `The account data type must be 1 to ${MAX_TYPE_LENGTH} characters`);
      }
      return store.putAccountData(owner, inRoom, type, content);
    },

    /** GET .../account_data/{type}: the content, or M_NOT_FOUND. */
    async get(requester: Requester, userId: string, roomId: string | null, type: string): Promise<Readonly<Record<string, unknown>>> {
      const owner = ownUser(requester, userId, 'read');
      const content = await store.accountData(owner, room(roomId), type);
      if (content === undefined) {
        throw new MatrixError('M_NOT_FOUND', roomId === null ? `No ${type} account data is set` : `No ${type} account data is set for this room`);
      }
      return content;
    },
  };
}

export type AccountDataService = ReturnType<typeof createAccountDataService>;
