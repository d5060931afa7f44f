/**
 * Which state an event cites as its auth_events (server-server-api.md, "Auth events selection"), and the
 * auth rules about the cited events themselves ("Considering the event's auth_events", rule 2 in v1-11,
 * rule 3 in v12, plus v12 rule 2).
 */
import { isPlainObject } from '../../crypto/index.js';
import { stateKey, stateKeyOf, type RoomEvent, type StateKey } from '../event.js';
import type { RoomVersionRules } from '../room-versions.js';
import { checkAuth } from './check-auth.js';
import { deny } from './result.js';
import type { AuthResult } from './types.js';

export interface AuthEventsSelectionInput {
  readonly type: string;
  readonly stateKey?: string | undefined;
  readonly sender: string;
  readonly content: Readonly<Record<string, unknown>>;
}

/**
 * The (type, state_key) pairs whose current events an event must cite: none for m.room.create; the create
 * event (not in v12, where the room id stands for it), power levels, the sender's membership, and for
 * membership events the target's membership, the join rules (join, invite, knock), the third-party
 * invite for the token (invite with third_party_invite) and, from v8, the member event of
 * join_authorised_via_users_server (join).
 */
export function authEventsSelection(event: AuthEventsSelectionInput, rules: RoomVersionRules): StateKey[] {
  if (event.type === 'm.room.create') return [];
  const keys = new Set<StateKey>();
  if (rules.roomIdFormat !== 'create-event-hash') keys.add(stateKey('m.room.create', ''));
  keys.add(stateKey('m.room.power_levels', ''));
  keys.add(stateKey('m.room.member', event.sender));
  if (event.type === 'm.room.member' && event.stateKey !== undefined) {
    const membership = event.content.membership;
    keys.add(stateKey('m.room.member', event.stateKey));
    if (membership === 'join' || membership === 'invite' || membership === 'knock') {
      keys.add(stateKey('m.room.join_rules', ''));
    }
    const thirdParty = event.content.third_party_invite;
    const signed = isPlainObject(thirdParty) ? thirdParty.signed : undefined;
    if (membership === 'invite' && isPlainObject(signed) && typeof signed.token === 'string') {
      keys.add(stateKey('m.room.third_party_invite', signed.token));
    }
    const authoriser = event.content.join_authorised_via_users_server;
    if (membership === 'join' && rules.restrictedJoins && typeof authoriser === 'string') {
      keys.add(stateKey('m.room.member', authoriser));
    }
  }
  return [...keys];
}

export interface CheckAuthEventsOptions {
  /** Whether an auth event was itself rejected; rejected auth events make the event rejected. */
  readonly isRejected?: (event: RoomEvent) => boolean;
}

/**
 * Checks `event` against its own auth events: first the rules about the auth events (each one cited is
 * supplied, no (type, state_key) twice, only what the selection calls for, none rejected, all in the
 * event's room, the create event among them), then checkAuth against the state they make up.
 *
 * `authEvents` are the events named by `event.authEvents`, in any order. In room version 12 the caller
 * must also pass the room's m.room.create event (the one whose id the room id is), which is not listed;
 * any other extra event is ignored.
 */
export function checkAuthEvents(
  event: RoomEvent,
  authEvents: readonly RoomEvent[],
  rules: RoomVersionRules,
  options: CheckAuthEventsOptions = {},
): AuthResult {
  const rule = 'auth_events';
  const byId = new Map(authEvents.map((e) => [e.eventId, e] as const));
  const isRejected = options.isRejected ?? (() => false);

  // Rule 1 (create) does not look at auth_events.
  if (event.type === 'm.room.create') return checkAuth(event, () => undefined, rules);

  const state = new Map<StateKey, RoomEvent>();
  if (rules.roomIdFormat === 'create-event-hash') {
    // v12 rule 2: the room id must name an accepted create event.
    const create = byId.get('$' + event.roomId.slice(1));
    if (create === undefined || create.type !== 'm.room.create') {
      return deny("room_id is not the event id of a known m.room.create event");
    }
    if (isRejected(create)) return deny('the m.room.create event the room_id names was rejected');
    state.set(stateKey('m.room.create', ''), create);
  }

  const allowed = new Set(authEventsSelection(event, rules));
  const seen = new Set<string>();
  for (const id of event.authEvents) {
    if (seen.has(id)) return deny(`${rule}: ${id} is listed twice`);
    seen.add(id);
    const authEvent = byId.get(id);
    if (authEvent === undefined) return deny(`${rule}: ${id} was not supplied`);
    const key = stateKeyOf(authEvent);
    if (key === undefined) return deny(`${rule}: ${id} is not a state event`);
    if (state.has(key) && !(rules.roomIdFormat === 'create-event-hash' && authEvent.type === 'm.room.create')) {
      return deny(`${rule}: two entries for (${authEvent.type}, ${authEvent.stateKey})`);
    }
    if (!allowed.has(key)) {
      return deny(`${rule}: (${authEvent.type}, ${authEvent.stateKey}) is not called for by the auth events selection`);
    }
    if (isRejected(authEvent)) return deny(`${rule}: ${id} was rejected`);
    if (authEvent.roomId !== event.roomId) return deny(`${rule}: ${id} is in another room`);
    state.set(key, authEvent);
  }
  if (!state.has(stateKey('m.room.create', ''))) return deny(`${rule}: no m.room.create event among them`);

  return checkAuth(event, (type, key) => state.get(stateKey(type, key)), rules);
}
