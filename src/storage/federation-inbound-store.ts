import type postgres from 'postgres';
import type { InboundTransactionStore, TransactionResponse } from '../federation/inbound-ports.js';
import { recordDeviceListChanges } from './device-list-changes.js';
import { ADVISORY_LOCK_NAMESPACE, TO_DEVICE_STREAM_LOCK_ID } from './migrate.js';

const ALL_DEVICES = '*';

/** Inbound federation transactions (src/federation/inbound-ports.ts) on migrations/0020_federation_inbound.sql. */
export function createInboundTransactionStore(sql: postgres.Sql): InboundTransactionStore {
  return {
    async transactionResponse(origin, txnId) {
      const [row] = await sql<{ response: string }[]>`
        select response from federation_inbound_transactions where origin = ${origin} and txn_id = ${txnId}`;
      return row === undefined ? undefined : (JSON.parse(row.response) as TransactionResponse);
    },

    async recordTransaction(origin, txnId, response, nowTs, pruneBeforeTs) {
      await sql.begin(async (tx) => {
        await tx`delete from federation_inbound_transactions where received_ts < ${pruneBeforeTs}`;
        await tx`delete from federation_inbound_to_device where received_ts < ${pruneBeforeTs}`;
        await tx`
          insert into federation_inbound_transactions (origin, txn_id, response, received_ts)
          values (${origin}, ${txnId}, ${JSON.stringify(response)}, ${nowTs})
          on conflict (origin, txn_id) do nothing`;
      });
    },

    async queueRemoteToDevice(sender, messageId, type, messages, nowTs) {
      return (await sql.begin(async (tx) => {
        const seen = await tx`
          insert into federation_inbound_to_device (sender, message_id, received_ts)
          values (${sender}, ${messageId}, ${nowTs})
          on conflict (sender, message_id) do nothing`;
        if (seen.count === 0) return null;
        // The same drawing as local sends (to-device-store.ts): under the stream's lock, held to commit.
        const [drawn] = await tx<{ position: number }[]>`
          select nextval('to_device_stream_seq') as position
          where (select true from pg_advisory_xact_lock(${ADVISORY_LOCK_NAMESPACE}, ${TO_DEVICE_STREAM_LOCK_ID}))`;
        if (drawn === undefined) throw new Error('no toDevice stream position was drawn');
        const { position } = drawn;
        let recipients: string[] = [];
        if (messages.length > 0) {
          // One row per existing device; a device named outright wins over '*' (it sorts first).
          const rows = await tx<{ user_id: string }[]>`
            insert into to_device_messages (user_id, device_id, stream_position, sender, type, content)
            select distinct on (d.user_id, d.device_id) d.user_id, d.device_id, ${position}::int8, ${sender}::text, ${type}::text, m.content
            from unnest(${tx.array(messages.map((m) => m.userId))}::text[], ${tx.array(messages.map((m) => m.deviceId))}::text[],
              ${tx.array(messages.map((m) => JSON.stringify(m.content)))}::text[]) as m (user_id, device_id, content)
            join devices d on d.user_id = m.user_id and (m.device_id = ${ALL_DEVICES} or d.device_id = m.device_id)
            order by d.user_id, d.device_id, m.device_id = ${ALL_DEVICES}
            returning user_id`;
          recipients = [...new Set(rows.map((row) => row.user_id))];
        }
        await tx`update to_device_stream set position = ${position}`;
        return { position, recipients };
      })) as { position: number; recipients: string[] } | null;
    },

    async remoteDeviceListChanged(userIds) {
      return (await sql.begin((tx) => recordDeviceListChanges(tx, userIds.map((userId) => ({ userId }))))) as number;
    },
  };
}
