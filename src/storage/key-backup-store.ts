import type postgres from 'postgres';
import type { BackedUpRoomKey, BackupVersionRecord, KeyBackupStore, RoomKeyData, RoomKeyScope } from '../e2ee/index.js';

interface VersionRow {
  version: number;
  algorithm: string;
  auth_data: string;
  etag: number;
  count: number;
}

interface KeyRow {
  room_id: string;
  session_id: string;
  first_message_index: number;
  forwarded_count: number;
  is_verified: boolean;
  session_data: string;
}

const versionFromRow = (row: VersionRow): BackupVersionRecord => ({
  version: row.version,
  algorithm: row.algorithm,
  authData: JSON.parse(row.auth_data) as unknown,
  etag: row.etag,
  count: row.count,
});

const keyFromRow = (row: KeyRow): BackedUpRoomKey => ({
  roomId: row.room_id,
  sessionId: row.session_id,
  firstMessageIndex: row.first_message_index,
  forwardedCount: row.forwarded_count,
  isVerified: row.is_verified,
  sessionData: JSON.parse(row.session_data) as unknown,
});

type Query = postgres.Sql | postgres.TransactionSql;

/** Two concurrent creations may draw the same next number; the loser draws again, this many times at most. */
const CREATE_ATTEMPTS = 5;

