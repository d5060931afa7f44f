import {
  eventPowerLevel,
  getRoomVersion,
  membershipOf,
  powerLevelsContent,
  stateKey,
  userPowerLevel,
  type RoomEvent,
  type StateKey,
} from '../events/index.js';
import type { RoomReads } from './ports.js';

export type PowerReads = Pick<RoomReads, 'room' | 'currentStateEntries' | 'events'>;

/**
 * Whether the user, joined to the room, could send a state event of `type` now: the check Synapse makes
 * before letting a member change what the server says about a room (its aliases, its directory entry).
 * false for a room this server does not hold.
 */
export async function maySendState(reads: PowerReads, roomId: string, userId: string, type: string): Promise<boolean> {
  const room = await reads.room(roomId);
  const rules = room && getRoomVersion(room.roomVersion);
  if (!rules) return false;
  const keys: StateKey[] = [
    stateKey('m.room.create', ''),
    stateKey('m.room.power_levels', ''),
    stateKey('m.room.member', userId),
  ];
  const entries = await reads.currentStateEntries(roomId, keys);
  const stored = await reads.events([...entries.values()]);
  const state = new Map<StateKey, RoomEvent>();
  for (const [key, eventId] of entries) {
    const event = stored.get(eventId)?.event;
    if (event) state.set(key, event);
  }
  const lookup = (t: string, k: string) => state.get(stateKey(t, k));
  if (membershipOf(userId, lookup) !== 'join') return false;
  return userPowerLevel(userId, lookup, rules) >= eventPowerLevel(type, true, powerLevelsContent(lookup, rules));
}

/** The content of one current state entry with an empty state key, or undefined. */
export async function currentStateContent(reads: PowerReads, roomId: string, type: string, key = ''): Promise<Readonly<Record<string, unknown>> | undefined> {
  const sk = stateKey(type, key);
  const eventId = (await reads.currentStateEntries(roomId, [sk])).get(sk);
  return eventId === undefined ? undefined : (await reads.events([eventId])).get(eventId)?.event.content;
}
