import type postgres from 'postgres';
import type { AdminRoomsStore, RoomBlock, AdminRoomRow } from '../rooms/index.js';
import { stateContentsByRoom } from './event-rows.js';

/** The admin API's view of rooms and the blocked rooms (src/rooms/admin-rooms.ts) on migrations/0040_blocked_rooms.sql. */
export function createAdminRoomsStore(sql: postgres.Sql, serverName: string): AdminRoomsStore {
  const localSuffix = `%:${serverName.replace(/[\\%_]/g, (c) => `\\${c}`)}`;

  return {
    async roomSummaries(roomIds: readonly string[] | null, types: readonly string[]): Promise<AdminRoomRow[]> {
      const chosen = roomIds === null ? sql`select room_id, room_version, creator from rooms` : sql`select room_id, room_version, creator from rooms where room_id = any(${sql.array([...roomIds])}::text[])`;
      // Every room's member events are read to count joins: the admin API reads all rooms at once, which
      // an admin asks now and then; the counts have to be current.
      const [rooms, members, states] = await Promise.all([
        sql<{ room_id: string; room_version: string; creator: string; state_events: number; published: boolean }[]>`
          select r.room_id, r.room_version, r.creator,
            (select count(*) from current_state c where c.room_id = r.room_id)::int8 as state_events,
            exists (select 1 from published_rooms p where p.room_id = r.room_id) as published
          from (${chosen}) r`,
        sql<{ room_id: string; joined: number; joined_local: number }[]>`
          select c.room_id, count(*)::int8 as joined, (count(*) filter (where c.state_key like ${localSuffix}))::int8 as joined_local
          from (${chosen}) r
          join current_state c on c.room_id = r.room_id and c.type = 'm.room.member'
          join events e on e.event_id = c.event_id and (e.json::jsonb -> 'content' ->> 'membership') = 'join'
          group by c.room_id`,
        sql<{ room_id: string; type: string; content: string | null }[]>`
          select c.room_id, c.type, (e.json::jsonb -> 'content')::text as content
          from (${chosen}) r
          join current_state c on c.room_id = r.room_id and c.state_key = '' and c.type = any(${sql.array([...types])}::text[])
          join events e on e.event_id = c.event_id`,
      ]);
      const counts = new Map(members.map((row) => [row.room_id, row]));
      const stateOf = stateContentsByRoom(states);
      return rooms.map((row) => ({
        roomId: row.room_id,
        roomVersion: row.room_version,
        creator: row.creator,
        stateEvents: row.state_events,
        published: row.published,
        joinedMembers: counts.get(row.room_id)?.joined ?? 0,
        joinedLocalMembers: counts.get(row.room_id)?.joined_local ?? 0,
        state: stateOf.get(row.room_id) ?? new Map(),
      }));
    },

    async joinedMembers(roomId: string): Promise<string[]> {
      const rows = await sql<{ state_key: string }[]>`
        select c.state_key from current_state c join events e on e.event_id = c.event_id
        where c.room_id = ${roomId} and c.type = 'm.room.member' and (e.json::jsonb -> 'content' ->> 'membership') = 'join'
        order by c.state_key`;
      return rows.map((row) => row.state_key);
    },

    async localMembers(roomId: string): Promise<Array<{ userId: string; membership: string }>> {
      const rows = await sql<{ state_key: string; membership: string }[]>`
        select c.state_key, e.json::jsonb -> 'content' ->> 'membership' as membership
        from current_state c join events e on e.event_id = c.event_id
        where c.room_id = ${roomId} and c.type = 'm.room.member' and c.state_key like ${localSuffix}
          and (e.json::jsonb -> 'content' ->> 'membership') in ('join', 'invite', 'knock')
        order by c.state_key`;
      return rows.map((row) => ({ userId: row.state_key, membership: row.membership }));
    },

    async roomBlock(roomId: string): Promise<RoomBlock | undefined> {
      const [row] = await sql<{ blocked_by: string; blocked_ts: number }[]>`select blocked_by, blocked_ts from blocked_rooms where room_id = ${roomId}`;
      return row === undefined ? undefined : { blockedBy: row.blocked_by, blockedTs: row.blocked_ts };
    },

    async setRoomBlock(roomId: string, block: { readonly by: string; readonly ts: number } | null): Promise<void> {
      if (block === null) {
        await sql`delete from blocked_rooms where room_id = ${roomId}`;
      } else {
        await sql`
          insert into blocked_rooms (room_id, blocked_by, blocked_ts) values (${roomId}, ${block.by}, ${block.ts})
          on conflict (room_id) do nothing`;
      }
    },
  };
}
