import type postgres from 'postgres';
import type { UserId } from '../protocol/index.js';
import type { LoginTokenStore } from '../users/index.js';

/** Single-use login tokens (src/users/ports.ts) on migrations/0013_login_tokens.sql. */
export function createLoginTokensStore(sql: postgres.Sql): LoginTokenStore {
  return {
    async addLoginToken(tokenHash: string, userId: UserId, createdTs: number, expiresTs: number): Promise<void> {
      await sql`
        insert into login_tokens (token_hash, user_id, created_ts, expires_ts)
        values (${tokenHash}, ${userId}, ${createdTs}, ${expiresTs})`;
    },

    async takeLoginToken(tokenHash: string, nowMs: number): Promise<UserId | undefined> {
      // Deleted whether or not it is still good: an expired token is no use to anyone.
      const [row] = await sql<{ user_id: string; expires_ts: number; deactivated: boolean }[]>`
        with taken as (delete from login_tokens where token_hash = ${tokenHash} returning user_id, expires_ts)
        select t.user_id, t.expires_ts, u.deactivated from taken t join users u on u.user_id = t.user_id`;
      if (row === undefined || row.expires_ts <= nowMs || row.deactivated) return undefined;
      return row.user_id as UserId;
    },

    async deleteLoginTokensBefore(beforeMs: number): Promise<void> {
      await sql`delete from login_tokens where expires_ts < ${beforeMs}`;
    },
  };
}
