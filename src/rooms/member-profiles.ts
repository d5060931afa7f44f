import { stateKey } from '../events/index.js';
import { MatrixError } from '../protocol/index.js';
import type { RoomReads } from './ports.js';
import type { RoomServer } from './room-server.js';

export interface MemberProfilesDeps {
  readonly rooms: Pick<RoomServer, 'send'>;
  readonly store: Pick<RoomReads, 'roomsWithMembership'>;
}

/**
 * How a profile change reaches rooms (the profile service's ProfileRooms port): a new join member event
 * carrying the profile, as Synapse sends. It is sent only while the user is still joined, checked under
 * the room's write lock, so a profile change never re-joins a user who has just left.
 */
export function createMemberProfiles(deps: MemberProfilesDeps) {
  const { rooms, store } = deps;
  return {
    joinedRooms: (userId: string): Promise<string[]> => store.roomsWithMembership(userId, 'join'),

    async refreshMemberProfile(roomId: string, userId: string, profile: Readonly<Record<string, string>>): Promise<void> {
      const key = stateKey('m.room.member', userId);
      await rooms.send(
        roomId,
        { type: 'm.room.member', stateKey: userId, sender: userId, content: { ...profile, membership: 'join' } },
        {
          precondition: async (reads) => {
            const eventId = (await reads.currentStateEntries(roomId, [key])).get(key);
            const current = eventId === undefined ? undefined : (await reads.events([eventId])).get(eventId)?.event;
            if (current?.content.membership !== 'join') {
              throw new MatrixError('M_FORBIDDEN', `${userId} is no longer joined to ${roomId}`);
            }
          },
        },
      );
    },
  };
}

export type MemberProfiles = ReturnType<typeof createMemberProfiles>;
