/**
 * Branded Matrix identifiers (appendices, "Identifier Grammar"), parsed once at the edge. Inside Hearth
 * a `UserId`, `RoomId`, `EventId`, `RoomAlias` or `DeviceId` is known valid, so helpers such as
 * `userIdLocalpart` never re-check. Every parse function throws M_INVALID_PARAM saying what is wrong;
 * every `is*` guard answers the same question without throwing.
 */
import { MatrixError } from './errors.js';
import { quoteForError, serverNameProblem, type ServerName } from './server-name.js';

export {
  isIpLiteral,
  isServerName,
  MAX_SERVER_NAME_LENGTH,
  parseServerName,
  splitServerName,
  type ServerName,
} from './server-name.js';

export type UserId = string & { readonly __brand: 'UserId' };
export type RoomId = string & { readonly __brand: 'RoomId' };
export type EventId = string & { readonly __brand: 'EventId' };
export type RoomAlias = string & { readonly __brand: 'RoomAlias' };
export type DeviceId = string & { readonly __brand: 'DeviceId' };

/** User IDs, room IDs, room aliases and event IDs are each at most 255 bytes of UTF-8, sigil included. */
export const MAX_IDENTIFIER_BYTES = 255;

const NEW_LOCALPART = /^[a-z0-9._=\-\/+]+$/;
/** Compliant historical localparts: printable ASCII (U+0021-U+007E), `:` excluded by the split. */
const COMPLIANT_LOCALPART = /^[\u0021-\u007e]+$/;
/** Reference hashes: 32 bytes of unpadded base64, standard alphabet (room v3) or URL-safe (v4+). */
const HASH_STANDARD = /^[A-Za-z0-9+\/]{43}$/;
const HASH_URL_SAFE = /^[A-Za-z0-9_-]{43}$/;
const OPAQUE = /^[0-9A-Za-z._~-]+$/;
const NAMESPACED = /^[a-z][a-z0-9._-]*$/;

type Problem = string | undefined;

// ---------------------------------------------------------------- shared checks

function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdfff) bytes += 2; // each half of a pair: 2 of its 4 bytes
    else bytes += 3;
  }
  return bytes;
}

/** The permissive localpart rule: any code point except `:` (split off already) and NUL, no lone surrogates. */
function hasIllegalCodePoint(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit === 0) return true;
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return true;
      i++;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      return true;
    }
  }
  return false;
}

interface Sigilled {
  readonly text: string;
  /** Between the sigil and the first `:`; the whole rest when there is no `:`. */
  readonly localpart: string;
  readonly server: string | undefined;
}

/** Common prefix of every sigilled identifier: a string, the sigil, the byte limit, the first-colon split. */
function splitSigilled(value: unknown, kind: string, sigil: string): Sigilled | string {
  if (typeof value !== 'string') return `${kind} must be a string`;
  if (!value.startsWith(sigil)) return `${kind} ${quoteForError(value)} must start with '${sigil}'`;
  if (value.length > MAX_IDENTIFIER_BYTES || utf8Length(value) > MAX_IDENTIFIER_BYTES) {
    return `${kind} ${quoteForError(value)} is longer than ${MAX_IDENTIFIER_BYTES} bytes`;
  }
  const colon = value.indexOf(':');
  return colon === -1
    ? { text: value, localpart: value.slice(1), server: undefined }
    : { text: value, localpart: value.slice(1, colon), server: value.slice(colon + 1) };
}

function serverPartProblem(kind: string, id: Sigilled): Problem {
  if (id.server === undefined) return `${kind} ${quoteForError(id.text)} has no ':' before a server name`;
  const problem = serverNameProblem(id.server);
  return problem === undefined ? undefined : `${kind} ${quoteForError(id.text)} has an invalid server name: ${problem}`;
}

/** Room and event localparts, and alias localparts: non-empty, any code point but NUL, no lone surrogates. */
function opaqueLocalpartProblem(kind: string, id: Sigilled): Problem {
  if (id.localpart === '') return `${kind} ${quoteForError(id.text)} has an empty localpart`;
  if (hasIllegalCodePoint(id.localpart)) {
    return `${kind} ${quoteForError(id.text)} has a NUL or an unpaired surrogate in its localpart`;
  }
  return undefined;
}

function fail(problem: string): never {
  throw new MatrixError('M_INVALID_PARAM', problem);
}

// ---------------------------------------------------------------- user IDs

export interface UserIdOptions {
  /**
   * Accept historical user IDs, whose localparts may hold any code point but `:` and NUL, even be
   * empty. The spec says servers MUST accept them (they sent events in existing rooms); turn this off
   * where only new-style IDs may appear.
   */
  readonly allowHistorical?: boolean;
}

