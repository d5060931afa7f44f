import type { PduJson } from './pdu.js';

/**
 * A PDU whose format has been checked for its room version, with the fields the auth rules, state
 * resolution and the room server read, under camelCase names. `pdu` keeps the wire JSON verbatim: it is
 * what was hashed and signed, and what is stored and sent on.
 *
 * prev_events and auth_events are lists of event ids in every version (v1-2 send [id, hashes] pairs; the
 * format check keeps the ids). roomId is filled for v12 create events too, which carry no room_id: their
 * room id is derived from their own reference hash.
 */
export interface RoomEvent {
  readonly eventId: string;
  readonly roomId: string;
  readonly type: string;
  /** Present on state events (the empty string is a valid state key). */
  readonly stateKey: string | undefined;
  readonly sender: string;
  readonly origin: string | undefined;
  readonly content: Readonly<Record<string, unknown>>;
  readonly originServerTs: number;
  readonly depth: number;
  readonly prevEvents: readonly string[];
  readonly authEvents: readonly string[];
  /** m.room.redaction's target: top-level in v1-10, in content from v11. */
  readonly redacts: string | undefined;
  readonly pdu: PduJson;
}

/**
 * The key of a state entry: its (type, state_key) pair. Encoded as JSON so that no pair of strings can
 * collide, whatever characters a remote server puts in a type or state key.
 */
export type StateKey = string & { readonly __brand: 'StateKey' };

export function stateKey(type: string, key: string): StateKey {
  return JSON.stringify([type, key]) as StateKey;
}

export function parseStateKey(key: StateKey): readonly [type: string, stateKey: string] {
  return JSON.parse(key) as [string, string];
}

export function stateKeyOf(event: Pick<RoomEvent, 'type' | 'stateKey'>): StateKey | undefined {
  return event.stateKey === undefined ? undefined : stateKey(event.type, event.stateKey);
}

/** A room's state: which event holds each (type, state_key). Values are event ids or events. */
export type StateMap<T = string> = ReadonlyMap<StateKey, T>;
