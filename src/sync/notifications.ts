import { stateKey } from '../events/index.js';
import type { ClientEvent, StoredEvent } from '../rooms/index.js';
import type { SyncReads } from './ports.js';

/**
 * unread_notifications: how many of the room's events since the user's read receipt their push rules
 * say notify (and highlight). Counted when a room is synced, over at most MAX_COUNTED events: a client
 * shows "99+" beyond that anyway, and the count must not cost a full history read.
 */

export const MAX_COUNTED = 100;

/** What the push rules need to know of the room, besides the event. */
export interface RoomPushFacts {
  readonly memberCount: number;
  readonly displayName: string | null;
  readonly powerLevels: Readonly<Record<string, unknown>> | undefined;
}

/** The user's push rules, ready to judge events of one sync (the wiring binds the evaluator). */
export type PushJudge = (event: object, room: RoomPushFacts) => { readonly notify: boolean; readonly highlight: boolean };

export interface NotificationCounts {
  notification_count: number;
  highlight_count: number;
}

/**
 * The room's facts at `position`: the joined count from the members the store keeps per state group (a
 * woken sync of a big room must not look through every member event), the user's own display name and
 * the power levels from their two events.
 */
async function roomFacts(reads: SyncReads, roomId: string, position: number, userId: string): Promise<RoomPushFacts> {
  const [state, joined] = await Promise.all([reads.stateAtPosition(roomId, position), reads.joinedMembers(roomId, position)]);
  const memberId = state.get(stateKey('m.room.member', userId));
  const powerId = state.get(stateKey('m.room.power_levels', ''));
  const stored = await reads.events([memberId, powerId].filter((id): id is string => id !== undefined));
  const member = memberId === undefined ? undefined : stored.get(memberId)?.event;
  const name = member?.content.membership === 'join' ? member.content.displayname : undefined;
  return {
    memberCount: joined.length,
    displayName: typeof name === 'string' ? name : null,
    powerLevels: powerId === undefined ? undefined : stored.get(powerId)?.event.content,
  };
}

/** The counts for one joined room, from the events after `readUpTo` up to `upTo`. */
export async function notificationCounts(
  reads: SyncReads,
  judge: PushJudge,
  serve: (events: readonly StoredEvent[]) => Promise<ClientEvent[]>,
  room: { readonly roomId: string; readonly userId: string; readonly readUpTo: number; readonly upTo: number },
): Promise<NotificationCounts> {
  const { events } = await reads.timeline(room.roomId, room.readUpTo, room.upTo, MAX_COUNTED);
  const unread = events.filter(({ event }) => event.sender !== room.userId);
  if (unread.length === 0) return { notification_count: 0, highlight_count: 0 };
  const facts = await roomFacts(reads, room.roomId, room.upTo, room.userId);
  let notifications = 0;
  let highlights = 0;
  for (const event of await serve(unread)) {
    const verdict = judge(event, facts);
    if (verdict.notify) notifications++;
    if (verdict.highlight) highlights++;
  }
  return { notification_count: notifications, highlight_count: highlights };
}
