import type { SigningKey } from '../crypto/index.js';
import type { RoomEvent } from './event.js';
import { parsePdu } from './format.js';
import { withContentHash } from './hashes.js';
import type { PduJson } from './pdu.js';
import type { RoomVersionRules } from './room-versions.js';
import { signEvent } from './signing.js';

/** What a local user (or the server on their behalf) wants to say; the builder adds the graph and the proofs. */
export interface EventDraft {
  readonly type: string;
  readonly stateKey?: string;
  readonly sender: string;
  readonly content: Readonly<Record<string, unknown>>;
  /** For m.room.redaction: the event it redacts. */
  readonly redacts?: string;
  /**
   * The origin_server_ts to give the event instead of now: an application service's `ts` (timestamp
   * massaging). It changes no ordering: the event still follows the room's latest events.
   */
  readonly originServerTs?: number;
}

export interface BuildContext {
  readonly rules: RoomVersionRules;
  /** Absent only for a room version 12 create event, whose room id is derived from it. */
  readonly roomId: string | undefined;
  /** This server's name: it signs the event. */
  readonly origin: string;
  readonly key: SigningKey;
  readonly now: number;
  /** The room's forward extremities, which the event will follow. Empty only for a create event. */
  readonly prevEvents: readonly RoomEvent[];
  /** The events the auth events selection picked from the state before the event. */
  readonly authEvents: readonly RoomEvent[];
  /** Room versions 1 and 2 name events by the server: the random part of `$random:origin`. */
  readonly eventIdLocalpart?: string;
}

/** Depth never passes the largest integer canonical JSON allows. */
const MAX_DEPTH = Number.MAX_SAFE_INTEGER;

/**
 * Builds a signed event: prev_events from the extremities, depth one more than the deepest of them,
 * auth_events from the selection, the content hash, the signature, and (v1-2) the event id. Returns the
 * checked view of the event, so a bug here fails as loudly as a bad remote event would.
 */
export function buildEvent(draft: EventDraft, context: BuildContext): RoomEvent {
  const { rules } = context;
  const depth = Math.min(MAX_DEPTH, context.prevEvents.reduce((max, prev) => Math.max(max, prev.depth), 0) + 1);
  const oldFormat = rules.eventIdFormat === 'server-generated';
  const reference = (event: RoomEvent) => (oldFormat ? [event.eventId, hashesOf(event)] : event.eventId);
  const content =
    draft.redacts !== undefined && rules.keepsRedactsInContent ? { ...draft.content, redacts: draft.redacts } : draft.content;

  const pdu: Record<string, unknown> = {
    auth_events: context.authEvents.map(reference),
    content,
    depth,
    origin_server_ts: context.now,
    prev_events: context.prevEvents.map(reference),
    sender: draft.sender,
    type: draft.type,
  };
  if (context.roomId !== undefined) pdu.room_id = context.roomId;
  if (draft.stateKey !== undefined) pdu.state_key = draft.stateKey;
  if (draft.redacts !== undefined && !rules.keepsRedactsInContent) pdu.redacts = draft.redacts;
  // `origin` is a top-level key of the event format up to room version 10; v11 dropped it.
  if (rules.keepsOriginMembershipAndPrevState) pdu.origin = context.origin;
  if (oldFormat) {
    if (context.eventIdLocalpart === undefined) throw new Error(`room version ${rules.id} needs an event id localpart`);
    pdu.event_id = `$${context.eventIdLocalpart}:${context.origin}`;
  }
  const signed = signEvent(withContentHash(pdu), context.origin, context.key, rules);
  return parsePdu(signed, rules);
}

function hashesOf(event: RoomEvent): unknown {
  return (event.pdu as PduJson & { hashes?: unknown }).hashes ?? {};
}
