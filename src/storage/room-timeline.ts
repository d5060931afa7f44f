import type postgres from 'postgres';
import type { StateKey, StateMap } from '../events/index.js';
import type { EventStates, MembershipChange, RoomReads, StoredEvent, TimelineEvent, TimelineRange } from '../rooms/index.js';
import { storedEventFromRow, type EventRow } from './event-rows.js';
import { loadGroupState, type Query, type StateCache } from './state-groups.js';

/** The reads of a room's history (src/rooms/ports.ts) that RoomReads gets from here; migrations 0002 and 0009. */
export type TimelineReads = Pick<
  RoomReads,
  'timelineEvents' | 'statesAround' | 'membershipHistory' | 'redactionsOf' | 'replacedStates' | 'forgottenRooms' | 'eventNearTime' | 'backwardExtremities'
>;

/** The oldest timeline events whose prev events backwardExtremities looks at: a fork's far side is close by. */
const OLDEST_EVENTS_LOOKED_AT = 20;

/** A row read with a stream position (the queries ask for one): an event clients may be served. */
function timelineEvent(row: EventRow): TimelineEvent {
  return { ...storedEventFromRow(row), streamPosition: row.stream_position ?? 0 };
}

export function timelineReads(q: Query, cache: StateCache): TimelineReads {
  return {
    async timelineEvents(roomId: string, range: TimelineRange): Promise<TimelineEvent[]> {
      if (range.limit <= 0) return [];
      // Each direction walks events_room_stream from `from` towards `to`; the bounds are the two sides of tokens.
      const rows = range.dir === 'b'
        ? await q<EventRow[]>`
            select e.event_id, e.room_id, e.type, e.state_key, e.sender, e.redacts, e.json, e.outlier, e.rejected_reason,
              e.soft_failed, e.stream_position, r.room_version
            from events e join rooms r on r.room_id = e.room_id
            where e.room_id = ${roomId} and e.stream_position <= ${range.from}
              and e.stream_position > ${range.to ?? Number.MIN_SAFE_INTEGER} and not e.soft_failed
            order by e.stream_position desc limit ${range.limit}`
        : await q<EventRow[]>`
            select e.event_id, e.room_id, e.type, e.state_key, e.sender, e.redacts, e.json, e.outlier, e.rejected_reason,
              e.soft_failed, e.stream_position, r.room_version
            from events e join rooms r on r.room_id = e.room_id
            where e.room_id = ${roomId} and e.stream_position > ${range.from}
              and (${range.to ?? null}::int8 is null or e.stream_position <= ${range.to ?? null}::int8) and not e.soft_failed
            order by e.stream_position asc limit ${range.limit}`;
      return rows.map(timelineEvent);
    },

    async statesAround(eventIds: readonly string[], keys: readonly StateKey[]): Promise<Map<string, EventStates>> {
      const found = new Map<string, EventStates>();
      if (eventIds.length === 0) return found;
      const rows = await q<{ event_id: string; stream_position: number | null; state_before: number; state_after: number }[]>`
        select event_id, stream_position, state_before, state_after from events
        where event_id = any(${q.array([...new Set(eventIds)])}::text[]) and state_before is not null`;
      // Consecutive messages share one group: each distinct group is loaded (or found in the cache) once.
      const selected = new Map<number, StateMap>();
      const select = async (group: number): Promise<StateMap> => {
        let state = selected.get(group);
        if (state === undefined) {
          const full = await loadGroupState(q, cache, group);
          state = new Map(keys.flatMap((key) => {
            const eventId = full.get(key);
            return eventId === undefined ? [] : [[key, eventId] as const];
          }));
          selected.set(group, state);
        }
        return state;
      };
      for (const row of rows) {
        found.set(row.event_id, {
          position: row.stream_position,
          before: await select(row.state_before),
          after: await select(row.state_after),
        });
      }
      return found;
    },

    async replacedStates(eventIds: readonly string[]): Promise<Map<string, string>> {
      if (eventIds.length === 0) return new Map();
      const rows = await q<{ event_id: string; replaces_state: string }[]>`
        select event_id, replaces_state from events
        where event_id = any(${q.array([...new Set(eventIds)])}::text[]) and replaces_state is not null`;
      return new Map(rows.map((row) => [row.event_id, row.replaces_state]));
    },

    async backwardExtremities(roomId: string, limit: number): Promise<string[]> {
      if (limit <= 0) return [];
      const rows = await q<{ event_id: string }[]>`
        with oldest as (
          select prev_events from events
          where room_id = ${roomId} and stream_position is not null and not soft_failed
          order by stream_position asc limit ${OLDEST_EVENTS_LOOKED_AT}
        ), prevs as (
          select distinct unnest(prev_events) as event_id from oldest
        )
        select p.event_id from prevs p
        left join events e on e.event_id = p.event_id
        where e.event_id is null or (e.stream_position is null and e.rejected_reason is null)
        order by p.event_id limit ${limit}`;
      return rows.map((row) => row.event_id);
    },

    async membershipHistory(roomId: string, userId: string): Promise<MembershipChange[]> {
      // events_member_stream (0010) finds the user's member events across rooms; they are few.
      const rows = await q<{ event_id: string; stream_position: number; membership: string | null }[]>`
        select event_id, stream_position, (json::jsonb -> 'content' ->> 'membership') as membership
        from events
        where type = 'm.room.member' and state_key = ${userId} and room_id = ${roomId}
          and stream_position is not null and not soft_failed
        order by stream_position`;
      return rows.map((row) => ({ eventId: row.event_id, position: row.stream_position, membership: row.membership ?? '' }));
    },

    async redactionsOf(eventIds: readonly string[]): Promise<Map<string, StoredEvent[]>> {
      const found = new Map<string, StoredEvent[]>();
      if (eventIds.length === 0) return found;
      const rows = await q<EventRow[]>`
        select e.event_id, e.room_id, e.type, e.state_key, e.sender, e.redacts, e.json, e.outlier, e.rejected_reason,
              e.soft_failed, e.stream_position, r.room_version
            from events e join rooms r on r.room_id = e.room_id
        where e.redacts = any(${q.array([...new Set(eventIds)])}::text[]) and e.type = 'm.room.redaction'
          and e.stream_position is not null and not e.soft_failed
        order by e.stream_position`;
      for (const row of rows) {
        const stored = storedEventFromRow(row);
        const target = stored.event.redacts;
        if (target === undefined) continue;
        const list = found.get(target);
        if (list === undefined) found.set(target, [stored]);
        else list.push(stored);
      }
      return found;
    },

    async forgottenRooms(userId: string): Promise<string[]> {
      const rows = await q<{ room_id: string }[]>`
        select f.room_id from forgotten_rooms f
        join current_state c on c.room_id = f.room_id and c.type = 'm.room.member' and c.state_key = f.user_id
        where f.user_id = ${userId} and c.event_id = f.membership_event_id
        order by f.room_id`;
      return rows.map((row) => row.room_id);
    },

    async eventNearTime(roomId: string, ts: number, dir: 'f' | 'b'): Promise<TimelineEvent | undefined> {
      const [row] = dir === 'f'
        ? await q<EventRow[]>`
            select e.event_id, e.room_id, e.type, e.state_key, e.sender, e.redacts, e.json, e.outlier, e.rejected_reason,
              e.soft_failed, e.stream_position, r.room_version
            from events e join rooms r on r.room_id = e.room_id
            where e.room_id = ${roomId} and e.origin_server_ts >= ${ts} and e.stream_position is not null and not e.soft_failed
            order by e.origin_server_ts asc, e.stream_position asc limit 1`
        : await q<EventRow[]>`
            select e.event_id, e.room_id, e.type, e.state_key, e.sender, e.redacts, e.json, e.outlier, e.rejected_reason,
              e.soft_failed, e.stream_position, r.room_version
            from events e join rooms r on r.room_id = e.room_id
            where e.room_id = ${roomId} and e.origin_server_ts <= ${ts} and e.stream_position is not null and not e.soft_failed
            order by e.origin_server_ts desc, e.stream_position desc limit 1`;
      return row === undefined ? undefined : timelineEvent(row);
    },
  };
}

/** Marks the room forgotten for the user, as long as `membershipEventId` stays their membership event. */
export async function forgetRoom(q: postgres.Sql, userId: string, roomId: string, membershipEventId: string): Promise<void> {
  await q`
    insert into forgotten_rooms (user_id, room_id, membership_event_id)
    values (${userId}, ${roomId}, ${membershipEventId})
    on conflict (user_id, room_id) do update set membership_event_id = excluded.membership_event_id`;
}
