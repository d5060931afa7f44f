import type postgres from 'postgres';
import type { RegistrationTokenRecord, RegistrationTokenStore } from '../users/index.js';

interface TokenRow {
  token: string;
  uses_allowed: number | null;
  pending: number;
  completed: number;
  expiry_time: number | null;
}

function record(row: TokenRow): RegistrationTokenRecord {
  return {
    token: row.token,
    usesAllowed: row.uses_allowed,
    pending: row.pending,
    completed: row.completed,
    expiryTime: row.expiry_time,
  };
}

function usable(row: TokenRow, nowMs: number): boolean {
  return (row.uses_allowed === null || row.pending + row.completed < row.uses_allowed) && (row.expiry_time === null || row.expiry_time > nowMs);
}

/**
 * Registration tokens (migrations/0006_devices.sql) for src/users/registration-tokens.ts. Reserving a
 * token locks its row, so two registrations cannot both take its last use.
 */
export function createRegistrationTokensStore(sql: postgres.Sql): RegistrationTokenStore {
  return {
    async createRegistrationToken(token, usesAllowed, expiryTime) {
      const result = await sql`
        insert into registration_tokens (token, uses_allowed, expiry_time) values (${token}, ${usesAllowed}, ${expiryTime})
        on conflict (token) do nothing`;
      return result.count > 0;
    },

    async registrationTokens(valid, nowMs) {
      const rows = await sql<TokenRow[]>`
        select token, uses_allowed, pending, completed, expiry_time from registration_tokens order by token`;
      return rows.filter((row) => valid === undefined || usable(row, nowMs) === valid).map(record);
    },

    async registrationToken(token) {
      const [row] = await sql<TokenRow[]>`
        select token, uses_allowed, pending, completed, expiry_time from registration_tokens where token = ${token}`;
      return row === undefined ? undefined : record(row);
    },

    async updateRegistrationToken(token, changes) {
      const [row] = await sql<TokenRow[]>`
        update registration_tokens set
          uses_allowed = case when ${changes.usesAllowed !== undefined} then ${changes.usesAllowed ?? null}::integer else uses_allowed end,
          expiry_time = case when ${changes.expiryTime !== undefined} then ${changes.expiryTime ?? null}::bigint else expiry_time end
        where token = ${token}
        returning token, uses_allowed, pending, completed, expiry_time`;
      return row === undefined ? undefined : record(row);
    },

    async deleteRegistrationToken(token) {
      const result = await sql`delete from registration_tokens where token = ${token}`;
      return result.count > 0;
    },

    async reserveRegistrationToken(sessionId, token, nowMs) {
      return (await sql.begin(async (tx) => {
        const [session] = await tx<{ registration_token: string | null }[]>`
          select registration_token from uia_sessions where session_id = ${sessionId} for update`;
        if (session === undefined) return false;
        if (session.registration_token === token) return true;
        const [row] = await tx<TokenRow[]>`
          select token, uses_allowed, pending, completed, expiry_time from registration_tokens where token = ${token} for update`;
        if (row === undefined || !usable(row, nowMs)) return false;
        if (session.registration_token !== null) {
          await tx`update registration_tokens set pending = pending - 1 where token = ${session.registration_token}`;
        }
        await tx`update registration_tokens set pending = pending + 1 where token = ${token}`;
        await tx`update uia_sessions set registration_token = ${token} where session_id = ${sessionId}`;
        return true;
      })) as boolean;
    },

    async completeRegistrationToken(sessionId) {
      await sql.begin(async (tx) => {
        const [session] = await tx<{ registration_token: string | null }[]>`
          select registration_token from uia_sessions where session_id = ${sessionId} for update`;
        if (!session?.registration_token) return;
        await tx`update uia_sessions set registration_token = null where session_id = ${sessionId}`;
        await tx`
          update registration_tokens set pending = pending - 1, completed = completed + 1
          where token = ${session.registration_token}`;
      });
    },
  };
}
