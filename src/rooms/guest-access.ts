import { parseStateKey, stateKey, type RoomEvent } from '../events/index.js';
import type { Logger } from '../platform/logger.js';
import type { RoomReads } from './ports.js';

/**
 * The spec's guest access module: guests are a local notion (other servers cannot tell a guest from a full
 * account), so this server enforces m.room.guest_access for its own guests, whoever changes the room's
 * setting: once it stops being can_join, the guests of this server in the room are made to leave (as
 * Synapse does, each guest leaving by itself), whether the change was sent here or came over federation.
 */

/** The state entry that holds a room's guest access setting. */
export const GUEST_ACCESS_KEY = stateKey('m.room.guest_access', '');
/** Guests have numeric localparts (and only they do), so other members cost no lookup. */
const GUEST_LIKE = /^@[0-9]+:/;

export interface GuestAccessDeps {
  readonly store: Pick<RoomReads, 'currentState' | 'events'>;
  /** Whether a user is a guest account of this server. */
  readonly isLocalGuest: (userId: string) => Promise<boolean>;
  /** The room server's leave (a local event, sent to the room's other servers like any other). */
  readonly leave: (roomId: string, userId: string) => Promise<unknown>;
  readonly log?: Logger;
}

/** Whether an m.room.guest_access content admits guests; an absent event means forbidden. */
export function admitsGuests(content: Readonly<Record<string, unknown>> | undefined): boolean {
  return content?.guest_access === 'can_join';
}

/** Whether an event takes guest access away (to be checked against the current state: it may not have won). */
export function revokesGuestAccess(event: Pick<RoomEvent, 'type' | 'stateKey' | 'content'>): boolean {
  return event.type === 'm.room.guest_access' && event.stateKey === '' && !admitsGuests(event.content);
}

export function createGuestAccess(deps: GuestAccessDeps) {
  const { store } = deps;

  /** Makes this server's joined guests leave the room, unless its current state admits guests. */
  async function guestsLeave(roomId: string): Promise<void> {
    const state = await store.currentState(roomId);
    const settingId = state.get(GUEST_ACCESS_KEY);
    const setting = settingId === undefined ? undefined : (await store.events([settingId])).get(settingId)?.event.content;
    if (admitsGuests(setting)) return;
    const memberIds = [...state].filter(([key]) => parseStateKey(key)[0] === 'm.room.member').map(([, eventId]) => eventId);
    for (const { event } of (await store.events(memberIds)).values()) {
      if (event.content.membership !== 'join' || event.stateKey === undefined) continue;
      if (!GUEST_LIKE.test(event.stateKey) || !(await deps.isLocalGuest(event.stateKey))) continue;
      // The state change stands whatever happens here; a guest that cannot be moved out stays for now.
      await deps.leave(roomId, event.stateKey).catch((err: unknown) => deps.log?.warn({ err, roomId, userId: event.stateKey }, 'could not make a guest leave'));
    }
  }

  return {
    guestsLeave,

    /** After an event entered the room (sent here or received): a revocation of guest access moves the guests out. */
    async afterEvent(event: Pick<RoomEvent, 'roomId' | 'type' | 'stateKey' | 'content'>): Promise<void> {
      if (revokesGuestAccess(event)) await guestsLeave(event.roomId);
    },
  };
}

export type GuestAccess = ReturnType<typeof createGuestAccess>;
