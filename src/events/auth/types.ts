import type { RoomEvent } from '../event.js';

/** What an auth check decided; a refusal says which rule refused, for the log. */
export type AuthResult = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

/**
 * The room state an event is checked against: the state before it, or the state its auth_events make up.
 * In room version 12 the create event is not among auth_events; a lookup must still return it for
 * ('m.room.create', '').
 */
export type AuthStateLookup = (type: string, stateKey: string) => RoomEvent | undefined;
