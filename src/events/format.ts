/**
 * The format check on receipt of a PDU (server-server-api.md, "Checks performed on receipt of a PDU",
 * step 1; the PDU schemas of each room version, data/api/server-server/definitions/pdu_v*.yaml;
 * client-server-api "Size limits"). A PDU that fails it is dropped, not rejected.
 */
import { CanonicalJsonError, canonicalJsonBytes, encodeBase64Url, isPlainObject } from '../crypto/index.js';
import { isMatrixError, parseEventId, parseRoomId, parseUserId, serverNameOf } from '../protocol/index.js';
import type { EventId, RoomId, UserId } from '../protocol/index.js';
import type { RoomEvent } from './event.js';
import { eventIdFor } from './event-id.js';
import { computeReferenceHash } from './hashes.js';
import type { PduJson } from './pdu.js';
import type { RoomVersionRules } from './room-versions.js';

/** Why a PDU is not a valid event of its room version; `reason` names the field. */
export class PduFormatError extends Error {
  override readonly name = 'PduFormatError';
  readonly reason: string;

  constructor(reason: string) {
    super(`invalid PDU: ${reason}`);
    this.reason = reason;
  }
}

/** The whole event, as canonical JSON with its signatures, at most 64 KiB. */
export const MAX_PDU_BYTES = 65_536;
/** `type` and `state_key` at most 255 bytes of UTF-8. */
export const MAX_TYPE_OR_STATE_KEY_BYTES = 255;
export const MAX_PREV_EVENTS = 20;
export const MAX_AUTH_EVENTS = 10;
/** Depth and timestamps: int64 up to v5 (JavaScript keeps what JSON.parse kept), canonical integers from v6. */
const MAX_INT64 = 2 ** 63 - 1;

export interface ParsePduOptions {
  /**
   * The server that sent this PDU as its own (a transaction's origin, a /send_join or /invite caller).
   * When given, the sender must belong to it. Leave it out for events relayed from other servers
   * (backfill, state, auth chains), where the signature check decides.
   */
  readonly origin?: string;
}

function fail(reason: string): never {
  throw new PduFormatError(reason);
}

function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Runs an identifier parser from protocol/, turning its MatrixError into a format error on `field`. */
function grammar<T>(field: string, parse: (value: unknown) => T, value: unknown): T {
  try {
    return parse(value);
  } catch (err) {
    if (isMatrixError(err)) fail(`${field}: ${err.message}`);
    throw err;
  }
}

function integerIn(field: string, value: unknown, rules: RoomVersionRules, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) fail(`${field} must be an integer`);
  const max = rules.strictCanonicalJson ? Number.MAX_SAFE_INTEGER : MAX_INT64;
  if (value < min || value > max) fail(`${field} ${value} is outside [${min}, ${max}]`);
  return value;
}

function isHashes(value: unknown): boolean {
  return isPlainObject(value) && typeof value.sha256 === 'string';
}

/** prev_events / auth_events: [event_id, {sha256}] pairs in v1-2, event id strings from v3. */
function eventReferences(field: string, value: unknown, rules: RoomVersionRules, max: number): string[] {
  if (!Array.isArray(value)) fail(`${field} must be an array`);
  if (value.length > max) fail(`${field} has ${value.length} entries, more than ${max}`);
  return value.map((entry: unknown, i) => {
    const where = `${field}[${i}]`;
    if (rules.eventIdFormat === 'server-generated') {
      if (!Array.isArray(entry) || entry.length !== 2) fail(`${where} must be an [event_id, hashes] pair`);
      const [id, hashes] = entry as [unknown, unknown];
      // The referenced event's hashes are never checked by anyone (Synapse reads only the id), and servers
      // send `{}`: an object is enough.
      if (!isPlainObject(hashes)) fail(`${where}[1] must be an object (the event's hashes)`);
      return grammar(where, parseEventId, id);
    }
    if (typeof entry !== 'string') fail(`${where} must be an event id string`);
    return grammar(where, parseEventId, entry);
  });
}

function isSignatures(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  return Object.values(value).every(
    (byServer) => isPlainObject(byServer) && Object.values(byServer).every((s) => typeof s === 'string'),
  );
}

/** v12: `!` + the create event's reference hash, URL-safe base64 without padding. */
export function roomIdForCreateEvent(create: PduJson, rules: RoomVersionRules): string {
  return '!' + encodeBase64Url(computeReferenceHash(create, rules));
}

/** Whether the event is an m.room.create, which carries no room_id in v12. */
function isCreate(pdu: Readonly<Record<string, unknown>>): boolean {
  return pdu.type === 'm.room.create';
}

function checkSize(pdu: PduJson, rules: RoomVersionRules): void {
  let size: number;
  try {
    size = canonicalJsonBytes(pdu).length;
  } catch (err) {
    if (!(err instanceof CanonicalJsonError)) throw err;
    if (rules.strictCanonicalJson) fail(`not canonical JSON: ${err.message}`);
    // v1-5 must not enforce canonical JSON (floats, big integers): measure the plain JSON instead.
    size = utf8Bytes(JSON.stringify(pdu));
  }
  if (size > MAX_PDU_BYTES) fail(`event is ${size} bytes, more than ${MAX_PDU_BYTES}`);
}

