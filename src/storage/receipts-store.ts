import type postgres from 'postgres';
import type { ReceiptStore, ReceiptType, StoredReceipt } from '../ephemeral/index.js';
import { writeCommitted } from './client.js';
import { ADVISORY_LOCK_NAMESPACE, RECEIPTS_STREAM_LOCK_ID } from './migrate.js';

/** Unthreaded receipts are stored under this thread id, so one primary key covers both kinds. */
const UNTHREADED = '';

/** Receipts (src/ephemeral/ports.ts) on migrations/0007_ephemeral.sql. */
export function createReceiptsStore(sql: postgres.Sql): ReceiptStore {
  return {
    async putReceipt(receipt): Promise<number | null> {
      // The lock (held to commit) makes positions commit in the order they are drawn: see the migration.
      // One statement takes it, draws the position and writes (writeCommitted). A receipt that does not
      // move forward writes nothing, and its position is a hole, which readers never miss.
      const [row] = await writeCommitted(sql, (tx) => tx<{ stream_position: number }[]>`
        insert into receipts (room_id, receipt_type, user_id, thread_id, event_id, event_position, ts, stream_position)
        select ${receipt.roomId}, ${receipt.receiptType}, ${receipt.userId}, ${receipt.threadId ?? UNTHREADED},
          ${receipt.eventId}, ${receipt.eventPosition}, ${receipt.ts}, nextval('receipts_stream_seq')
        where (select true from pg_advisory_xact_lock(${ADVISORY_LOCK_NAMESPACE}, ${RECEIPTS_STREAM_LOCK_ID}))
        on conflict (room_id, receipt_type, user_id, thread_id) do update
        set event_id = excluded.event_id, event_position = excluded.event_position, ts = excluded.ts,
          stream_position = excluded.stream_position
        where receipts.event_position is null
          or (excluded.event_position is not null and receipts.event_position < excluded.event_position)
        returning stream_position`);
      return row?.stream_position ?? null;
    },

    async receiptsSince(viewer, roomIds, since, upTo): Promise<StoredReceipt[]> {
      const rows = await sql<
        { room_id: string; receipt_type: string; user_id: string; thread_id: string; event_id: string; ts: number; stream_position: number }[]
      >`
        select room_id, receipt_type, user_id, thread_id, event_id, ts, stream_position from receipts
        where room_id = any(${sql.array([...roomIds])}::text[])
          and stream_position > ${since} and stream_position <= ${upTo}
          and (receipt_type <> 'm.read.private' or user_id = ${viewer})
        order by stream_position`;
      return rows.map((row) => ({
        roomId: row.room_id,
        userId: row.user_id,
        receiptType: row.receipt_type as ReceiptType,
        threadId: row.thread_id === UNTHREADED ? null : row.thread_id,
        eventId: row.event_id,
        ts: row.ts,
        streamPosition: row.stream_position,
      }));
    },

    async receiptsStreamPosition(): Promise<number> {
      const [row] = await sql<{ position: number }[]>`select coalesce(max(stream_position), 0) as position from receipts`;
      return row?.position ?? 0;
    },
  };
}