function userIdProblem(value: unknown, allowHistorical: boolean): Problem {
  const kind = 'user ID';
  const id = splitSigilled(value, kind, '@');
  if (typeof id === 'string') return id;
  const serverProblem = serverPartProblem(kind, id);
  if (serverProblem !== undefined) return serverProblem;
  if (allowHistorical) {
    return hasIllegalCodePoint(id.localpart)
      ? `${kind} ${quoteForError(id.text)} has a NUL or an unpaired surrogate in its localpart`
      : undefined;
  }
  if (id.localpart === '') return `${kind} ${quoteForError(id.text)} has an empty localpart`;
  if (!NEW_LOCALPART.test(id.localpart)) {
    return `${kind} ${quoteForError(id.text)} may only use a-z, 0-9 and . _ = - / + in its localpart`;
  }
  return undefined;
}

export function parseUserId(value: unknown, { allowHistorical = true }: UserIdOptions = {}): UserId {
  const problem = userIdProblem(value, allowHistorical);
  return problem === undefined ? (value as UserId) : fail(problem);
}

export function isUserId(value: unknown, { allowHistorical = true }: UserIdOptions = {}): value is UserId {
  return userIdProblem(value, allowHistorical) === undefined;
}

/**
 * Whether a localpart may be given to a new user: only `a-z 0-9 . _ = - / +`. With `server`, also
 * whether the whole user ID fits in 255 bytes. Registration answers a `false` with M_INVALID_USERNAME.
 */
export function isValidNewLocalpart(localpart: string, server?: ServerName): boolean {
  if (!NEW_LOCALPART.test(localpart)) return false;
  return server === undefined || 1 + localpart.length + 1 + server.length <= MAX_IDENTIFIER_BYTES;
}

/**
 * Whether a user ID is compliant: a non-empty localpart of printable ASCII. Servers accept the others in
 * events but SHOULD NOT pass them to clients outside an event (e.g. device list updates are dropped).
 */
export function isCompliantUserId(id: UserId): boolean {
  return COMPLIANT_LOCALPART.test(userIdLocalpart(id));
}

/** Builds a user ID for this server's own users: new-style localpart only. Throws M_INVALID_PARAM. */
export function makeUserId(localpart: string, server: ServerName): UserId {
  return parseUserId(`@${localpart}:${server}`, { allowHistorical: false });
}

export function userIdLocalpart(id: UserId): string {
  return id.slice(1, id.indexOf(':'));
}

export function userIdServer(id: UserId): ServerName {
  return id.slice(id.indexOf(':') + 1) as ServerName;
}

// ---------------------------------------------------------------- room IDs, event IDs, aliases

function roomIdProblem(value: unknown): Problem {
  const kind = 'room ID';
  const id = splitSigilled(value, kind, '!');
  if (typeof id === 'string') return id;
  if (id.server === undefined) {
    // Room version 12 and later: `!` + the create event's reference hash, which has no server part.
    return HASH_URL_SAFE.test(id.localpart)
      ? undefined
      : `${kind} ${quoteForError(id.text)} has no server name and is not a 43-character reference hash`;
  }
  return serverPartProblem(kind, id) ?? opaqueLocalpartProblem(kind, id);
}

export function parseRoomId(value: unknown): RoomId {
  const problem = roomIdProblem(value);
  return problem === undefined ? (value as RoomId) : fail(problem);
}

export function isRoomId(value: unknown): value is RoomId {
  return roomIdProblem(value) === undefined;
}

function eventIdProblem(value: unknown): Problem {
  const kind = 'event ID';
  const id = splitSigilled(value, kind, '$');
  if (typeof id === 'string') return id;
  if (id.server === undefined) {
    // Room versions 3 and later: the reference hash, standard base64 in v3 and URL-safe from v4.
    return HASH_URL_SAFE.test(id.localpart) || HASH_STANDARD.test(id.localpart)
      ? undefined
      : `${kind} ${quoteForError(id.text)} has no server name and is not a 43-character reference hash`;
  }
  // Room versions 1 and 2: `$opaque_id:server_name`.
  return serverPartProblem(kind, id) ?? opaqueLocalpartProblem(kind, id);
}

export function parseEventId(value: unknown): EventId {
  const problem = eventIdProblem(value);
  return problem === undefined ? (value as EventId) : fail(problem);
}

export function isEventId(value: unknown): value is EventId {
  return eventIdProblem(value) === undefined;
}

