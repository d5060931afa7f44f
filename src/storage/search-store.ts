import type postgres from 'postgres';
import type { SearchCursor, SearchHit, SearchQuery, SearchScope, SearchStore } from '../search/index.js';
import { storedEventFromRow, type EventRow } from './event-rows.js';

/**
 * Full-text search over events (src/search/ports.ts) on event_search (migration 0042): each timeline event
 * of a searchable type with its text, hearth_search_text(type, json) under the 'english' configuration
 * (migration 0012 says why), as a tsvector.
 */

/** Positions no event reaches: the bound of a room the user is still in. */
const UNBOUNDED = Number.MAX_SAFE_INTEGER;
/** ts_headline marks the words that matched with these; they are cut out again below. */
const MARK_START = '<<<';
const MARK_STOP = '>>>';
const MARKED = /<<<(.*?)>>>/g;

interface HitRow extends EventRow {
  readonly rank: number;
  readonly headline: string | null;
}

export function createSearchStore(sql: postgres.Sql): SearchStore {
  /** The conditions every search shares: the words, the types, the rooms (each up to its bound), the senders. */
  function matching(scope: SearchScope) {
    const rooms = scope.rooms.map((r) => r.roomId);
    const bounds = scope.rooms.map((r) => r.upTo ?? UNBOUNDED);
    return sql`
      from event_search s
      join events e on e.event_id = s.event_id
      join unnest(${sql.array(rooms)}::text[], ${sql.array(bounds)}::int8[]) as scope(room_id, up_to)
        on scope.room_id = e.room_id and e.stream_position <= scope.up_to
      join rooms r on r.room_id = e.room_id
      where s.vector @@ websearch_to_tsquery('english', ${scope.term})
        and e.type = any(${sql.array([...scope.types])}::text[])
        and not e.soft_failed
        ${scope.senders === undefined ? sql`` : sql`and e.sender = any(${sql.array([...scope.senders])}::text[])`}
        ${scope.notSenders.length === 0 ? sql`` : sql`and not (e.sender = any(${sql.array([...scope.notSenders])}::text[]))`}`;
  }

  function after(query: SearchQuery, cursor: SearchCursor) {
    return query.order === 'recent'
      ? sql`where m.stream_position < ${cursor.position}`
      : sql`where m.rank < ${cursor.rank}::real or (m.rank = ${cursor.rank}::real and m.stream_position < ${cursor.position})`;
  }

  return {
    async searchEvents(query: SearchQuery): Promise<SearchHit[]> {
      if (query.limit <= 0 || query.rooms.length === 0 || query.types.length === 0) return [];
      const rows = await sql<HitRow[]>`
        select m.*, ts_headline('english', coalesce(hearth_search_text(m.type, m.json), ''),
            websearch_to_tsquery('english', ${query.term}),
            ${`HighlightAll=true, StartSel="${MARK_START}", StopSel="${MARK_STOP}"`}) as headline
        from (
          select e.event_id, e.room_id, e.type, e.state_key, e.sender, e.redacts, e.json, e.outlier, e.rejected_reason,
            e.soft_failed, e.stream_position, r.room_version,
            ts_rank(s.vector, websearch_to_tsquery('english', ${query.term})) as rank
          ${matching(query)}
        ) m
        ${query.after === undefined ? sql`` : after(query, query.after)}
        order by ${query.order === 'recent' ? sql`m.stream_position desc` : sql`m.rank desc, m.stream_position desc`}
        limit ${query.limit}`;
      return rows.map((row) => ({
        ...storedEventFromRow(row),
        streamPosition: row.stream_position ?? 0,
        rank: row.rank,
        matchedWords: [...(row.headline ?? '').matchAll(MARKED)].map((match) => match[1] ?? '').filter((w) => w !== ''),
      }));
    },

    async countMatches(scope: SearchScope): Promise<number> {
      if (scope.rooms.length === 0 || scope.types.length === 0) return 0;
      const [row] = await sql<{ count: number }[]>`select count(*)::int8 as count ${matching(scope)}`;
      return row?.count ?? 0;
    },
  };
}
