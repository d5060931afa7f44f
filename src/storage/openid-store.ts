import type postgres from 'postgres';
import type { UserId } from '../protocol/index.js';
import type { OpenIdTokenStore } from '../users/index.js';

/** OpenID tokens (src/users/ports.ts) on migrations/0014_pushers.sql, kept as SHA-256 hashes. */
export function createOpenIdStore(sql: postgres.Sql): OpenIdTokenStore {
  return {
    async addOpenIdToken(tokenHash: string, userId: UserId, expiresTs: number): Promise<void> {
      await sql`insert into openid_tokens (token_hash, user_id, expires_ts) values (${tokenHash}, ${userId}, ${expiresTs})`;
    },

    async openIdTokenOwner(tokenHash: string, nowMs: number): Promise<UserId | undefined> {
      const [row] = await sql<{ user_id: string }[]>`
        select t.user_id from openid_tokens t join users u on u.user_id = t.user_id
        where t.token_hash = ${tokenHash} and t.expires_ts > ${nowMs} and not u.deactivated`;
      return row === undefined ? undefined : (row.user_id as UserId);
    },

    async deleteOpenIdTokensBefore(beforeMs: number): Promise<void> {
      await sql`delete from openid_tokens where expires_ts < ${beforeMs}`;
    },
  };
}
