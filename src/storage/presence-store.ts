import type postgres from 'postgres';
import type { PresenceRecord, PresenceState, PresenceStore } from '../ephemeral/index.js';
import { writeCommitted } from './client.js';
import { ADVISORY_LOCK_NAMESPACE, PRESENCE_STREAM_LOCK_ID } from './migrate.js';

interface PresenceRow {
  user_id: string;
  state: string;
  status_msg: string | null;
  last_active_ts: number;
  stream_position: number;
}

const record = (row: PresenceRow): PresenceRecord => ({
  userId: row.user_id,
  state: row.state as PresenceState,
  statusMsg: row.status_msg,
  lastActiveTs: row.last_active_ts,
  streamPosition: row.stream_position,
});

/** Presence (src/ephemeral/ports.ts) on migrations/0007_ephemeral.sql. */
export function createPresenceStore(sql: postgres.Sql): PresenceStore {
  return {
    async presence(userId) {
      const [row] = await sql<PresenceRow[]>`
        select user_id, state, status_msg, last_active_ts, stream_position from presence where user_id = ${userId}`;
      return row === undefined ? undefined : record(row);
    },

    async putPresence(userId, state, statusMsg, lastActiveTs): Promise<number> {
      // The lock (held to commit) makes positions commit in the order they are drawn: see the migration.
      // One statement takes it, draws the position and writes (writeCommitted: a thousand clients coming
      // back online at once queue on it).
      const [row] = await writeCommitted(sql, (tx) => tx<{ stream_position: number }[]>`
        insert into presence (user_id, state, status_msg, last_active_ts, stream_position)
        select ${userId}, ${state}, ${statusMsg}, ${lastActiveTs}, nextval('presence_stream_seq')
        where (select true from pg_advisory_xact_lock(${ADVISORY_LOCK_NAMESPACE}, ${PRESENCE_STREAM_LOCK_ID}))
        on conflict (user_id) do update
        set state = excluded.state, status_msg = excluded.status_msg, last_active_ts = excluded.last_active_ts,
          stream_position = excluded.stream_position
        returning stream_position`);
      if (row === undefined) throw new Error('no presence stream position was drawn');
      return row.stream_position;
    },

    async touchPresence(userId, lastActiveTs): Promise<void> {
      await sql`update presence set last_active_ts = greatest(last_active_ts, ${lastActiveTs}) where user_id = ${userId}`;
    },

    async touchPresenceIfUnchanged(userId, state, lastActiveTs, activeAfter): Promise<boolean> {
      const touched = await sql`
        update presence set last_active_ts = greatest(last_active_ts, ${lastActiveTs})
        where user_id = ${userId} and state = ${state} and (state <> 'online' or last_active_ts > ${activeAfter})`;
      return touched.count > 0;
    },

    async presenceSince(userIds, since, upTo): Promise<PresenceRecord[]> {
      const rows = await sql<PresenceRow[]>`
        select user_id, state, status_msg, last_active_ts, stream_position from presence
        where user_id = any(${sql.array([...userIds])}::text[])
          and stream_position > ${since} and stream_position <= ${upTo}
        order by stream_position`;
      return rows.map(record);
    },

    async presenceStreamPosition(): Promise<number> {
      const [row] = await sql<{ position: number }[]>`select coalesce(max(stream_position), 0) as position from presence`;
      return row?.position ?? 0;
    },
  };
}
