import type postgres from 'postgres';
import type { HierarchyStore, RoomSummaryRow, SpaceChildRow } from '../rooms/index.js';

function objectOf(text: string | null): Record<string, unknown> | undefined {
  if (text === null) return undefined;
  const value: unknown = JSON.parse(text);
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** The space hierarchy's reads (src/rooms/ports.ts) over current_state. */
export function createHierarchyStore(sql: postgres.Sql): HierarchyStore {
  return {
    async summaries(roomIds: readonly string[], types: readonly string[]): Promise<Map<string, RoomSummaryRow>> {
      const found = new Map<string, RoomSummaryRow>();
      if (roomIds.length === 0) return found;
      const ids = sql.array([...new Set(roomIds)]);
      // Rooms this server has state for: those with a current m.room.create.
      const rooms = await sql<{ room_id: string; room_version: string; joined: number }[]>`
        select r.room_id, r.room_version,
          (select count(*) from current_state m join events e on e.event_id = m.event_id
            where m.room_id = r.room_id and m.type = 'm.room.member'
              and (e.json::jsonb -> 'content' ->> 'membership') = 'join')::int8 as joined
        from rooms r
        where r.room_id = any(${ids}::text[])
          and exists (select 1 from current_state c where c.room_id = r.room_id and c.type = 'm.room.create' and c.state_key = '')`;
      const stateRows = rooms.length === 0 ? [] : await sql<{ room_id: string; type: string; content: string | null }[]>`
        select c.room_id, c.type, (e.json::jsonb -> 'content')::text as content
        from current_state c join events e on e.event_id = c.event_id
        where c.room_id = any(${sql.array(rooms.map((room) => room.room_id))}::text[]) and c.state_key = ''
          and c.type = any(${sql.array([...types])}::text[])`;
      const states = new Map<string, Map<string, Record<string, unknown>>>();
      for (const row of stateRows) {
        const content = objectOf(row.content);
        if (content === undefined) continue;
        let state = states.get(row.room_id);
        if (!state) states.set(row.room_id, (state = new Map()));
        state.set(row.type, content);
      }
      for (const room of rooms) {
        found.set(room.room_id, { roomId: room.room_id, roomVersion: room.room_version, joinedMembers: room.joined, state: states.get(room.room_id) ?? new Map() });
      }
      return found;
    },

    async spaceChildren(roomIds: readonly string[]): Promise<Map<string, SpaceChildRow[]>> {
      const found = new Map<string, SpaceChildRow[]>();
      if (roomIds.length === 0) return found;
      const rows = await sql<{ room_id: string; state_key: string; sender: string; origin_server_ts: number; content: string | null }[]>`
        select c.room_id, c.state_key, e.sender, e.origin_server_ts, (e.json::jsonb -> 'content')::text as content
        from current_state c join events e on e.event_id = c.event_id
        where c.room_id = any(${sql.array([...new Set(roomIds)])}::text[]) and c.type = 'm.space.child'`;
      for (const row of rows) {
        const content = objectOf(row.content);
        if (content === undefined) continue;
        let children = found.get(row.room_id);
        if (!children) found.set(row.room_id, (children = []));
        children.push({ roomId: row.room_id, stateKey: row.state_key, sender: row.sender, originServerTs: row.origin_server_ts, content });
      }
      return found;
    },

    async memberships(userId: string, roomIds: readonly string[]): Promise<Map<string, string>> {
      if (roomIds.length === 0) return new Map();
      const rows = await sql<{ room_id: string; membership: string | null }[]>`
        select c.room_id, (e.json::jsonb -> 'content' ->> 'membership') as membership
        from current_state c join events e on e.event_id = c.event_id
        where c.room_id = any(${sql.array([...new Set(roomIds)])}::text[]) and c.type = 'm.room.member' and c.state_key = ${userId}`;
      return new Map(rows.flatMap((row) => (row.membership === null ? [] : [[row.room_id, row.membership] as const])));
    },

    async roomsWithServer(server: string, roomIds: readonly string[]): Promise<Set<string>> {
      if (roomIds.length === 0) return new Set();
      // A user id ends in ':' and its server name; LIKE's own wildcards in the name are escaped.
      const suffix = `%:${server.replace(/[\\%_]/g, '\\$&')}`;
      const rows = await sql<{ room_id: string }[]>`
        select distinct c.room_id
        from current_state c join events e on e.event_id = c.event_id
        where c.room_id = any(${sql.array([...new Set(roomIds)])}::text[]) and c.type = 'm.room.member'
          and c.state_key like ${suffix}
          and (e.json::jsonb -> 'content' ->> 'membership') in ('join', 'invite')`;
      return new Set(rows.map((row) => row.room_id));
    },
  };
}
