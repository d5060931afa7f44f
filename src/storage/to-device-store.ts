import type postgres from 'postgres';
import type { QueuedToDevice, ToDeviceStore } from '../e2ee/index.js';
import { commitNow } from './client.js';
import { ADVISORY_LOCK_NAMESPACE, TO_DEVICE_STREAM_LOCK_ID } from './migrate.js';

/** The device id a message for every device of a user is sent to. */
const ALL_DEVICES = '*';

/** Send-to-device queues (src/e2ee/ports.ts) on migrations/0007_ephemeral.sql. */
export function createToDeviceStore(sql: postgres.Sql): ToDeviceStore {
  return {
    async queueToDevice(txn, type, messages) {
      return (await sql.begin(async (tx) => {
        const seen = await tx`
          insert into to_device_transactions (sender, sender_device_id, txn_id, created_ts)
          values (${txn.sender}, ${txn.senderDeviceId}, ${txn.txnId}, ${txn.ts})
          on conflict (sender, sender_device_id, txn_id) do nothing`;
        if (seen.count === 0) return null;
        return appendToDeviceAndCommit(tx, txn.sender, type, messages);
      })) as { position: number; recipients: string[] } | null;
    },

    async toDeviceMessages(userId, deviceId, since, upTo, limit): Promise<QueuedToDevice[]> {
      const rows = await sql<{ stream_position: number; type: string; sender: string; content: string }[]>`
        select stream_position, type, sender, content from to_device_messages
        where user_id = ${userId} and device_id = ${deviceId} and stream_position > ${since} and stream_position <= ${upTo}
        order by stream_position
        limit ${limit}`;
      return rows.map((row) => ({
        position: row.stream_position,
        type: row.type,
        sender: row.sender,
        content: JSON.parse(row.content) as Record<string, unknown>,
      }));
    },

    async deleteToDeviceMessages(userId, deviceId, upTo): Promise<void> {
      await sql`delete from to_device_messages where user_id = ${userId} and device_id = ${deviceId} and stream_position <= ${upTo}`;
    },

    async toDeviceStreamPosition(): Promise<number> {
      const [row] = await sql<{ position: number }[]>`select position from to_device_stream`;
      return row?.position ?? 0;
    },
  };
}

/** A message for one device of a user ('*': every device the user has). */
export interface DeviceMessage {
  readonly userId: string;
  readonly deviceId: string;
  readonly content: Readonly<Record<string, unknown>>;
}

/**
 * Queues one send's messages at a new toDevice-stream position as the last statement of the caller's
 * transaction, and commits it (local sends and messages from other servers alike). Returns the position and
 * the users with a message queued.
 *
 * The stream's lock, held to commit, makes positions commit in the order they are drawn (see the
 * migration). One statement takes it, draws the position, writes the messages and moves the stream, with the
 * COMMIT sent right behind it (commitNow): the lock is held while the server works, never while this process
 * is busy with something else.
 */
export async function appendToDeviceAndCommit(
  tx: postgres.TransactionSql,
  sender: string,
  type: string,
  messages: readonly DeviceMessage[],
): Promise<{ position: number; recipients: string[] }> {
  // nextval is volatile: the CTE is evaluated once, and the lock in its condition is taken before it draws.
  // One row per existing device; a device named outright wins over '*' (it sorts first).
  const [[drawn]] = await Promise.all([
    tx<{ position: number; recipients: string[] }[]>`
      with drawn as (
        select nextval('to_device_stream_seq') as position
        where (select true from pg_advisory_xact_lock(${ADVISORY_LOCK_NAMESPACE}, ${TO_DEVICE_STREAM_LOCK_ID}))),
      queued as (
        insert into to_device_messages (user_id, device_id, stream_position, sender, type, content)
        select distinct on (d.user_id, d.device_id) d.user_id, d.device_id, drawn.position, ${sender}::text, ${type}::text, m.content
        from drawn, unnest(${tx.array(messages.map((m) => m.userId))}::text[], ${tx.array(messages.map((m) => m.deviceId))}::text[],
          ${tx.array(messages.map((m) => JSON.stringify(m.content)))}::text[]) as m (user_id, device_id, content)
        join devices d on d.user_id = m.user_id and (m.device_id = ${ALL_DEVICES} or d.device_id = m.device_id)
        order by d.user_id, d.device_id, m.device_id = ${ALL_DEVICES}
        returning user_id),
      moved as (update to_device_stream set position = (select position from drawn))
      select position, array(select distinct user_id from queued) as recipients from drawn`,
    commitNow(tx),
  ]);
  if (drawn === undefined) throw new Error('no toDevice stream position was drawn');
  return { position: drawn.position, recipients: drawn.recipients };
}
