/**
 * Peeking (MSC2753): a user's device follows a room it has not joined, whose history anyone may read
 * (m.room.history_visibility world_readable), through its own /sync, where the room turns up under
 * rooms.peek with its timeline and state as a joined room's would. POST /peek/{roomIdOrAlias} starts it,
 * POST /rooms/{roomId}/unpeek ends it; a peek belongs to the device that made it. Joining the room moves
 * it to rooms.join (sync leaves out peeks of joined rooms), and once the room's history is no longer
 * world_readable the device sees nothing new of it. Peeking into a room no user of this server is in would
 * need MSC2444 (peeking over federation), which is not built: such a peek is refused, as is one into a room
 * a server admin blocked.
 */
import { stateKey } from '../events/index.js';
import { MatrixError, parseRoomId } from '../protocol/index.js';
import type { RoomReads } from './ports.js';
import { historyVisibilityOf } from './visibility.js';

/** Who peeks where, on a stream of its own (each change takes a new position). */
export interface PeekStore {
  /** Starts (or renews) the device's peek into the room; returns its stream position. */
  peek(userId: string, deviceId: string, roomId: string): Promise<number>;
  /** Ends it; returns its stream position, or null when the device was not peeking there. */
  unpeek(userId: string, deviceId: string, roomId: string): Promise<number | null>;
}

export interface RoomPeeksDeps {
  readonly store: Pick<RoomReads, 'room' | 'currentStateEntries' | 'events' | 'hasJoinedMember'>;
  readonly peeks: PeekStore;
  /** This server's name: a room none of its users is joined to gets no new events here. */
  readonly serverName: string;
  /** Whether a server admin blocked the room (admin-rooms.ts); absent: none is. */
  readonly roomBlocked?: (roomId: string) => Promise<boolean>;
  /** A room id, or a room alias resolved to its room (client-rooms.ts's roomIdOf). */
  readonly resolve: (roomIdOrAlias: string) => Promise<string>;
}

/** Who peeks: a user and the device it peeks with (the empty id: an application service naming none). */
export interface Peeker {
  readonly userId: string;
  readonly deviceId: string | null;
}

const HISTORY_VISIBILITY_KEY = stateKey('m.room.history_visibility', '');

export function createRoomPeeks(deps: RoomPeeksDeps) {
  const { store, peeks } = deps;

  async function historyVisibility(roomId: string) {
    const id = (await store.currentStateEntries(roomId, [HISTORY_VISIBILITY_KEY])).get(HISTORY_VISIBILITY_KEY);
    const event = id === undefined ? undefined : (await store.events([id])).get(id)?.event;
    return historyVisibilityOf(event?.content);
  }

  return {
    /** POST /peek/{roomIdOrAlias}: the room id peeked into. */
    async peek(peeker: Peeker, roomIdOrAlias: string): Promise<string> {
      const roomId = await deps.resolve(roomIdOrAlias);
      // A room none of this server's users is in (known through an invite, or left) would be shown as it was.
      if (!(await store.room(roomId)) || !(await store.hasJoinedMember(roomId, deps.serverName))) {
        throw new MatrixError('M_NOT_FOUND', `This server is not in room ${roomId}, and peeking over federation is not supported`);
      }
      if (await deps.roomBlocked?.(roomId)) throw new MatrixError('M_FORBIDDEN', `Room ${roomId} is blocked on this server`);
      if ((await historyVisibility(roomId)) !== 'world_readable') {
        throw new MatrixError('M_FORBIDDEN', `Room ${roomId} cannot be peeked into: its history is not world_readable`);
      }
      await peeks.peek(peeker.userId, peeker.deviceId ?? '', roomId);
      return roomId;
    },

    /** POST /rooms/{roomId}/unpeek: ends the device's peek; one that was not peeking there is told so. */
    async unpeek(peeker: Peeker, roomId: string): Promise<void> {
      const id = parseRoomId(roomId);
      if ((await peeks.unpeek(peeker.userId, peeker.deviceId ?? '', id)) === null) {
        throw new MatrixError('M_NOT_FOUND', `You are not peeking into room ${id}`);
      }
    },
  };
}

export type RoomPeeks = ReturnType<typeof createRoomPeeks>;
