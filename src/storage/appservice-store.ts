import type postgres from 'postgres';
import type { AppServiceStore, AppServiceTransaction } from '../appservice/index.js';
import type { TimelineEvent } from '../rooms/index.js';
import { timelineEventsAfter } from './event-rows.js';

/** The application service sender's positions and transactions (migrations/0029_appservice.sql). */
export function createAppServiceStore(sql: postgres.Sql): AppServiceStore {
  return {
    async position(serviceId: string): Promise<number> {
      // Two processes starting at once: the second insert does nothing and both read the one row.
      await sql`
        insert into appservice_positions (appservice_id, position)
        select ${serviceId}, coalesce(max(stream_position), 0) from events
        on conflict (appservice_id) do nothing`;
      const [row] = await sql<{ position: number }[]>`select position from appservice_positions where appservice_id = ${serviceId}`;
      return row?.position ?? 0;
    },

    async setPosition(serviceId: string, position: number): Promise<void> {
      await sql`update appservice_positions set position = ${position} where appservice_id = ${serviceId} and position < ${position}`;
    },

    eventsAfter: (position: number, limit: number): Promise<TimelineEvent[]> => timelineEventsAfter(sql, position, limit),

    async pendingTransaction(serviceId: string): Promise<AppServiceTransaction | undefined> {
      const [row] = await sql<{ txn_id: number; body: string }[]>`
        select txn_id, body from appservice_transactions where appservice_id = ${serviceId}`;
      return row === undefined ? undefined : { txnId: row.txn_id, body: row.body };
    },

    async createTransaction(serviceId: string, upTo: number, body: string): Promise<AppServiceTransaction> {
      return sql.begin(async (tx) => {
        const [row] = await tx<{ txn_id: number }[]>`
          update appservice_positions set last_txn_id = last_txn_id + 1, position = greatest(position, ${upTo})
          where appservice_id = ${serviceId}
          returning last_txn_id as txn_id`;
        if (row === undefined) throw new Error(`no position for application service ${serviceId}`);
        await tx`insert into appservice_transactions (appservice_id, txn_id, body) values (${serviceId}, ${row.txn_id}, ${body})`;
        return { txnId: row.txn_id, body };
      }) as Promise<AppServiceTransaction>;
    },

    async completeTransaction(serviceId: string, txnId: number): Promise<void> {
      await sql`delete from appservice_transactions where appservice_id = ${serviceId} and txn_id = ${txnId}`;
    },

    async localJoinedMembers(roomId: string): Promise<string[]> {
      const rows = await sql<{ state_key: string }[]>`
        select c.state_key from current_state c join events e on e.event_id = c.event_id
        where c.room_id = ${roomId} and c.type = 'm.room.member'
          and (e.json::jsonb -> 'content' ->> 'membership') = 'join'`;
      return rows.map((row) => row.state_key);
    },

    async aliasesOf(roomIds: readonly string[]): Promise<Map<string, string[]>> {
      const rows = await sql<{ room_id: string; room_alias: string }[]>`
        select room_id, room_alias from room_aliases where room_id = any(${sql.array([...roomIds])}::text[])`;
      const found = new Map<string, string[]>();
      for (const row of rows) found.set(row.room_id, [...(found.get(row.room_id) ?? []), row.room_alias]);
      return found;
    },
  };
}
