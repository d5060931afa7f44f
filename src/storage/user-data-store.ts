import type postgres from 'postgres';
import type { UserId } from '../protocol/index.js';
import type { AccountDataChange, AccountDataStore, FilterStore, Profile, ProfileStore } from '../users/index.js';
import { writeCommitted } from './client.js';
import { ACCOUNT_DATA_STREAM_LOCK_ID, ADVISORY_LOCK_NAMESPACE } from './migrate.js';
import type { Query } from './state-groups.js';

/** Global account data is stored under this room id, so one primary key covers both kinds. */
const GLOBAL = '';

/** Concurrent posts of a user's filters may pick the same next id; the loser tries again. */
const FILTER_ID_ATTEMPTS = 5;

/**
 * Profiles, account data and filters (src/users/ports.ts) on migrations/0005_user_data.sql.
 */
export function createUserDataStore(sql: postgres.Sql): ProfileStore & AccountDataStore & FilterStore {
  return {
    async profile(userId: UserId): Promise<Profile | undefined> {
      const [row] = await sql<{ displayname: string | null; avatar_url: string | null }[]>`
        select displayname, avatar_url from profiles where user_id = ${userId}`;
      return row === undefined ? undefined : { displayName: row.displayname, avatarUrl: row.avatar_url };
    },

    async setProfileField(userId: UserId, field: keyof Profile, value: string | null): Promise<void> {
      if (field === 'displayName') await sql`update profiles set displayname = ${value} where user_id = ${userId}`;
      else await sql`update profiles set avatar_url = ${value} where user_id = ${userId}`;
    },

    async putAccountData(userId, roomId, type, content): Promise<number> {
      // The lock (held to commit) makes positions commit in the order they are drawn: see the migration.
      // One statement takes it, draws the position and writes (writeCommitted).
      const [row] = await writeCommitted(sql, (tx) => tx<{ stream_position: number }[]>`
        insert into account_data (user_id, room_id, type, content, stream_position)
        select ${userId}, ${roomId ?? GLOBAL}, ${type}, ${JSON.stringify(content)}, nextval('account_data_stream_seq')
        where (select true from pg_advisory_xact_lock(${ADVISORY_LOCK_NAMESPACE}, ${ACCOUNT_DATA_STREAM_LOCK_ID}))
        on conflict (user_id, room_id, type)
        do update set content = excluded.content, stream_position = excluded.stream_position
        returning stream_position`);
      if (row === undefined) throw new Error('no account-data stream position was drawn');
      return row.stream_position;
    },

    async accountData(userId, roomId, type) {
      const [row] = await sql<{ content: string }[]>`
        select content from account_data where user_id = ${userId} and room_id = ${roomId ?? GLOBAL} and type = ${type}`;
      return row === undefined ? undefined : (JSON.parse(row.content) as Record<string, unknown>);
    },

    accountDataSince: (userId: UserId, since: number) => accountDataSince(sql, userId, since),

    async accountDataStreamPosition(): Promise<number> {
      const [row] = await sql<{ position: number }[]>`select coalesce(max(stream_position), 0) as position from account_data`;
      return row?.position ?? 0;
    },

    async addFilter(userId: UserId, canonicalJson: string): Promise<string> {
      for (let attempt = 0; attempt < FILTER_ID_ATTEMPTS; attempt++) {
        const [known] = await sql<{ filter_id: number }[]>`
          select filter_id from filters where user_id = ${userId} and filter_json = ${canonicalJson} limit 1`;
        if (known) return String(known.filter_id);
        const [row] = await sql<{ filter_id: number }[]>`
          insert into filters (user_id, filter_id, filter_json)
          select ${userId}, coalesce(max(filter_id) + 1, 0), ${canonicalJson} from filters where user_id = ${userId}
          on conflict (user_id, filter_id) do nothing
          returning filter_id`;
        if (row) return String(row.filter_id);
      }
      throw new Error(`could not allocate a filter id for ${userId}`);
    },

    async filter(userId: UserId, filterId: string): Promise<string | undefined> {
      if (!/^[0-9]{1,15}$/.test(filterId)) return undefined;
      const [row] = await sql<{ filter_json: string }[]>`
        select filter_json from filters where user_id = ${userId} and filter_id = ${Number(filterId)}`;
      return row?.filter_json;
    },
  };
}

/** The user's account data written after `since`, in stream order; on the pool or in sync's snapshot. */
export async function accountDataSince(q: Query, userId: string, since: number): Promise<AccountDataChange[]> {
  const rows = await q<{ room_id: string; type: string; content: string; stream_position: number }[]>`
    select room_id, type, content, stream_position from account_data
    where user_id = ${userId} and stream_position > ${since}
    order by stream_position`;
  return rows.map((row) => ({
    roomId: row.room_id === GLOBAL ? null : row.room_id,
    type: row.type,
    content: JSON.parse(row.content) as Record<string, unknown>,
    streamPosition: row.stream_position,
  }));
}
