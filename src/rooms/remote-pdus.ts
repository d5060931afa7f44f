import { isPlainObject } from '../crypto/index.js';
import {
  checkAuthEvents,
  checkContentHash,
  parsePdu,
  PduFormatError,
  redactEvent,
  requiredSignatureServers,
  verifyEventSignature,
  type RoomEvent,
  type RoomVersionRules,
} from '../events/index.js';
import { MatrixError, RelayedMatrixError } from '../protocol/index.js';
import type { KeyLookup } from './ports.js';

/**
 * Checks of events another server hands over whole (a send_join's state and auth chain, a send_knock's
 * answer): format, every required signature through the keyring, the content hash, and the auth rules of
 * each event against its own auth events within the set. What fails is named, so the caller can refuse the
 * whole answer with a clear reason; nothing here stores anything.
 */

/** Why a resident server's answer was refused; the message names the event and the check. */
export class RemoteAnswerError extends Error {
  constructor(readonly server: string, reason: string) {
    super(`${server}: ${reason}`);
    this.name = 'RemoteAnswerError';
  }
}

/** The servers that must have signed the event, each with a key valid at origin_server_ts; undefined when all did. */
export async function signatureProblem(event: RoomEvent, rules: RoomVersionRules, keys: KeyLookup, skip: ReadonlySet<string> = new Set()): Promise<string | undefined> {
  const signatures = event.pdu.signatures;
  for (const server of requiredSignatureServers(event, rules)) {
    if (skip.has(server)) continue;
    const byKey = isPlainObject(signatures) ? signatures[server] : undefined;
    if (!isPlainObject(byKey)) return `${event.eventId} is not signed by ${server}`;
    let verified = false;
    for (const keyId of Object.keys(byKey)) {
      if (!keyId.startsWith('ed25519:')) continue;
      const key = await keys.verifyKey(server, keyId).catch(() => undefined);
      if (!key) continue;
      if (rules.enforcesKeyValidityPeriod && key.validUntilTs < event.originServerTs) continue;
      if (verifyEventSignature(event.pdu, server, keyId, key.key, rules)) {
        verified = true;
        break;
      }
    }
    if (!verified) return `${event.eventId} has no valid signature from ${server}`;
  }
  return undefined;
}

/**
 * Parses and verifies a list of PDUs of one room: format, room id, signatures. An event whose content hash
 * does not match keeps only its redacted form, as the spec asks of any received PDU.
 */
export async function verifiedPdus(
  server: string,
  list: unknown,
  roomId: string,
  rules: RoomVersionRules,
  keys: KeyLookup,
  what: string,
  /** Given: an event whose signatures do not verify is left out (and reported here) instead of failing the whole answer. */
  dropForged?: (eventId: string, problem: string) => void,
): Promise<RoomEvent[]> {
  if (!Array.isArray(list)) throw new RemoteAnswerError(server, `${what} is not a list of events`);
  const out: RoomEvent[] = [];
  for (const json of list) {
    let event: RoomEvent;
    try {
      event = parsePdu(json, rules);
    } catch (err) {
      if (err instanceof PduFormatError) throw new RemoteAnswerError(server, `an event of ${what} is malformed: ${err.message}`);
      throw err;
    }
    if (event.roomId !== roomId) throw new RemoteAnswerError(server, `${event.eventId} in ${what} belongs to ${event.roomId}, not ${roomId}`);
    const problem = await signatureProblem(event, rules, keys);
    if (problem && dropForged) {
      dropForged(event.eventId, problem);
      continue;
    }
    if (problem) throw new RemoteAnswerError(server, `${what}: ${problem}`);
    out.push(checkContentHash(event.pdu) ? event : parsePdu(redactEvent(event.pdu, rules), rules));
  }
  return out;
}

/**
 * Every event of the set passes the auth rules against the auth events it cites, which must be in the set
 * too (v12: the create event is implied). Checked in an order where an event's auth events come first.
 */
export function checkAuthChain(server: string, events: readonly RoomEvent[], rules: RoomVersionRules): void {
  const byId = new Map(events.map((event) => [event.eventId, event] as const));
  const create = events.find((event) => event.type === 'm.room.create' && event.stateKey === '');
  const passed = new Set<string>();
  const visiting = new Set<string>();
  const visit = (event: RoomEvent): void => {
    if (passed.has(event.eventId)) return;
    if (visiting.has(event.eventId)) throw new RemoteAnswerError(server, `the auth chain of ${event.eventId} loops`);
    visiting.add(event.eventId);
    const authEvents: RoomEvent[] = [];
    for (const id of event.authEvents) {
      const authEvent = byId.get(id);
      if (!authEvent) throw new RemoteAnswerError(server, `${event.eventId} cites auth event ${id}, which the answer does not hold`);
      visit(authEvent);
      authEvents.push(authEvent);
    }
    if (rules.roomIdFormat === 'create-event-hash' && event.type !== 'm.room.create' && create) authEvents.push(create);
    const verdict = checkAuthEvents(event, authEvents, rules);
    if (!verdict.allowed) throw new RemoteAnswerError(server, `${event.eventId} (${event.type}) fails the auth rules: ${verdict.reason}`);
    visiting.delete(event.eventId);
    passed.add(event.eventId);
  };
  for (const event of events) visit(event);
}

/** A resident server's refusal as the client should see it: its errcode and message when it gave one. */
export function passOnRefusal(err: unknown, fallback: string): MatrixError | undefined {
  const remote = err as { remoteErrcode?: string; remoteError?: string };
  if (remote.remoteErrcode === 'M_FORBIDDEN') return new MatrixError('M_FORBIDDEN', remote.remoteError ?? fallback);
  return undefined;
}

/**
 * Any other client error a resident server answered with (a 4xx with an errcode), passed on as it was given
 * when no server would do what was asked, as Synapse does. Not relayed: 401, which is about this server's
 * signature, not the client; and M_UNRECOGNIZED, a server without the endpoint, which says nothing of the room.
 */
export function relayedRefusal(err: unknown, fallback: string): RelayedMatrixError | undefined {
  const { remoteStatus: status, remoteErrcode: errcode, remoteError } = err as { remoteStatus?: number; remoteErrcode?: string; remoteError?: string };
  if (status === undefined || errcode === undefined || status < 400 || status > 499 || status === 401 || errcode === 'M_UNRECOGNIZED') return undefined;
  return new RelayedMatrixError(errcode, remoteError ?? `${fallback} (${errcode})`, status);
}
