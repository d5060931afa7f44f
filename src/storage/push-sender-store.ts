import type postgres from 'postgres';
import type { PushRoomFacts, PushSenderStore } from '../push/index.js';
import type { TimelineEvent } from '../rooms/index.js';
import { timelineEventsAfter } from './event-rows.js';
import { pusherFromRow, type PusherRow } from './pushers-store.js';

const PUSHER_COLUMNS = 'p.user_id, p.device_id, p.kind, p.app_id, p.pushkey, p.app_display_name, p.device_display_name, p.profile_tag, p.lang, p.data, p.created_ts';

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The push sender's reads and its position (migrations/0028_push_sender.sql). */
export function createPushSenderStore(sql: postgres.Sql): PushSenderStore {
  return {
    async position(): Promise<number> {
      const [row] = await sql<{ position: number }[]>`select position from push_sender_position`;
      if (row) return row.position;
      const [start] = await sql<{ position: number }[]>`
        insert into push_sender_position (position)
        select coalesce(max(stream_position), 0) from events
        where not exists (select 1 from push_sender_position)
        returning position`;
      if (start) return start.position;
      const [again] = await sql<{ position: number }[]>`select position from push_sender_position`;
      return again?.position ?? 0;
    },

    async setPosition(position: number): Promise<void> {
      await sql`update push_sender_position set position = ${position} where position < ${position}`;
    },

    eventsAfter: (position: number, limit: number): Promise<TimelineEvent[]> => timelineEventsAfter(sql, position, limit),

    async anyPushers(): Promise<boolean> {
      const [row] = await sql<{ any: boolean }[]>`select exists (select 1 from pushers where kind = 'http') as any`;
      return row?.any ?? false;
    },

    async roomPushers(roomId: string): Promise<Map<string, ReturnType<typeof pusherFromRow>[]>> {
      const rows = await sql<PusherRow[]>`
        select ${sql.unsafe(PUSHER_COLUMNS)}
        from current_state c
        join events e on e.event_id = c.event_id
        join pushers p on p.user_id = c.state_key
        where c.room_id = ${roomId} and c.type = 'm.room.member' and p.kind = 'http'
          and (e.json::jsonb -> 'content' ->> 'membership') = 'join'
        order by p.user_id, p.created_ts`;
      const found = new Map<string, ReturnType<typeof pusherFromRow>[]>();
      for (const row of rows) {
        const pusher = pusherFromRow(row);
        found.set(pusher.userId, [...(found.get(pusher.userId) ?? []), pusher]);
      }
      return found;
    },

    async userPushers(userId: string) {
      const rows = await sql<PusherRow[]>`
        select ${sql.unsafe(PUSHER_COLUMNS)} from pushers p where p.user_id = ${userId} and p.kind = 'http' order by p.created_ts`;
      return rows.map(pusherFromRow);
    },

    async deletePusher(userId: string, appId: string, pushkey: string): Promise<boolean> {
      const result = await sql`delete from pushers where user_id = ${userId} and app_id = ${appId} and pushkey = ${pushkey}`;
      return result.count > 0;
    },

    async pushRules(userIds: readonly string[]): Promise<Map<string, Readonly<Record<string, unknown>>>> {
      if (userIds.length === 0) return new Map();
      const rows = await sql<{ user_id: string; content: string }[]>`
        select user_id, content from account_data
        where user_id = any(${sql.array([...userIds])}::text[]) and room_id = '' and type = 'm.push_rules'`;
      return new Map(rows.map((row) => [row.user_id, JSON.parse(row.content) as Record<string, unknown>]));
    },

    async roomFacts(roomId: string, recipients: readonly string[], sender: string): Promise<PushRoomFacts> {
      const members = [...new Set([...recipients, sender])];
      const rows = await sql<{ type: string; state_key: string; content: string | null }[]>`
        select c.type, c.state_key, (e.json::jsonb -> 'content')::text as content
        from current_state c join events e on e.event_id = c.event_id
        where c.room_id = ${roomId} and (
          (c.type in ('m.room.power_levels', 'm.room.name', 'm.room.canonical_alias') and c.state_key = '')
          or (c.type = 'm.room.member' and c.state_key = any(${sql.array(members)}::text[])))`;
      const [count] = await sql<{ joined: number }[]>`
        select count(*)::int8 as joined from current_state c join events e on e.event_id = c.event_id
        where c.room_id = ${roomId} and c.type = 'm.room.member' and (e.json::jsonb -> 'content' ->> 'membership') = 'join'`;
      const content = (type: string, key = '') => {
        const row = rows.find((r) => r.type === type && r.state_key === key);
        const value: unknown = row?.content ? JSON.parse(row.content) : undefined;
        return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
      };
      const displayNames = new Map<string, string | null>();
      for (const userId of recipients) {
        const own = content('m.room.member', userId);
        displayNames.set(userId, own?.membership === 'join' ? (text(own.displayname) ?? null) : null);
      }
      return {
        memberCount: count?.joined ?? 0,
        displayNames,
        powerLevels: content('m.room.power_levels'),
        roomName: text(content('m.room.name')?.name),
        roomAlias: text(content('m.room.canonical_alias')?.alias),
        senderDisplayName: text(content('m.room.member', sender)?.displayname),
      };
    },
  };
}
