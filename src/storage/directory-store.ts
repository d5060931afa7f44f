import type postgres from 'postgres';
import type { AliasRecord, AliasStore, NetworkDirectoryStore, NetworkList, PublishedRoom, RoomDirectoryStore } from '../rooms/index.js';
import { stateContentsByRoom } from './event-rows.js';

/**
 * Room aliases and the published room directory (src/rooms/ports.ts) on migrations/0008_directory.sql, and
 * application services' own room lists (src/rooms/directory.ts) on migrations/0030_appservice_directory.sql.
 */
export function createDirectoryStore(sql: postgres.Sql): AliasStore & RoomDirectoryStore & NetworkDirectoryStore {
  /** The rooms `listed` names (a query with a room_id column), each with its state `types` and joined count. */
  async function roomsWithState(listed: postgres.PendingQuery<postgres.Row[]>, types: readonly string[]): Promise<PublishedRoom[]> {
    // Counting joins reads every member event of the listed rooms; the directory is small next to the
    // rooms, and the count has to be current, so it is not kept in a column.
    const counts = await sql<{ room_id: string; joined: number }[]>`
      select p.room_id, count(e.event_id)::int8 as joined
      from (${listed}) p
      left join current_state c on c.room_id = p.room_id and c.type = 'm.room.member'
      left join events e on e.event_id = c.event_id and (e.json::jsonb -> 'content' ->> 'membership') = 'join'
      group by p.room_id`;
    const stateRows = await sql<{ room_id: string; type: string; content: string | null }[]>`
      select c.room_id, c.type, (e.json::jsonb -> 'content')::text as content
      from (${listed}) p
      join current_state c on c.room_id = p.room_id and c.state_key = ''
        and c.type = any(${sql.array([...types])}::text[])
      join events e on e.event_id = c.event_id`;
    const states = stateContentsByRoom(stateRows);
    return counts.map((row) => ({ roomId: row.room_id, joinedMembers: row.joined, state: states.get(row.room_id) ?? new Map() }));
  }

  return {
    async alias(alias: string): Promise<AliasRecord | undefined> {
      const [row] = await sql<{ room_id: string; creator: string }[]>`
        select room_id, creator from room_aliases where room_alias = ${alias}`;
      return row === undefined ? undefined : { alias, roomId: row.room_id, creator: row.creator };
    },

    async createAlias(record: AliasRecord, nowMs: number): Promise<boolean> {
      const rows = await sql`
        insert into room_aliases (room_alias, room_id, creator, created_ts)
        values (${record.alias}, ${record.roomId}, ${record.creator}, ${nowMs})
        on conflict (room_alias) do nothing
        returning room_alias`;
      return rows.length === 1;
    },

    async deleteAlias(alias: string): Promise<boolean> {
      const rows = await sql`delete from room_aliases where room_alias = ${alias} returning room_alias`;
      return rows.length === 1;
    },

    async roomAliases(roomId: string): Promise<string[]> {
      const rows = await sql<{ room_alias: string }[]>`
        select room_alias from room_aliases where room_id = ${roomId} order by room_alias`;
      return rows.map((row) => row.room_alias);
    },

    async isPublished(roomId: string): Promise<boolean> {
      const [row] = await sql`select 1 from published_rooms where room_id = ${roomId}`;
      return row !== undefined;
    },

    async setPublished(roomId: string, published: boolean, nowMs: number): Promise<void> {
      if (published) {
        await sql`
          insert into published_rooms (room_id, published_ts) values (${roomId}, ${nowMs})
          on conflict (room_id) do nothing`;
      } else {
        await sql`delete from published_rooms where room_id = ${roomId}`;
      }
    },

    async publishedRooms(types: readonly string[]): Promise<PublishedRoom[]> {
      return roomsWithState(sql`select room_id from published_rooms`, types);
    },

    async setNetworkListed(list: NetworkList, roomId: string, listed: boolean, nowMs: number): Promise<void> {
      if (listed) {
        await sql`
          insert into appservice_room_list (appservice_id, network_id, room_id, listed_ts)
          values (${list.appserviceId}, ${list.networkId}, ${roomId}, ${nowMs})
          on conflict (appservice_id, network_id, room_id) do nothing`;
      } else {
        await sql`
          delete from appservice_room_list
          where appservice_id = ${list.appserviceId} and network_id = ${list.networkId} and room_id = ${roomId}`;
      }
    },

    async networkRooms(types: readonly string[], list: NetworkList | null): Promise<PublishedRoom[]> {
      // distinct: a room two networks list is one entry.
      const listed = list === null
        ? sql`select distinct room_id from appservice_room_list`
        : sql`select room_id from appservice_room_list where appservice_id = ${list.appserviceId} and network_id = ${list.networkId}`;
      return roomsWithState(listed, types);
    },
  };
}
