import type postgres from 'postgres';
import type { InboundTransactionStore, TransactionResponse } from '../federation/inbound-ports.js';
import { recordDeviceListChanges } from './device-list-changes.js';
import { appendToDeviceAndCommit } from './to-device-store.js';

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
        return appendToDeviceAndCommit(tx, sender, type, messages);
      })) as { position: number; recipients: string[] } | null;
    },

    async remoteDeviceListChanged(userIds) {
      return (await sql.begin((tx) => recordDeviceListChanges(tx, userIds.map((userId) => ({ userId }))))) as number;
    },
  };
}
