import type postgres from 'postgres';
import type { UserId } from '../protocol/index.js';
import type { PusherRecord, PusherStore } from '../push/index.js';

export interface PusherRow {
  user_id: string;
  device_id: string;
  kind: string;
  app_id: string;
  pushkey: string;
  app_display_name: string;
  device_display_name: string;
  profile_tag: string | null;
  lang: string;
  data: string;
  created_ts: number;
}

export const pusherFromRow = (row: PusherRow): PusherRecord => ({
  userId: row.user_id as UserId,
  deviceId: row.device_id,
  kind: row.kind as PusherRecord['kind'],
  appId: row.app_id,
  pushkey: row.pushkey,
  appDisplayName: row.app_display_name,
  deviceDisplayName: row.device_display_name,
  profileTag: row.profile_tag,
  lang: row.lang,
  data: JSON.parse(row.data) as Record<string, unknown>,
  createdTs: row.created_ts,
});

/** Pushers (src/push/ports.ts) on migrations/0014_pushers.sql; a deleted device takes its pushers along (cascade). */
export function createPushersStore(sql: postgres.Sql): PusherStore {
  return {
    async pushers(userId: UserId): Promise<PusherRecord[]> {
      const rows = await sql<PusherRow[]>`
        select user_id, device_id, kind, app_id, pushkey, app_display_name, device_display_name, profile_tag, lang, data, created_ts
        from pushers where user_id = ${userId} order by created_ts, app_id, pushkey`;
      return rows.map(pusherFromRow);
    },

    async setPusher(pusher: PusherRecord, append: boolean): Promise<void> {
      await sql.begin(async (tx) => {
        if (!append) {
          await tx`delete from pushers where app_id = ${pusher.appId} and pushkey = ${pusher.pushkey} and user_id <> ${pusher.userId}`;
        }
        await tx`
          insert into pushers (user_id, device_id, kind, app_id, pushkey, app_display_name, device_display_name, profile_tag, lang, data, created_ts)
          values (${pusher.userId}, ${pusher.deviceId}, ${pusher.kind}, ${pusher.appId}, ${pusher.pushkey}, ${pusher.appDisplayName},
            ${pusher.deviceDisplayName}, ${pusher.profileTag}, ${pusher.lang}, ${JSON.stringify(pusher.data)}, ${pusher.createdTs})
          on conflict (user_id, app_id, pushkey) do update set
            device_id = excluded.device_id, kind = excluded.kind, app_display_name = excluded.app_display_name,
            device_display_name = excluded.device_display_name, profile_tag = excluded.profile_tag, lang = excluded.lang,
            data = excluded.data`;
      });
    },

    async deletePusher(userId: UserId, appId: string, pushkey: string): Promise<boolean> {
      const result = await sql`delete from pushers where user_id = ${userId} and app_id = ${appId} and pushkey = ${pushkey}`;
      return result.count > 0;
    },
  };
}
