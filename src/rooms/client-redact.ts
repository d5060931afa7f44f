import { getRoomVersion, powerLevelsContent, stateKey, userPowerLevel, type RoomEvent, type StateKey } from '../events/index.js';
import { MatrixError, parseEventId, parseRoomId } from '../protocol/index.js';
import type { Caller } from './client-rooms.js';
import type { RoomReads } from './ports.js';
import type { RoomServer } from './room-server.js';

export interface ClientRedactDeps {
  readonly rooms: Pick<RoomServer, 'send'>;
  readonly store: Pick<RoomReads, 'room'>;
}

const POWER_LEVELS_KEY = stateKey('m.room.power_levels', '');
const CREATE_KEY = stateKey('m.room.create', '');

/**
 * PUT /rooms/{roomId}/redact/{eventId}/{txnId}. The auth rules check the power to send m.room.redaction;
 * redacting someone else's event also needs the `redact` level (redaction.yaml), checked here under the
 * room's write lock, as Synapse does. An event this server does not have may be redacted (it may arrive
 * later); one of another room may not.
 */
export function createClientRedact(deps: ClientRedactDeps) {
  const { rooms, store } = deps;

  async function mayRedact(reads: RoomReads, roomId: string, sender: string, targetId: string, ownOnly: boolean): Promise<void> {
    const target = (await reads.events([targetId])).get(targetId)?.event;
    if (target === undefined && !ownOnly) return;
    if (target !== undefined && target.roomId !== roomId) throw new MatrixError('M_INVALID_PARAM', `Event ${targetId} is not in room ${roomId}`);
    if (target?.sender === sender) return;
    // The spec's account suspension: a suspended account may take back its own events, not others'.
    if (ownOnly) throw new MatrixError('M_USER_SUSPENDED', 'Your account is suspended: you can redact only your own events');
    if (target === undefined) return;
    const room = await reads.room(roomId);
    const rules = room && getRoomVersion(room.roomVersion);
    if (!rules) return;
    const keys: StateKey[] = [POWER_LEVELS_KEY, CREATE_KEY];
    const entries = await reads.currentStateEntries(roomId, keys);
    const stored = await reads.events([...entries.values()]);
    const state = new Map<StateKey, RoomEvent>();
    for (const [key, id] of entries) {
      const event = stored.get(id)?.event;
      if (event) state.set(key, event);
    }
    const lookup = (type: string, key: string) => state.get(stateKey(type, key));
    if (userPowerLevel(sender, lookup, rules) < powerLevelsContent(lookup, rules).redact) {
      throw new MatrixError('M_FORBIDDEN', "You don't have the power to redact other users' events in this room");
    }
  }

  return {
    /**
     * Sends the redaction; a retransmission of the same transaction gets the first redaction's id.
     * `txnId` undefined (the legacy POST): every request is a new redaction. `content`: the redaction's
     * content beside `redacts` (a reason, say).
     */
    async redact(caller: Caller, roomIdValue: string, eventIdValue: string, txnId: string | undefined, content: Readonly<Record<string, unknown>> = {}): Promise<string> {
      const roomId = parseRoomId(roomIdValue);
      const eventId = parseEventId(eventIdValue);
      if (!(await store.room(roomId))) throw new MatrixError('M_FORBIDDEN', `You are not in room ${roomId}`);
      const sent = await rooms.send(
        roomId,
        { type: 'm.room.redaction', sender: caller.userId, content, redacts: eventId },
        {
          // A transaction id is scoped to its request path: this one never meets a /send's (and to the
          // device; an application service acting without one, to the user: see txnDevice).
          ...(txnId === undefined ? {} : { txn: { userId: caller.userId, deviceId: caller.deviceId ?? '', txnId: `redact/${eventId}/${txnId}` } }),
          precondition: (reads) => mayRedact(reads, roomId, caller.userId, eventId, caller.suspended === true),
        },
      );
      return sent.event.eventId;
    },
  };
}

export type ClientRedact = ReturnType<typeof createClientRedact>;
