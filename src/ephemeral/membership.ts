import { stateKey } from '../events/index.js';
import { MatrixError, parseRoomId, type RoomId } from '../protocol/index.js';
import type { MembershipReads } from './ports.js';

/** The user's membership in the room's current state ('join', 'leave' ...), or undefined. */
export async function membershipOf(store: MembershipReads, roomId: string, userId: string): Promise<string | undefined> {
  const key = stateKey('m.room.member', userId);
  const eventId = (await store.currentStateEntries(roomId, [key])).get(key);
  if (eventId === undefined) return undefined;
  const membership = (await store.events([eventId])).get(eventId)?.event.content.membership;
  return typeof membership === 'string' ? membership : undefined;
}

/**
 * The room id, once the user is known to be joined to it. A room this server does not hold is refused the
 * same way as one the user is not in, so the answer does not tell which rooms exist.
 */
export async function joinedRoom(store: MembershipReads, value: string, userId: string): Promise<RoomId> {
  const roomId = parseRoomId(value);
  if ((await store.room(roomId)) === undefined || (await membershipOf(store, roomId, userId)) !== 'join') {
    throw new MatrixError('M_FORBIDDEN', `You are not in room ${roomId}`);
  }
  return roomId;
}

/** Whether the two users are both joined to some room. */
export async function shareARoom(store: MembershipReads, a: string, b: string): Promise<boolean> {
  const [ofA, ofB] = await Promise.all([store.roomsWithMembership(a, 'join'), store.roomsWithMembership(b, 'join')]);
  const set = new Set(ofA);
  return ofB.some((roomId) => set.has(roomId));
}
