import type postgres from 'postgres';
import type { RoomEvent, PduJson } from '../events/index.js';
import type { StoredEvent, TimelineEvent } from '../rooms/index.js';

/** The columns a StoredEvent is rebuilt from: the ids the JSON may lack, the flags, and the JSON text. */
export interface EventRow {
  readonly event_id: string;
  readonly room_id: string;
  readonly type: string;
  readonly state_key: string | null;
  readonly sender: string;
  readonly redacts: string | null;
  readonly json: string;
  readonly outlier: boolean;
  readonly rejected_reason: string | null;
  readonly soft_failed: boolean;
  readonly stream_position: number | null;
  readonly room_version: string;
}

/**
 * Rebuilds the checked view from the stored row. The event id (not in v3+ JSON), the room id (not in a v12
 * create event) and redacts (top level or in content, by version) come from columns that persist filled
 * from the view; everything else comes from the JSON exactly as the format check read it.
 */
export function storedEventFromRow(row: EventRow): StoredEvent {
  const pdu = JSON.parse(row.json) as Record<string, unknown>;
  const event: RoomEvent = {
    eventId: row.event_id,
    roomId: row.room_id,
    type: row.type,
    stateKey: row.state_key ?? undefined,
    sender: row.sender,
    origin: typeof pdu.origin === 'string' ? pdu.origin : undefined,
    content: pdu.content as Record<string, unknown>,
    originServerTs: pdu.origin_server_ts as number,
    depth: pdu.depth as number,
    prevEvents: referenceIds(pdu.prev_events),
    authEvents: referenceIds(pdu.auth_events),
    redacts: row.redacts ?? undefined,
    pdu: pdu as PduJson,
  };
  return {
    event,
    roomVersion: row.room_version,
    outlier: row.outlier,
    rejectedReason: row.rejected_reason,
    softFailed: row.soft_failed,
    streamPosition: row.stream_position,
  };
}

/** prev_events / auth_events ids: strings from v3, [id, hashes] pairs in v1-2 (the format check vouched). */
function referenceIds(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.map((entry: unknown) => (Array.isArray(entry) ? String(entry[0]) : String(entry)));
}

/** A PostgreSQL array literal of strings, for a text[] column filled from one element of an unnest. */
export function textArrayLiteral(values: readonly string[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    out += '"' + values[i]!.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
  }
  return out + '}';
}

/** int8 columns hold depth and timestamps; only v1-5 events can carry values past 2^53, clamped here. */
export function clampToSafe(value: number): number {
  return Math.max(-Number.MAX_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, Math.trunc(value)));
}

/**
 * The events stream after `position`, in order, at most `limit` events: what the federation and push
 * senders follow. Soft-failed events are not part of the room as others see it; rejected ones have no position.
 */
export async function timelineEventsAfter(sql: postgres.Sql, position: number, limit: number): Promise<TimelineEvent[]> {
  const rows = await sql<EventRow[]>`
    select e.event_id, e.room_id, e.type, e.state_key, e.sender, e.redacts, e.json, e.outlier, e.rejected_reason,
      e.soft_failed, e.stream_position, r.room_version
    from events e join rooms r on r.room_id = e.room_id
    where e.stream_position > ${position} and not e.soft_failed
    order by e.stream_position
    limit ${limit}`;
  return rows.map((row) => storedEventFromRow(row) as TimelineEvent);
}

/**
 * Rows of (room, state type, content as JSON text) grouped into each room's contents by type; a content
 * that is not a JSON object is left out.
 */
export function stateContentsByRoom(rows: readonly { room_id: string; type: string; content: string | null }[]): Map<string, Map<string, Readonly<Record<string, unknown>>>> {
  const states = new Map<string, Map<string, Readonly<Record<string, unknown>>>>();
  for (const row of rows) {
    const content: unknown = row.content === null ? null : JSON.parse(row.content);
    if (content === null || typeof content !== 'object' || Array.isArray(content)) continue;
    let state = states.get(row.room_id);
    if (!state) states.set(row.room_id, (state = new Map()));
    state.set(row.type, content as Record<string, unknown>);
  }
  return states;
}
