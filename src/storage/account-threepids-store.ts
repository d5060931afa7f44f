import type postgres from 'postgres';
import type { AccountThreepid, AccountThreepidStore, ValidationSession } from '../users/index.js';

interface SessionRow {
  readonly sid: string;
  readonly client_secret: string;
  readonly medium: string;
  readonly address: string;
  readonly token_hash: string;
  readonly send_attempt: number;
  readonly created_ts: number;
  readonly validated_ts: number | null;
}

function sessionOf(row: SessionRow): ValidationSession {
  return {
    sid: row.sid,
    clientSecret: row.client_secret,
    medium: row.medium,
    address: row.address,
    tokenHash: row.token_hash,
    sendAttempt: row.send_attempt,
    createdTs: row.created_ts,
    validatedTs: row.validated_ts,
  };
}

/** Addresses on accounts and their validation sessions (src/users/account-threepids.ts), on migrations/0034. */
export function createAccountThreepidStore(sql: postgres.Sql): AccountThreepidStore {
  return {
    async session(sid) {
      const [row] = await sql<SessionRow[]>`select sid, client_secret, medium, address, token_hash, send_attempt, created_ts, validated_ts from threepid_validation_sessions where sid = ${sid}`;
      return row && sessionOf(row);
    },
    async sessionFor(clientSecret, medium, address) {
      const [row] = await sql<SessionRow[]>`
        select sid, client_secret, medium, address, token_hash, send_attempt, created_ts, validated_ts
        from threepid_validation_sessions where client_secret = ${clientSecret} and medium = ${medium} and address = ${address}`;
      return row && sessionOf(row);
    },
    async putSession(s) {
      await sql`
        insert into threepid_validation_sessions (sid, client_secret, medium, address, token_hash, send_attempt, created_ts, validated_ts)
        values (${s.sid}, ${s.clientSecret}, ${s.medium}, ${s.address}, ${s.tokenHash}, ${s.sendAttempt}, ${s.createdTs}, ${s.validatedTs})
        on conflict (sid) do update set token_hash = excluded.token_hash, send_attempt = excluded.send_attempt, created_ts = excluded.created_ts`;
    },
    async attachUia(sid, uiaSession) {
      await sql`update threepid_validation_sessions set uia_session = ${uiaSession} where sid = ${sid}`;
    },
    async sessionOfUia(uiaSession) {
      const [row] = await sql<SessionRow[]>`
        select sid, client_secret, medium, address, token_hash, send_attempt, created_ts, validated_ts
        from threepid_validation_sessions where uia_session = ${uiaSession} order by created_ts desc limit 1`;
      return row && sessionOf(row);
    },
    async markValidated(sid, ts) {
      await sql`update threepid_validation_sessions set validated_ts = ${ts} where sid = ${sid} and validated_ts is null`;
    },
    async threepids(userId) {
      const rows = await sql<{ medium: string; address: string; validated_ts: number; added_ts: number }[]>`
        select medium, address, validated_ts, added_ts from account_threepids where user_id = ${userId} order by added_ts, address`;
      return rows.map((row): AccountThreepid => ({ medium: row.medium, address: row.address, validatedTs: row.validated_ts, addedTs: row.added_ts }));
    },
    async owner(medium, address) {
      const [row] = await sql<{ user_id: string }[]>`select user_id from account_threepids where medium = ${medium} and address = ${address}`;
      return row?.user_id;
    },
    async add(userId, t) {
      const rows = await sql`
        insert into account_threepids (medium, address, user_id, validated_ts, added_ts)
        values (${t.medium}, ${t.address}, ${userId}, ${t.validatedTs}, ${t.addedTs})
        on conflict do nothing`;
      return rows.count === 1;
    },
    async remove(userId, medium, address) {
      const rows = await sql`delete from account_threepids where user_id = ${userId} and medium = ${medium} and address = ${address}`;
      return rows.count > 0;
    },
    async removeAll(userId) {
      await sql`delete from account_threepids where user_id = ${userId}`;
    },
  };
}
