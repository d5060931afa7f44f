import type { RelationsRange, RoomReads, ThreadRoot, ThreadRootsQuery, TimelineEvent } from '../rooms/index.js';
import { storedEventFromRow, type EventRow } from './event-rows.js';
import type { Query } from './state-groups.js';

/**
 * The relations reads of src/rooms/ports.ts on migrations/0011_relations.sql. A child names its parent in
 * content."m.relates_to".event_id; every query below spells that expression exactly as the index does, so
 * the planner can use events_relates_to (and events_thread_replies for m.thread).
 */
export type RelationReads = Pick<RoomReads, 'childrenOf' | 'relationsOf' | 'threadRoots'>;

function timelineEvent(row: EventRow): TimelineEvent {
  return { ...storedEventFromRow(row), streamPosition: row.stream_position ?? 0 };
}

export function relationReads(q: Query): RelationReads {
  return {
    async childrenOf(parentIds: readonly string[], relTypes?: readonly string[]): Promise<TimelineEvent[]> {
      if (parentIds.length === 0 || relTypes?.length === 0) return [];
      const rows = await q<EventRow[]>`
        select e.event_id, e.room_id, e.type, e.state_key, e.sender, e.redacts, e.json, e.outlier, e.rejected_reason,
          e.soft_failed, e.stream_position, r.room_version
        from events e join rooms r on r.room_id = e.room_id
        where (e.json::jsonb -> 'content' -> 'm.relates_to' ->> 'event_id') = any(${q.array([...new Set(parentIds)])}::text[])
          and e.stream_position is not null and not e.soft_failed
          and (${relTypes === undefined ? null : q.array([...relTypes])}::text[] is null
            or (e.json::jsonb -> 'content' -> 'm.relates_to' ->> 'rel_type') = any(${relTypes === undefined ? null : q.array([...relTypes])}::text[]))
        order by e.stream_position`;
      return rows.map(timelineEvent);
    },

    async relationsOf(roomId: string, parentId: string, range: RelationsRange): Promise<TimelineEvent[]> {
      if (range.limit <= 0) return [];
      const backwards = range.dir === 'b';
      // The related set of one parent is small next to the room: it is gathered level by level through the
      // index, then the range and filters pick the page from it.
      const lower = backwards ? (range.to ?? Number.MIN_SAFE_INTEGER) : range.from;
      const upper = backwards ? range.from : (range.to ?? Number.MAX_SAFE_INTEGER);
      const rows = await q<EventRow[]>`
        with recursive related (event_id, depth) as (
          select c.event_id, 1 from events c
          where (c.json::jsonb -> 'content' -> 'm.relates_to' ->> 'event_id') = ${parentId}
            and c.stream_position is not null and not c.soft_failed and c.room_id = ${roomId}
          union
          select c.event_id, p.depth + 1 from related p join events c
            on (c.json::jsonb -> 'content' -> 'm.relates_to' ->> 'event_id') = p.event_id
          where p.depth < ${range.depth} and c.stream_position is not null and not c.soft_failed and c.room_id = ${roomId}
        )
        select e.event_id, e.room_id, e.type, e.state_key, e.sender, e.redacts, e.json, e.outlier, e.rejected_reason,
          e.soft_failed, e.stream_position, r.room_version
        from events e join rooms r on r.room_id = e.room_id
        where e.event_id in (select event_id from related)
          and e.stream_position > ${lower} and e.stream_position <= ${upper}
          and (${range.relType ?? null}::text is null
            or (e.json::jsonb -> 'content' -> 'm.relates_to' ->> 'rel_type') = ${range.relType ?? null}::text)
          and (${range.eventType ?? null}::text is null or e.type = ${range.eventType ?? null}::text)
        order by case when ${backwards} then -e.stream_position else e.stream_position end
        limit ${range.limit}`;
      return rows.map(timelineEvent);
    },

    async threadRoots(roomId: string, query: ThreadRootsQuery): Promise<ThreadRoot[]> {
      if (query.limit <= 0) return [];
      const participant = query.participant ?? null;
      const rows = await q<{ root_id: string; latest: number }[]>`
        select t.root_id, max(t.stream_position) as latest
        from (
          select (e.json::jsonb -> 'content' -> 'm.relates_to' ->> 'event_id') as root_id, e.stream_position, e.sender
          from events e
          where e.room_id = ${roomId} and e.stream_position is not null and not e.soft_failed
            and (e.json::jsonb -> 'content' -> 'm.relates_to' ->> 'rel_type') = 'm.thread'
        ) t
        where t.root_id is not null
        group by t.root_id
        having max(t.stream_position) <= ${query.from}
          and (${participant}::text is null or bool_or(t.sender = ${participant}::text)
            or exists (select 1 from events root where root.event_id = t.root_id and root.sender = ${participant}::text))
        order by latest desc
        limit ${query.limit}`;
      return rows.map((row) => ({ rootId: row.root_id, latestPosition: Number(row.latest) }));
    },
  };
}
