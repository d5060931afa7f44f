import type postgres from 'postgres';
import type { PduJson } from '../events/index.js';
import type { DestinationState, FederationQueueStore, QueuedBatch } from '../federation/sender-ports.js';
import type { TimelineEvent } from '../rooms/index.js';
import { timelineEventsAfter } from './event-rows.js';

/** The outbound federation queue (src/federation/sender-ports.ts) on migrations/0019_federation_queue.sql. */
export function createFederationQueueStore(sql: postgres.Sql): FederationQueueStore {
  return {
    async senderPosition(): Promise<number> {
      const [row] = await sql<{ position: number }[]>`select position from federation_sender_position`;
      return row?.position ?? 0;
    },

    eventsAfter: (position, limit): Promise<TimelineEvent[]> => timelineEventsAfter(sql, position, limit),

    async queuePdus(entries, upTo): Promise<void> {
      await sql.begin(async (tx) => {
        if (entries.length > 0) {
          await tx`
            insert into federation_queued_pdus (destination, stream_position, event_id)
            select * from unnest(${tx.array(entries.map((e) => e.destination))}::text[],
              ${tx.array(entries.map((e) => e.position))}::int8[], ${tx.array(entries.map((e) => e.eventId))}::text[])
            on conflict do nothing`;
        }
        await tx`update federation_sender_position set position = greatest(position, ${upTo})`;
      });
    },

    async queueEdu(destinations, eduType, content, dedupeKey, nowMs): Promise<void> {
      if (destinations.length === 0) return;
      const json = JSON.stringify(content);
      // A replaced EDU takes a new id: it goes to the back of the queue, and a transaction in flight that
      // carries the old one removes only the old id.
      await sql`
        insert into federation_queued_edus (destination, edu_type, content, dedupe_key, queued_ts)
        select d, ${eduType}, ${json}, ${dedupeKey}, ${nowMs} from unnest(${sql.array([...new Set(destinations)])}::text[]) as d
        on conflict (destination, dedupe_key) do update
        set id = nextval('federation_queued_edus_seq'), edu_type = excluded.edu_type, content = excluded.content,
          queued_ts = excluded.queued_ts`;
    },

    async destinationsWithWork(): Promise<string[]> {
      const rows = await sql<{ destination: string }[]>`
        select destination from federation_queued_pdus
        union
        select destination from federation_queued_edus
        order by destination`;
      return rows.map((row) => row.destination);
    },

    async nextBatch(destination, maxPdus, maxEdus): Promise<QueuedBatch> {
      const pdus = await sql<{ stream_position: number; event_id: string; json: string | null }[]>`
        select q.stream_position, q.event_id, e.json
        from federation_queued_pdus q left join events e on e.event_id = q.event_id
        where q.destination = ${destination}
        order by q.stream_position
        limit ${maxPdus}`;
      const edus = await sql<{ id: number; edu_type: string; content: string; queued_ts: number }[]>`
        select id, edu_type, content, queued_ts from federation_queued_edus
        where destination = ${destination}
        order by id
        limit ${maxEdus}`;
      return {
        pdus: pdus.map((row) => ({
          position: row.stream_position,
          eventId: row.event_id,
          pdu: row.json === null ? null : (JSON.parse(row.json) as PduJson),
        })),
        edus: edus.map((row) => ({ id: row.id, eduType: row.edu_type, content: JSON.parse(row.content) as Record<string, unknown>, queuedTs: row.queued_ts })),
      };
    },

    async removeSent(destination, pduPositions, eduIds, successTs): Promise<void> {
      await sql.begin(async (tx) => {
        if (pduPositions.length > 0) {
          await tx`
            delete from federation_queued_pdus
            where destination = ${destination} and stream_position = any(${tx.array([...pduPositions])}::int8[])`;
        }
        if (eduIds.length > 0) {
          await tx`
            delete from federation_queued_edus
            where destination = ${destination} and id = any(${tx.array([...eduIds])}::int8[])`;
        }
        if (successTs !== null) {
          const highest = pduPositions.reduce((a, b) => Math.max(a, b), 0);
          await tx`
            insert into federation_destinations (destination, last_success_ts, last_sent_position)
            values (${destination}, ${successTs}, ${highest})
            on conflict (destination) do update
            set retry_interval_ms = 0, next_attempt_ts = 0, last_success_ts = excluded.last_success_ts,
              last_sent_position = greatest(federation_destinations.last_sent_position, excluded.last_sent_position)`;
        }
      });
    },

    async destinationState(destination): Promise<DestinationState> {
      const [row] = await sql<{ retry_interval_ms: number; next_attempt_ts: number; last_success_ts: number | null; last_sent_position: number }[]>`
        select retry_interval_ms, next_attempt_ts, last_success_ts, last_sent_position
        from federation_destinations where destination = ${destination}`;
      return {
        retryIntervalMs: row?.retry_interval_ms ?? 0,
        nextAttemptTs: row?.next_attempt_ts ?? 0,
        lastSuccessTs: row?.last_success_ts ?? null,
        lastSentPosition: row?.last_sent_position ?? 0,
      };
    },

    async recordFailure(destination, retryIntervalMs, nextAttemptTs): Promise<void> {
      await sql`
        insert into federation_destinations (destination, retry_interval_ms, next_attempt_ts)
        values (${destination}, ${retryIntervalMs}, ${nextAttemptTs})
        on conflict (destination) do update
        set retry_interval_ms = excluded.retry_interval_ms, next_attempt_ts = excluded.next_attempt_ts`;
    },

    async clearBackoff(destination): Promise<void> {
      await sql`
        update federation_destinations set retry_interval_ms = 0, next_attempt_ts = 0
        where destination = ${destination}`;
    },
  };
}