function roomIdOf(pdu: Readonly<Record<string, unknown>>, rules: RoomVersionRules): string {
  if (rules.roomIdFormat === 'create-event-hash') {
    if (isCreate(pdu)) {
      // A v12 create event with a room_id fails auth rule 1.2 (rejected, not dropped); its room id is still
      // its own hash, never what it claims.
      return eventIdAsRoomId(pdu, rules);
    }
    const roomId: RoomId = grammar('room_id', parseRoomId, pdu.room_id);
    if (serverNameOf(roomId) !== undefined) fail(`room_id ${roomId} is not a create event hash (room version 12)`);
    return roomId;
  }
  const roomId: RoomId = grammar('room_id', parseRoomId, pdu.room_id);
  if (serverNameOf(roomId) === undefined) fail(`room_id ${roomId} has no server name`);
  return roomId;
}

function eventIdAsRoomId(pdu: PduJson, rules: RoomVersionRules): string {
  try {
    return roomIdForCreateEvent(pdu, rules);
  } catch (err) {
    if (err instanceof CanonicalJsonError) fail(`cannot hash the event: ${err.message}`);
    throw err;
  }
}

function eventIdOfPdu(pdu: PduJson, rules: RoomVersionRules): string {
  if (rules.eventIdFormat === 'server-generated') {
    const eventId: EventId = grammar('event_id', parseEventId, pdu.event_id);
    if (serverNameOf(eventId) === undefined) fail(`event_id ${eventId} has no server name (room version ${rules.id})`);
    return eventId;
  }
  // v3+: the id is the reference hash. A stray `event_id` key is tolerated and ignored, as Synapse does:
  // the spec says it is not sent, not that its presence invalidates the event, and it is hashed like any
  // other top-level key, so the id we compute still names exactly these bytes.
  try {
    return eventIdFor(pdu, rules);
  } catch (err) {
    if (err instanceof CanonicalJsonError) fail(`cannot hash the event: ${err.message}`);
    throw err;
  }
}

/**
 * Checks a received PDU against the format of its room version and returns its RoomEvent view, whose `pdu`
 * is `json` itself. Throws PduFormatError naming the first problem found.
 */
export function parsePdu(json: unknown, rules: RoomVersionRules, options: ParsePduOptions = {}): RoomEvent {
  if (!isPlainObject(json)) fail('a PDU must be a JSON object');
  const pdu: PduJson = json;

  const type = pdu.type;
  if (typeof type !== 'string') fail('type must be a string');
  if (utf8Bytes(type) > MAX_TYPE_OR_STATE_KEY_BYTES) fail(`type is longer than ${MAX_TYPE_OR_STATE_KEY_BYTES} bytes`);

  let stateKey: string | undefined;
  if (Object.hasOwn(pdu, 'state_key')) {
    if (typeof pdu.state_key !== 'string') fail('state_key must be a string');
    stateKey = pdu.state_key;
    if (utf8Bytes(stateKey) > MAX_TYPE_OR_STATE_KEY_BYTES) {
      fail(`state_key is longer than ${MAX_TYPE_OR_STATE_KEY_BYTES} bytes`);
    }
  }

  const sender: UserId = grammar('sender', parseUserId, pdu.sender);
  // A third-party invite is sent by the invitee's server in the name of the 3pid invite's sender
  // (server-server API, "Third-party invites"): its sender may belong to another server.
  const given = pdu.content;
  const thirdPartyInvite = type === 'm.room.member' && typeof given === 'object' && given !== null &&
    (given as Record<string, unknown>).membership === 'invite' && Object.hasOwn(given, 'third_party_invite');
  if (options.origin !== undefined && serverNameOf(sender) !== options.origin && !thirdPartyInvite) {
    fail(`sender ${sender} does not belong to the sending server ${options.origin}`);
  }

  let origin: string | undefined;
  if (Object.hasOwn(pdu, 'origin')) {
    if (typeof pdu.origin !== 'string') fail('origin must be a string');
    origin = pdu.origin;
  }

  if (!isPlainObject(pdu.content)) fail('content must be an object');
  const content = pdu.content;

  const originServerTs = integerIn('origin_server_ts', pdu.origin_server_ts, rules, -MAX_INT64);
  const depth = integerIn('depth', pdu.depth, rules, 0);

  if (!isHashes(pdu.hashes)) fail('hashes must be an object with a sha256 string');
  if (!isSignatures(pdu.signatures)) fail('signatures must map server names to objects of key id to signature');
  if (Object.hasOwn(pdu, 'unsigned') && !isPlainObject(pdu.unsigned)) fail('unsigned must be an object');

  const prevEvents = eventReferences('prev_events', pdu.prev_events, rules, MAX_PREV_EVENTS);
  const authEvents = eventReferences('auth_events', pdu.auth_events, rules, MAX_AUTH_EVENTS);

  let redacts: string | undefined;
  if (rules.keepsRedactsInContent) {
    // v11+: in content, which the sender controls; a non-string is no target, and auth treats it so.
    redacts = typeof content.redacts === 'string' ? content.redacts : undefined;
  } else if (Object.hasOwn(pdu, 'redacts')) {
    redacts = grammar('redacts', parseEventId, pdu.redacts);
  }

  // Last of the shape checks: a field-specific reason reads better than "not canonical JSON" for a float depth.
  checkSize(pdu, rules);

  const roomId = roomIdOf(pdu, rules);
  const eventId = eventIdOfPdu(pdu, rules);

  return {
    eventId,
    roomId,
    type,
    stateKey,
    sender,
    origin,
    content,
    originServerTs,
    depth,
    prevEvents,
    authEvents,
    redacts,
    pdu,
  };
}
