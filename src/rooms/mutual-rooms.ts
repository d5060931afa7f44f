import { isCompliantUserId, isUserId, MatrixError } from '../protocol/index.js';
import type { RoomReads } from './ports.js';

/**
 * GET /_matrix/client/v1/mutual_rooms (client-server API 1.19, "Mutual Rooms"): the rooms where both the
 * caller and another user are joined, as this server knows the rooms' current state. Answered a batch at
 * a time; a batch token is the offset into the sorted list, good as long as the memberships stand (a room
 * joined meanwhile may be missed, as the spec allows).
 */

export const MUTUAL_ROOMS_BATCH = 100;

export interface MutualRoomsDeps {
  readonly store: Pick<RoomReads, 'roomsWithMembership'>;
  readonly batchSize?: number;
}

export function createMutualRooms(deps: MutualRoomsDeps) {
  const batchSize = deps.batchSize ?? MUTUAL_ROOMS_BATCH;

  return {
    async mutualRooms(callerId: string, otherValue: string | undefined, from: string | undefined): Promise<{ joined: string[]; count: number; next_batch?: string }> {
      if (otherValue === undefined) throw new MatrixError('M_MISSING_PARAM', 'user_id is required');
      if (!isUserId(otherValue) || !isCompliantUserId(otherValue)) throw new MatrixError('M_INVALID_PARAM', `${otherValue} is not a valid user id`);
      if (otherValue === callerId) throw new MatrixError('M_INVALID_PARAM', 'Ask for the rooms shared with someone else, not with yourself');
      let offset = 0;
      if (from !== undefined) {
        if (!/^m[0-9]{1,9}$/.test(from)) throw new MatrixError('M_INVALID_PARAM', 'from is not a next_batch this server gave');
        offset = Number(from.slice(1));
      }
      const [mine, theirs] = await Promise.all([deps.store.roomsWithMembership(callerId, 'join'), deps.store.roomsWithMembership(otherValue, 'join')]);
      const theirSet = new Set(theirs);
      const shared = mine.filter((roomId) => theirSet.has(roomId)).sort();
      const joined = shared.slice(offset, offset + batchSize);
      const next = offset + joined.length;
      return { joined, count: shared.length, ...(next < shared.length ? { next_batch: `m${next}` } : {}) };
    },
  };
}

export type MutualRooms = ReturnType<typeof createMutualRooms>;
