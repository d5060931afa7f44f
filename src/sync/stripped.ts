import { stateKey, STRIPPED_STATE_TYPES, type RoomEvent } from '../events/index.js';
import type { MembershipRow, SyncReads } from './ports.js';

/**
 * Invited and knocking rooms: the user is not in them, so /sync shows only stripped state (type, state
 * key, sender, content) of the events that let a client show the room: its name, avatar, join rules and
 * so on, as the spec's "stripped state" recommends, the inviter's member event, and the user's own.
 */

export interface StrippedEvent {
  readonly type: string;
  readonly state_key: string;
  readonly sender: string;
  readonly content: Readonly<Record<string, unknown>>;
}

function stripped(event: RoomEvent): StrippedEvent {
  return { type: event.type, state_key: event.stateKey ?? '', sender: event.sender, content: event.content };
}

/** The stripped state of the room as it was at the user's invite or knock, ending with that event. */
export async function strippedState(reads: SyncReads, membership: MembershipRow): Promise<StrippedEvent[]> {
  const state = membership.position === null ? undefined : await reads.stateAfter(membership.eventId);
  const own = (await reads.events([membership.eventId])).get(membership.eventId)?.event;
  // The inviter's member event too (who invites, by name and avatar), as Synapse sends it.
  const inviter = own !== undefined && own.sender !== own.stateKey ? [stateKey('m.room.member', own.sender)] : [];
  const previewIds = [...STRIPPED_STATE_TYPES.map((type) => stateKey(type, '')), ...inviter]
    .map((key) => state?.get(key))
    .filter((id): id is string => id !== undefined);
  const stored = await reads.events(previewIds);
  const events = previewIds.map((id) => stored.get(id)?.event).filter((event): event is RoomEvent => event !== undefined);
  // An invite from a room this server is not in carries the inviting server's stripped state instead.
  const given = own === undefined ? [] : inviteRoomState(own);
  if (given.length > 0) return [...given.filter((e) => !(e.type === 'm.room.member' && e.state_key === own?.stateKey)), stripped(own!)];
  return [...events, ...(own ? [own] : [])].map(stripped);
}

/** The stripped state src/rooms/federation-membership.ts keeps in a remote invite's unsigned, well-formed entries only. */
function inviteRoomState(event: RoomEvent): StrippedEvent[] {
  const unsigned = event.pdu.unsigned;
  // A knock on a remote room keeps the resident server's knock_room_state the same way (src/rooms/remote-membership.ts).
  const held = typeof unsigned === 'object' && unsigned !== null ? (unsigned as { invite_room_state?: unknown; knock_room_state?: unknown }) : undefined;
  const list = held?.invite_room_state ?? held?.knock_room_state;
  if (!Array.isArray(list)) return [];
  return list.filter((e): e is StrippedEvent =>
    typeof e === 'object' && e !== null && typeof e.type === 'string' && typeof e.state_key === 'string' &&
    typeof e.sender === 'string' && typeof e.content === 'object' && e.content !== null);
}