function roomAliasProblem(value: unknown): Problem {
  const kind = 'room alias';
  const id = splitSigilled(value, kind, '#');
  if (typeof id === 'string') return id;
  return serverPartProblem(kind, id) ?? opaqueLocalpartProblem(kind, id);
}

export function parseRoomAlias(value: unknown): RoomAlias {
  const problem = roomAliasProblem(value);
  return problem === undefined ? (value as RoomAlias) : fail(problem);
}

export function isRoomAlias(value: unknown): value is RoomAlias {
  return roomAliasProblem(value) === undefined;
}

/** For `/join/{roomIdOrAlias}` and friends: the sigil decides which grammar applies. */
export function parseRoomIdOrAlias(value: unknown): RoomId | RoomAlias {
  if (typeof value === 'string' && value.startsWith('!')) return parseRoomId(value);
  if (typeof value === 'string' && value.startsWith('#')) return parseRoomAlias(value);
  if (typeof value !== 'string') return fail('room ID or alias must be a string');
  return fail(`${quoteForError(value)} is neither a room ID (starting with '!') nor a room alias (starting with '#')`);
}

/**
 * The server name inside an identifier, where it has one. Room IDs from room version 12 and event IDs
 * from room version 3 have none. A room ID's server only says who created it, not who is in it.
 */
export function serverNameOf(id: UserId | RoomId | EventId | RoomAlias): ServerName | undefined {
  const colon = id.indexOf(':');
  return colon === -1 ? undefined : (id.slice(colon + 1) as ServerName);
}

// ---------------------------------------------------------------- device IDs and opaque identifiers

export interface DeviceIdOptions {
  /**
   * Require the Opaque Identifier Grammar (`[0-9A-Za-z._~-]`). Off by default: the login API lets clients
   * pick any device ID and other servers report theirs, so only NUL, lone surrogates, the empty string and
   * more than 255 bytes are refused.
   */
  readonly strict?: boolean;
}

function deviceIdProblem(value: unknown, strict: boolean): Problem {
  if (strict) return opaqueIdProblem(value, 'device ID', MAX_IDENTIFIER_BYTES);
  if (typeof value !== 'string') return 'device ID must be a string';
  if (value === '') return 'device ID is empty';
  if (utf8Length(value) > MAX_IDENTIFIER_BYTES) {
    return `device ID ${quoteForError(value)} is longer than ${MAX_IDENTIFIER_BYTES} bytes`;
  }
  if (hasIllegalCodePoint(value)) return `device ID ${quoteForError(value)} has a NUL or an unpaired surrogate`;
  return undefined;
}

export function parseDeviceId(value: unknown, { strict = false }: DeviceIdOptions = {}): DeviceId {
  const problem = deviceIdProblem(value, strict);
  return problem === undefined ? (value as DeviceId) : fail(problem);
}

export function isDeviceId(value: unknown, { strict = false }: DeviceIdOptions = {}): value is DeviceId {
  return deviceIdProblem(value, strict) === undefined;
}

function opaqueIdProblem(value: unknown, kind: string, maxLength: number): Problem {
  if (typeof value !== 'string') return `${kind} must be a string`;
  if (value === '') return `${kind} is empty`;
  if (value.length > maxLength) return `${kind} ${quoteForError(value)} is longer than ${maxLength} characters`;
  if (!OPAQUE.test(value)) {
    return `${kind} ${quoteForError(value)} may only use letters, digits and . _ ~ -`;
  }
  return undefined;
}

export interface OpaqueIdOptions {
  /** Names the identifier in the error message ("transaction ID", "call_id"). */
  readonly kind?: string;
  /** 255 unless the spec says otherwise (registration tokens: 64). */
  readonly maxLength?: number;
}

/** The Opaque Identifier Grammar: 1 to 255 (or `maxLength`) of `[0-9A-Za-z._~-]`. */
export function parseOpaqueId(value: unknown, { kind = 'identifier', maxLength = 255 }: OpaqueIdOptions = {}): string {
  const problem = opaqueIdProblem(value, kind, maxLength);
  return problem === undefined ? (value as string) : fail(problem);
}

export function isOpaqueId(value: unknown, maxLength = 255): value is string {
  return opaqueIdProblem(value, 'identifier', maxLength) === undefined;
}

/**
 * The Common Namespaced Identifier Grammar: 1 to 255 of `[a-z0-9._-]`, starting with a letter. Whether
 * `m.` is reserved is the caller's rule, since it depends on who is defining the identifier.
 */
export function isNamespacedId(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 255 && NAMESPACED.test(value);
}
