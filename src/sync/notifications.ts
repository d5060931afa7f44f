import { parseStateKey, stateKey, type StateMap } from '../events/index.js';
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

async function roomFacts(reads: SyncReads, state: StateMap, userId: string): Promise<RoomPushFacts> {
  const memberIds = [...state].filter(([key]) => parseStateKey(key)[0] === 'm.room.member').map(([, id]) => id);
  const powerId = state.get(stateKey('m.room.power_levels', ''));
  const stored = await reads.events(powerId === undefined ? memberIds : [...memberIds, powerId]);
  let memberCount = 0;
  let displayName: string | null = null;
  for (const id of memberIds) {
    const member = stored.get(id)?.event;
    if (member?.content.membership !== 'join') continue;
    memberCount++;
    if (member.stateKey === userId && typeof member.content.displayname === 'string') displayName = member.content.displayname;
  }
  return { memberCount, displayName, powerLevels: powerId === undefined ? undefined : stored.get(powerId)?.event.content };
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
  const facts = await roomFacts(reads, await reads.stateAtPosition(room.roomId, room.upTo), room.userId);
  let notifications = 0;
  let highlights = 0;
  for (const event of await serve(unread)) {
    const verdict = judge(event, facts);
    if (verdict.notify) notifications++;
    if (verdict.highlight) highlights++;
  }
  return { notification_count: notifications, highlight_count: highlights };
}
