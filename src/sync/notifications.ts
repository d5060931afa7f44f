import { stateKey } from '../events/index.js';
import type { RoomEvent } from '../events/index.js';
import type { ClientEvent, StoredEvent } from '../rooms/index.js';
import type { ReadMarks, SyncReads } from './ports.js';

/**
 * unread_notifications (and unread_thread_notifications): how many of the room's events since the user's
 * read receipts their push rules say notify (and highlight). Counted when a room is synced, over at most MAX_COUNTED events: a client
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
export async function roomPushFacts(reads: SyncReads, roomId: string, position: number, userId: string): Promise<RoomPushFacts> {
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

/** A room's unread counts, split by thread (client-server API, "Receiving notifications"). */
export interface RoomCounts {
  /** The main timeline's (thread roots included). */
  readonly main: NotificationCounts;
  /** By thread root id; threads with nothing counted are absent. */
  readonly threads: ReadonlyMap<string, NotificationCounts>;
}

export const NOTHING_READ: ReadMarks = Object.freeze({ room: 0, main: 0, threads: new Map<string, number>() });

/**
 * The thread an event is in: the root its m.thread relation names, else the thread of the event it relates
 * to when `known` (the threads of the events before it) says, which follows the spec's advice of a few hops
 * from a reaction or edit to a thread.
 */
export function threadOf(event: RoomEvent, known: ReadonlyMap<string, string>): string | undefined {
  const relation = event.content['m.relates_to'];
  if (typeof relation !== 'object' || relation === null) return undefined;
  const { rel_type: relType, event_id: parent } = relation as { rel_type?: unknown; event_id?: unknown };
  if (typeof parent !== 'string') return undefined;
  return relType === 'm.thread' ? parent : known.get(parent);
}

/**
 * The counts for one joined room: the events after `after` (where counting starts: the unthreaded
 * receipt, or the user's join) up to `upTo`, each unread unless a receipt for its thread (or the main
 * timeline's) reaches it.
 */
export async function notificationCounts(
  reads: SyncReads,
  judge: PushJudge,
  serve: (events: readonly StoredEvent[]) => Promise<ClientEvent[]>,
  room: { readonly roomId: string; readonly userId: string; readonly after: number; readonly marks: ReadMarks; readonly upTo: number },
): Promise<RoomCounts> {
  const { events } = await reads.timeline(room.roomId, room.after, room.upTo, MAX_COUNTED);
  const { marks } = room;
  const threads = new Map<string, string>();
  const unread: StoredEvent[] = [];
  const threadOfUnread: Array<string | undefined> = [];
  for (const stored of events) {
    const thread = threadOf(stored.event, threads);
    if (thread !== undefined) threads.set(stored.event.eventId, thread);
    if (stored.event.sender === room.userId) continue;
    const readTo = Math.max(marks.room, thread === undefined ? marks.main : (marks.threads.get(thread) ?? 0));
    if ((stored.streamPosition ?? 0) <= readTo) continue;
    unread.push(stored);
    threadOfUnread.push(thread);
  }
  if (unread.length === 0) return { main: { notification_count: 0, highlight_count: 0 }, threads: new Map() };
  const facts = await roomPushFacts(reads, room.roomId, room.upTo, room.userId);
  const main = { notification_count: 0, highlight_count: 0 };
  const byThread = new Map<string, NotificationCounts>();
  const served = await serve(unread);
  for (let i = 0; i < served.length; i++) {
    const verdict = judge(served[i]!, facts);
    if (!verdict.notify && !verdict.highlight) continue;
    const thread = threadOfUnread[i];
    let counts = main;
    if (thread !== undefined) {
      counts = byThread.get(thread) ?? { notification_count: 0, highlight_count: 0 };
      byThread.set(thread, counts);
    }
    if (verdict.notify) counts.notification_count++;
    if (verdict.highlight) counts.highlight_count++;
  }
  return { main, threads: byThread };
}

/** Counts added up: those of `base` plus those counted since. */
export function addCounts(base: RoomCounts, more: RoomCounts): RoomCounts {
  if (more.main.notification_count === 0 && more.main.highlight_count === 0 && more.threads.size === 0) return base;
  // Most rooms have no threads: their (read-only) map is shared, not copied, sync after sync.
  let threads = base.threads;
  if (more.threads.size > 0) {
    const added = new Map(base.threads);
    for (const [thread, counts] of more.threads) {
      const before = added.get(thread);
      added.set(thread, before === undefined ? counts : {
        notification_count: before.notification_count + counts.notification_count,
        highlight_count: before.highlight_count + counts.highlight_count,
      });
    }
    threads = added;
  }
  return {
    main: {
      notification_count: base.main.notification_count + more.main.notification_count,
      highlight_count: base.main.highlight_count + more.main.highlight_count,
    },
    threads,
  };
}

/** Whether two sets of read marks say the same. */
export function sameMarks(a: ReadMarks, b: ReadMarks): boolean {
  if (a.room !== b.room || a.main !== b.main || a.threads.size !== b.threads.size) return false;
  for (const [thread, position] of a.threads) if (b.threads.get(thread) !== position) return false;
  return true;
}
