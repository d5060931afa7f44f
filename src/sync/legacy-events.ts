import { formatStreamToken, MatrixError, parseStreamToken, ZERO_STREAM_TOKEN, type StreamToken } from '../protocol/index.js';
import type { Requester } from '../users/index.js';
import type { TimelineEvent } from '../rooms/index.js';
import { createLegacyReads, legacyPresence, type LegacySyncDeps } from './legacy-reads.js';
import { MAX_SYNC_TIMEOUT_MS } from './sync.js';
import type { HangUpWatch } from './ports.js';

/**
 * GET /events, the v1 event stream (dropped from the spec with r0's v1 forms; Synapse still serves it
 * and sytest's fixtures read it). One flat chunk of everything new for the user since `from`: room
 * events of the rooms they are in (and their own member events, so a leave or an invite shows), typing,
 * receipts and room account data with their room_id, presence and global account data. Without `from`
 * the stream starts now. With `room_id`, only that room: a member's, or anyone's if it is world-readable
 * (peeking). Waits like /sync when nothing is new.
 */

export interface EventsRequest {
  readonly from?: string;
  readonly timeoutMs: number;
  readonly roomId?: string;
  /** At most this many room events; the end token then stops after the last one given. */
  readonly limit?: number;
  /** A waiting long-poll stops waiting when the client goes away. */
  readonly hangUp?: HangUpWatch;
}

export interface EventsResponse {
  start: string;
  end: string;
  chunk: object[];
}

/** Room events per response when the client names no limit (Synapse's cap for the stream too). */
const DEFAULT_EVENTS_LIMIT = 100;

export function createLegacyEvents(deps: LegacySyncDeps) {
  const reads = createLegacyReads(deps);
  const { store, streams, notifier, clock } = deps;

  /** The rooms whose events the user reads: joined ones, or the one asked for. */
  async function scopeOf(userId: string, roomId: string | undefined): Promise<{ rooms: string[]; peeking: boolean }> {
    if (roomId === undefined) return { rooms: [], peeking: false };
    const held = await reads.heldRoom(roomId);
    if ((await reads.membership(held, userId)).membership === 'join') return { rooms: [held], peeking: false };
    if (await reads.worldReadable(held)) return { rooms: [held], peeking: true };
    throw new MatrixError('M_FORBIDDEN', `You are not in room ${held}, and its history is not world-readable`);
  }

  /** One read of every stream from `from`; the chunk may be empty. */
  async function read(requester: Requester, from: StreamToken, asked: { rooms: string[]; peeking: boolean; all: boolean }, limit: number) {
    const userId = requester.userId;
    const { positions, memberships, changes, accountData } = await store.snapshot(async (snap) => {
      const positions = await snap.positions();
      return {
        positions,
        memberships: asked.all ? await snap.currentMemberships(userId) : [],
        changes: asked.all ? await snap.membershipChanges(userId, from.events, positions.events) : [],
        accountData: asked.peeking || positions.accountData <= from.accountData ? [] : await snap.accountDataSince(userId, from.accountData),
      };
    });
    const upTo = positions.events;
    const joined = asked.all ? memberships.filter((row) => row.membership === 'join').map((row) => row.roomId) : asked.rooms;

    // Room events, oldest first across the rooms; a room the user left in the range shows up to their leave.
    const roomEvents: TimelineEvent[] = [];
    const rooms = new Set([...joined, ...changes.map((row) => row.roomId)]);
    for (const roomId of rooms) {
      if (upTo <= from.events) break;
      const page = await deps.rooms.timelineEvents(roomId, { dir: 'f', from: from.events, to: upTo, limit: limit + 1 });
      const own = changes.filter((row) => row.roomId === roomId);
      const inRoom = joined.includes(roomId);
      // In a room the user is no longer in, only their own membership changes are theirs (an invite, a leave).
      const candidates = inRoom ? page : page.filter((e) => own.some((row) => row.eventId === e.event.eventId));
      roomEvents.push(...(await reads.visible(userId, roomId, candidates)));
    }
    roomEvents.sort((a, b) => a.streamPosition - b.streamPosition);
    const given = roomEvents.slice(0, limit);
    const endEvents = roomEvents.length > limit ? given.at(-1)!.streamPosition : Math.max(upTo, from.events);
    const chunk: object[] = await reads.serve(given, userId);

    const token: Record<keyof StreamToken, number> = { ...from, events: endEvents, accountData: Math.max(positions.accountData, from.accountData) };
    for (const change of accountData) {
      chunk.push(change.roomId === null ? { type: change.type, content: change.content } : { type: change.type, room_id: change.roomId, content: change.content });
    }
    if (streams) {
      const typing = streams.typing.typingSince(joined, from.typing);
      token.typing = typing.position;
      for (const [roomId, userIds] of typing.rooms) chunk.push({ type: 'm.typing', room_id: roomId, content: { user_ids: [...userIds] } });
      const receipts = await streams.receipts.receiptsSince(userId, joined, from.receipts);
      token.receipts = receipts.position;
      for (const [roomId, content] of receipts.rooms) chunk.push({ type: 'm.receipt', room_id: roomId, content });
      const presence = await streams.presence.presenceSince(await reads.presenceOf(userId, joined), from.presence);
      token.presence = presence.position;
      chunk.push(...presence.events.map(legacyPresence));
    }
    return { chunk, token, rooms: [...rooms] };
  }

  return {
    async events(requester: Requester, request: EventsRequest): Promise<EventsResponse> {
      const given = request.from === undefined ? undefined : parseStreamToken(request.from);
      // Without `from`, room events start when the request came: one committed while the client is marked
      // online below (a write that may wait its turn behind others) is news to it, not history. The other
      // streams start after that write, so the client is not handed its own presence.
      const arrivedAt = given === undefined ? await reads.eventsPositionNow() : 0;
      // A client on the event stream is connected as one on /sync is: online (Synapse marks it so too).
      await streams?.presence.setFromSync(requester.userId, 'online');
      const scope = await scopeOf(requester.userId, request.roomId);
      const asked = { ...scope, all: request.roomId === undefined };
      // The stream never carries to-device messages: its tokens leave that position alone.
      const from = given ?? Object.assign(await reads.nowToken(requester.userId, ZERO_STREAM_TOKEN), { events: arrivedAt });
      const start = formatStreamToken(from);
      const limit = Math.min(Math.max(request.limit ?? DEFAULT_EVENTS_LIMIT, 1), DEFAULT_EVENTS_LIMIT);
      const deadline = clock.now() + Math.min(Math.max(request.timeoutMs, 0), MAX_SYNC_TIMEOUT_MS);
      const listener = notifier.listen(requester.userId);
      const unwatch = request.hangUp?.(() => listener.close());
      try {
        for (;;) {
          listener.reset();
          const { chunk, token, rooms } = await read(requester, from, asked, limit);
          listener.addRooms(asked.all ? rooms : scope.rooms);
          const remaining = deadline - clock.now();
          if (chunk.length > 0 || remaining <= 0 || !(await listener.wait(remaining))) {
            return { start, end: formatStreamToken(token), chunk };
          }
        }
      } finally {
        unwatch?.();
        listener.close();
      }
    },
  };
}

export type LegacyEvents = ReturnType<typeof createLegacyEvents>;