/** Key backups (src/e2ee/ports.ts) on migrations/0016_key_backup.sql. */
export function createKeyBackupStore(sql: postgres.Sql): KeyBackupStore {
  const inScope = (db: Query, scope: RoomKeyScope) => db`
    ${scope.roomId === undefined ? db`` : db`and room_id = ${scope.roomId}`}
    ${scope.sessionId === undefined ? db`` : db`and session_id = ${scope.sessionId}`}`;

  const countKeys = async (db: Query, userId: string, version: number): Promise<number> => {
    const [row] = await db<{ count: number }[]>`select count(*) as count from key_backup_keys where user_id = ${userId} and version = ${version}`;
    return row?.count ?? 0;
  };

  /** Locks a live version's row to the end of the transaction (writes to its keys go one at a time). */
  const lockVersion = async (tx: postgres.TransactionSql, userId: string, version: number): Promise<number | undefined> => {
    const [row] = await tx<{ etag: number }[]>`
      select etag from key_backup_versions where user_id = ${userId} and version = ${version} and not deleted for update`;
    return row?.etag;
  };

  const bumpEtag = async (tx: postgres.TransactionSql, userId: string, version: number): Promise<number> => {
    const [row] = await tx<{ etag: number }[]>`
      update key_backup_versions set etag = etag + 1 where user_id = ${userId} and version = ${version} returning etag`;
    if (row === undefined) throw new Error('the locked backup version is gone');
    return row.etag;
  };

  return {
    async createBackupVersion(userId, algorithm, authData): Promise<number> {
      // Deleted versions keep their rows, so the next number is above every version the user ever had.
      for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
        const [row] = await sql<{ version: number }[]>`
          insert into key_backup_versions (user_id, version, algorithm, auth_data)
          select ${userId}, coalesce(max(version), 0) + 1, ${algorithm}, ${JSON.stringify(authData)}
          from key_backup_versions where user_id = ${userId}
          on conflict (user_id, version) do nothing
          returning version`;
        if (row !== undefined) return row.version;
      }
      throw new Error(`no backup version could be drawn for ${userId} in ${CREATE_ATTEMPTS} attempts`);
    },

    async backupVersion(userId, version): Promise<BackupVersionRecord | undefined> {
      const [row] = await sql<VersionRow[]>`
        select v.version, v.algorithm, v.auth_data, v.etag,
          (select count(*) from key_backup_keys k where k.user_id = v.user_id and k.version = v.version) as count
        from key_backup_versions v
        where v.user_id = ${userId} and not v.deleted ${version === undefined ? sql`` : sql`and v.version = ${version}`}
        order by v.version desc
        limit 1`;
      return row === undefined ? undefined : versionFromRow(row);
    },

    async updateBackupAuthData(userId, version, authData): Promise<boolean> {
      const result = await sql`
        update key_backup_versions set auth_data = ${JSON.stringify(authData)}
        where user_id = ${userId} and version = ${version} and not deleted`;
      return result.count > 0;
    },

    async deleteBackupVersion(userId, version) {
      return (await sql.begin(async (tx) => {
        const [row] = await tx<{ deleted: boolean }[]>`
          select deleted from key_backup_versions where user_id = ${userId} and version = ${version} for update`;
        if (row === undefined) return 'unknown';
        if (row.deleted) return 'already-deleted';
        await tx`delete from key_backup_keys where user_id = ${userId} and version = ${version}`;
        await tx`update key_backup_versions set deleted = true where user_id = ${userId} and version = ${version}`;
        return 'deleted';
      })) as 'deleted' | 'already-deleted' | 'unknown';
    },

    async putRoomKeys(userId, version, keys, replaces) {
      return (await sql.begin(async (tx) => {
        // The current version's row, locked: a deletion or another upload waits for this one to commit.
        const [current] = await tx<{ version: number; etag: number }[]>`
          select version, etag from key_backup_versions where user_id = ${userId} and not deleted
          order by version desc limit 1 for update`;
        if (current?.version !== version) return { stored: false, currentVersion: current?.version };

        const stored = new Map<string, RoomKeyData>();
        if (keys.length > 0) {
          const rows = await tx<KeyRow[]>`
            select k.room_id, k.session_id, k.first_message_index, k.forwarded_count, k.is_verified, k.session_data
            from key_backup_keys k
            join unnest(${tx.array(keys.map((key) => key.roomId))}::text[], ${tx.array(keys.map((key) => key.sessionId))}::text[])
              as u (room_id, session_id) on k.room_id = u.room_id and k.session_id = u.session_id
            where k.user_id = ${userId} and k.version = ${version}`;
          for (const row of rows) stored.set(JSON.stringify([row.room_id, row.session_id]), keyFromRow(row));
        }
        const writes = keys.filter((key) => {
          const existing = stored.get(JSON.stringify([key.roomId, key.sessionId]));
          return existing === undefined || replaces(existing, key);
        });
        let etag = current.etag;
        if (writes.length > 0) {
          await tx`
            insert into key_backup_keys (user_id, version, room_id, session_id, first_message_index, forwarded_count, is_verified, session_data)
            select ${userId}::text, ${version}::int8, u.*
            from unnest(${tx.array(writes.map((key) => key.roomId))}::text[], ${tx.array(writes.map((key) => key.sessionId))}::text[],
              ${tx.array(writes.map((key) => key.firstMessageIndex))}::int8[], ${tx.array(writes.map((key) => key.forwardedCount))}::int8[],
              ${tx.array(writes.map((key) => key.isVerified))}::bool[], ${tx.array(writes.map((key) => JSON.stringify(key.sessionData)))}::text[])
              as u (room_id, session_id, first_message_index, forwarded_count, is_verified, session_data)
            on conflict (user_id, version, room_id, session_id) do update set
              first_message_index = excluded.first_message_index, forwarded_count = excluded.forwarded_count,
              is_verified = excluded.is_verified, session_data = excluded.session_data`;
          etag = await bumpEtag(tx, userId, version);
        }
        return { stored: true, count: await countKeys(tx, userId, version), etag };
      })) as Awaited<ReturnType<KeyBackupStore['putRoomKeys']>>;
    },

    async roomKeys(userId, version, scope): Promise<BackedUpRoomKey[] | undefined> {
      const [live] = await sql`select 1 from key_backup_versions where user_id = ${userId} and version = ${version} and not deleted`;
      if (live === undefined) return undefined;
      const rows = await sql<KeyRow[]>`
        select room_id, session_id, first_message_index, forwarded_count, is_verified, session_data
        from key_backup_keys
        where user_id = ${userId} and version = ${version} ${inScope(sql, scope)}
        order by room_id, session_id`;
      return rows.map(keyFromRow);
    },

    async deleteRoomKeys(userId, version, scope) {
      return (await sql.begin(async (tx) => {
        let etag = await lockVersion(tx, userId, version);
        if (etag === undefined) return undefined;
        const deleted = await tx`delete from key_backup_keys where user_id = ${userId} and version = ${version} ${inScope(tx, scope)}`;
        if (deleted.count > 0) etag = await bumpEtag(tx, userId, version);
        return { count: await countKeys(tx, userId, version), etag };
      })) as Awaited<ReturnType<KeyBackupStore['deleteRoomKeys']>>;
    },
  };
}
