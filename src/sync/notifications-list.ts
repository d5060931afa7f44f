/**
 * GET /notifications (client-server API, "Listing notifications"): the events of the user's rooms that
 * their push rules say notify them, newest first, each with the actions, the time, and whether their read
 * receipt has passed it. Worked out when asked, as sync's unread counts are, from the user's rules as they
 * are now: nothing is judged or written while messages flow, so the list costs the send path nothing.
 *
 * A page looks through at most SCAN events (the latest of the user's rooms below `from`); when those hold
 * fewer than `limit` notifications, `next_token` goes on below them, so a page may hold fewer than `limit`
 * while there are more.
 */
import { MatrixError } from '../protocol/index.js';
import type { Clock } from '../platform/clock.js';
import { createClientEvents, createVisibility, type ErasedUsers, type StoredEvent } from '../rooms/index.js';
import type { ReadMarks, SyncReads, SyncStore } from './ports.js';
import { NOTHING_READ, roomPushFacts, threadOf, type RoomPushFacts } from './notifications.js';

/** The actions the user's rules give an event (null: no rule matched). */
export type PushActionsOf = (event: object, room: RoomPushFacts) => readonly unknown[] | null;

export interface NotificationsListDeps {
  readonly store: SyncStore;
  /** The user's push rules, bound: the wiring gives the push module's evaluator. */
  readonly actionsFor: (userId: string) => Promise<PushActionsOf>;
  readonly clock: Clock;
  readonly erased?: ErasedUsers;
}

export interface NotificationsQuery {
  readonly from?: string | undefined;
  readonly limit?: number | undefined;
  readonly only?: string | undefined;
}

export interface NotificationJson {
  readonly actions: unknown[];
  readonly event: Readonly<Record<string, unknown>>;
  /** The profile tag of the pusher the notification went to; Hearth keeps none (Synapse's default too). */
  readonly profile_tag: null;
  readonly read: boolean;
  readonly room_id: string;
  readonly ts: number;
}

export const DEFAULT_NOTIFICATIONS_LIMIT = 20;
export const MAX_NOTIFICATIONS_LIMIT = 100;
/** Events looked through per page: bounds a page's work whatever the rooms hold. */
const SCAN = 500;

function parseFrom(from: string | undefined): number | undefined {
  if (from === undefined) return undefined;
  if (!/^[0-9]{1,15}$/.test(from)) throw new MatrixError('M_INVALID_PARAM', 'from must be a next_token from an earlier /notifications answer');
  return Number(from);
}

function isHighlight(actions: readonly unknown[]): boolean {
  return actions.some((action) => typeof action === 'object' && action !== null
    && (action as Record<string, unknown>).set_tweak === 'highlight' && (action as Record<string, unknown>).value !== false);
}

export type NotificationsList = ReturnType<typeof createNotificationsList>;

export function createNotificationsList(deps: NotificationsListDeps) {
  const { clock } = deps;

  async function page(reads: SyncReads, userId: string, actionsOf: PushActionsOf, query: NotificationsQuery) {
    const limit = Math.min(query.limit ?? DEFAULT_NOTIFICATIONS_LIMIT, MAX_NOTIFICATIONS_LIMIT);
    const only = query.only === 'highlight' ? 'highlight' : undefined;
    const positions = await reads.positions();
    const below = parseFrom(query.from) ?? positions.events + 1;
    const rooms = (await reads.currentMemberships(userId)).filter((row) => row.membership === 'join').map((row) => row.roomId);
    const visibility = createVisibility({ store: reads });
    const clientEvents = createClientEvents({ store: reads, relations: reads, clock, ...(deps.erased ? { erased: deps.erased } : {}) });
    const marks = await reads.readUpTo(userId, rooms);

    const scanned = await reads.latestEventsIn(rooms, below - 1, SCAN, userId);
    const byRoom = new Map<string, StoredEvent[]>();
    for (const stored of scanned) {
      const events = byRoom.get(stored.event.roomId);
      if (events === undefined) byRoom.set(stored.event.roomId, [stored]);
      else events.push(stored);
    }
    const visibleIds = new Set<string>();
    for (const [roomId, events] of byRoom) {
      for (const id of await visibility.visibleIds(userId, roomId, events.map(({ event }) => event))) visibleIds.add(id);
    }
    const visible = scanned.filter((stored) => visibleIds.has(stored.event.eventId));
    const served = await clientEvents.serve(visible, { viewer: userId, bundle: false });

    const notifications: NotificationJson[] = [];
    const facts = new Map<string, RoomPushFacts>();
    // More events below those looked through: the next page starts there.
    let nextToken: number | undefined = scanned.length === SCAN ? (scanned.at(-1)!.streamPosition ?? 0) : undefined;
    for (let i = 0; i < visible.length; i++) {
      const stored = visible[i]!;
      const position = stored.streamPosition ?? 0;
      const { roomId } = stored.event;
      let room = facts.get(roomId);
      if (room === undefined) facts.set(roomId, (room = await roomPushFacts(reads, roomId, positions.events, userId)));
      const actions = actionsOf(served[i]!, room);
      if (actions === null || !actions.includes('notify')) continue;
      if (only === 'highlight' && !isHighlight(actions)) continue;
      if (notifications.length === limit) {
        nextToken = position + 1;
        break;
      }
      const read = readMark(marks.get(roomId) ?? NOTHING_READ, stored);
      const { room_id: _roomId, ...event } = served[i] as unknown as Record<string, unknown>;
      notifications.push({ actions: [...actions], event, profile_tag: null, read: position <= read, room_id: roomId, ts: stored.event.originServerTs });
    }
    return { notifications, ...(nextToken === undefined ? {} : { next_token: String(nextToken) }) };
  }

  return {
    /** GET /notifications for the user: one page, and where the next starts. */
    async list(userId: string, query: NotificationsQuery): Promise<{ notifications: NotificationJson[]; next_token?: string }> {
      const actionsOf = await deps.actionsFor(userId);
      return deps.store.snapshot((reads) => page(reads, userId, actionsOf, query));
    },
  };
}

/** How far the user has read where the event is: its thread's receipt or the main timeline's, or the room's. */
function readMark(marks: ReadMarks, stored: StoredEvent): number {
  const thread = threadOf(stored.event, new Map());
  return Math.max(marks.room, thread === undefined ? marks.main : (marks.threads.get(thread) ?? 0));
}
