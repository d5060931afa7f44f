/**
 * Event ids (rooms/fragments/v1-event-ids.md, rooms/v3.md, rooms/fragments/v4-event-ids.md): chosen by the
 * sending server and carried in `event_id` in v1-2; `$` plus the reference hash in base64 from v3
 * (URL-safe from v4), never sent on the wire.
 */
import { encodeBase64, encodeBase64Url } from '../crypto/index.js';
import { computeReferenceHash } from './hashes.js';
import type { PduJson } from './pdu.js';
import { stringField } from './pdu.js';
import type { RoomVersionRules } from './room-versions.js';

/** Thrown when an event id cannot be computed or read under the room version's rules. */
export class EventIdError extends Error {
  override readonly name = 'EventIdError';
}

/**
 * Computes the event id of an event in a room version whose ids are reference hashes. Throws EventIdError
 * for v1-2 (ids there are the sender's choice; read them with eventIdOf), and CanonicalJsonError if the
 * event cannot be encoded.
 */
export function eventIdFor(event: PduJson, rules: RoomVersionRules): string {
  switch (rules.eventIdFormat) {
    case 'hash':
      return '$' + encodeBase64(computeReferenceHash(event, rules));
    case 'url-safe-hash':
      return '$' + encodeBase64Url(computeReferenceHash(event, rules));
    case 'server-generated':
      throw new EventIdError(`room version ${rules.id} event ids are chosen by the sender, not computed`);
  }
}

/** The id of an event: its `event_id` field in v1-2 (EventIdError if missing), computed from v3 on. */
export function eventIdOf(event: PduJson, rules: RoomVersionRules): string {
  if (rules.eventIdFormat !== 'server-generated') return eventIdFor(event, rules);
  const eventId = stringField(event, 'event_id');
  if (eventId === undefined) throw new EventIdError(`room version ${rules.id} events must carry an event_id`);
  return eventId;
}
