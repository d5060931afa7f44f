import {
  getRoomVersion,
  parseStateKey,
  powerLevelsContent,
  stateKey,
  type PowerLevels,
  type RoomEvent,
  type RoomVersionRules,
  type StateKey,
} from '../events/index.js';
import { isMatrixError, MatrixError, parseUserId, type RoomId } from '../protocol/index.js';
import type { Clock } from '../platform/clock.js';
import type { Caller } from './client-rooms.js';
import type { InitialStateEvent } from './create-room.js';
import type { AliasStore, RoomDirectoryStore, RoomReads } from './ports.js';
import { maySendState } from './room-power.js';
import type { RoomServer } from './room-server.js';
import { moveAliasesAndListing } from './upgrade-carry.js';

/**
 * Room upgrades (client-server API, "Room upgrades"): a replacement room of another version that carries
 * on the old one's settings, aliases and directory listing, and a tombstone that closes the old room.
 */

export interface RoomUpgradeDeps {
  readonly rooms: Pick<RoomServer, 'newRoomId' | 'createRoom' | 'send'>;
  readonly store: Pick<RoomReads, 'room' | 'currentState' | 'currentStateEntries' | 'events' | 'forwardExtremities'>;
  readonly aliases: Pick<AliasStore, 'alias' | 'createAlias' | 'deleteAlias' | 'roomAliases'>;
  readonly directory: Pick<RoomDirectoryStore, 'isPublished' | 'setPublished'>;
  readonly clock: Clock;
}

/** The state the spec recommends transferring (with an empty state key), plus the canonical alias, which moves. */
const COPIED_TYPES = [
  'm.room.server_acl',
  'm.room.encryption',
  'm.room.name',
  'm.room.avatar',
  'm.room.topic',
  'm.room.guest_access',
  'm.room.history_visibility',
  'm.room.join_rules',
  'm.room.canonical_alias',
] as const;

export function createRoomUpgrades(deps: RoomUpgradeDeps) {
  const { rooms, store } = deps;

  /** Changes to the old room after the upgrade the upgrader may lack the power for; the upgrade stands without them. */
  async function bestEffort(write: () => Promise<unknown>): Promise<void> {
    try {
      await write();
    } catch (err) {
      if (!isMatrixError(err) || err.errcode !== 'M_FORBIDDEN') throw err;
    }
  }

  /** POST /rooms/{roomId}/upgrade for a room this server holds; returns the replacement room's id. */
  async function upgrade(caller: Caller, roomId: RoomId, newVersion: string, additionalCreators: readonly string[] = []): Promise<string> {
    const newRules = getRoomVersion(newVersion);
    if (!newRules) throw new MatrixError('M_UNSUPPORTED_ROOM_VERSION', `Room version '${newVersion}' is not supported by this server`);
    const room = await store.room(roomId);
    const oldRules = room && getRoomVersion(room.roomVersion);
    if (!oldRules) throw new MatrixError('M_NOT_FOUND', `There is no room ${roomId} on this server`);
    if (!(await maySendState(store, roomId, caller.userId, 'm.room.tombstone'))) {
      throw new MatrixError('M_FORBIDDEN', 'You need to be in the room with the power to send m.room.tombstone to upgrade it');
    }
    const creators = newRules.privilegedCreators
      ? [...new Set(additionalCreators.map((user) => parseUserId(user)))].filter((user) => user !== caller.userId)
      : [];

    const state = await currentStateEvents(roomId);
    const lookup = (type: string, key: string) => state.get(stateKey(type, key));
    const levels = powerLevelsContent(lookup, oldRules);
    const tombstone = (replacement: string) =>
      rooms.send(roomId, {
        type: 'm.room.tombstone',
        stateKey: '',
        sender: caller.userId,
        content: { body: 'This room has been replaced', replacement_room: replacement },
      });

    // The predecessor's event_id is the old room's last event. Where the replacement's id can be chosen
    // first (v1-11), the tombstone goes first and is that event, as Synapse does and clients expect. A v12
    // room id is its create event's hash, so the tombstone can only follow; v12 lets event_id go, and it is
    // still set to the last event known, as the spec asks.
    const chosenId = rooms.newRoomId(newRules.id);
    const lastEvent = chosenId !== undefined ? (await tombstone(chosenId)).event.eventId : (await store.forwardExtremities(roomId))[0];

    const oldCreate = lookup('m.room.create', '')?.content ?? {};
    const creationContent: Record<string, unknown> = {
      predecessor: lastEvent === undefined ? { room_id: roomId } : { room_id: roomId, event_id: lastEvent },
    };
    if (typeof oldCreate.type === 'string') creationContent.type = oldCreate.type;
    if (oldCreate['m.federate'] !== undefined) creationContent['m.federate'] = oldCreate['m.federate'];
    if (creators.length > 0) creationContent.additional_creators = creators;

    const { initial, final } = newPowerLevels(caller.userId, new Set(creators), levels, lookup('m.room.power_levels', '')?.content, oldRules, newRules);
    const created = rooms.createRoom({
      creator: caller.userId,
      // As Synapse: private_chat underneath, overridden by the copied state (so a room without
      // m.room.guest_access gets can_join, and the upgrade's sync shows the same state types).
      preset: 'private_chat',
      creationContent,
      powerLevelContentOverride: initial,
      initialState: copiedState(state, newRules, new Set([caller.userId, ...creators])),
      roomVersion: newRules.id,
      ...(chosenId !== undefined ? { roomId: chosenId } : {}),
    });
    const { roomId: replacement } = await created.catch(async (err: unknown) => {
      // The tombstone already sent must not point at a room that was never made: an empty one replaces it.
      if (chosenId !== undefined) await rooms.send(roomId, { type: 'm.room.tombstone', stateKey: '', sender: caller.userId, content: {} }).catch(() => undefined);
      throw err;
    });
    if (final !== initial) await rooms.send(replacement, { type: 'm.room.power_levels', stateKey: '', sender: caller.userId, content: final });
    if (chosenId === undefined) await tombstone(replacement);
    await moveAliasesAndListing(deps, roomId, replacement);
    await dropCanonicalAlias(caller, roomId, lookup('m.room.canonical_alias', '')?.content);
    await restrictOldRoom(caller, roomId, levels, lookup('m.room.power_levels', '')?.content);
    return replacement;
  }

  async function currentStateEvents(roomId: string): Promise<Map<StateKey, RoomEvent>> {
    const entries = await store.currentState(roomId);
    const stored = await store.events([...entries.values()]);
    const state = new Map<StateKey, RoomEvent>();
    for (const [key, eventId] of entries) {
      const event = stored.get(eventId)?.event;
      if (event) state.set(key, event);
    }
    return state;
  }

  /** The canonical alias, copied with the state, leaves the old room. */
  async function dropCanonicalAlias(caller: Caller, from: string, canonical: Readonly<Record<string, unknown>> | undefined): Promise<void> {
    if (canonical !== undefined && (canonical.alias !== undefined || canonical.alt_aliases !== undefined)) {
      await bestEffort(() => rooms.send(from, { type: 'm.room.canonical_alias', stateKey: '', sender: caller.userId, content: {} }));
    }
  }

  /** The spec's step 6: only members with power may still talk or invite in the old room. */
  async function restrictOldRoom(caller: Caller, roomId: string, levels: PowerLevels, content: Readonly<Record<string, unknown>> | undefined): Promise<void> {
    const restricted = Math.max(50, levels.usersDefault + 1);
    if (levels.eventsDefault >= restricted && levels.invite >= restricted) return;
    const next = {
      ...content,
      events_default: Math.max(levels.eventsDefault, restricted),
      invite: Math.max(levels.invite, restricted),
    };
    await bestEffort(() => rooms.send(roomId, { type: 'm.room.power_levels', stateKey: '', sender: caller.userId, content: next }));
  }

  return { upgrade };
}

export type RoomUpgrades = ReturnType<typeof createRoomUpgrades>;

/**
 * The state the replacement starts with: the copied types, m.space.child links (as Synapse copies them), and
 * bans as bans. Membership is not copied: the server cannot join people for them.
 */
function copiedState(state: ReadonlyMap<StateKey, RoomEvent>, rules: RoomVersionRules, creators: ReadonlySet<string>): InitialStateEvent[] {
  const copied: InitialStateEvent[] = [];
  const copiedTypes: ReadonlySet<string> = new Set(COPIED_TYPES);
  for (const [entry, event] of state) {
    const [type, key] = parseStateKey(entry);
    if (Object.keys(event.content).length === 0) continue;
    if (copiedTypes.has(type) && key === '') {
      copied.push({ type, stateKey: '', content: type === 'm.room.join_rules' ? joinRulesFor(event.content, rules) : event.content });
    } else if (type === 'm.space.child') {
      copied.push({ type, stateKey: key, content: event.content });
    } else if (type === 'm.room.member' && event.content.membership === 'ban' && !creators.has(key)) {
      const reason = event.content.reason;
      copied.push({ type, stateKey: key, content: typeof reason === 'string' ? { membership: 'ban', reason } : { membership: 'ban' } });
    }
  }
  // A room without join rules is invite-only; the preset's rule must not open it.
  if (!state.has(stateKey('m.room.join_rules', ''))) copied.push({ type: 'm.room.join_rules', stateKey: '', content: { join_rule: 'invite' } });
  return copied;
}

/** A join rule the new version lacks (knock, restricted) becomes the nearest one it has: invite. */
function joinRulesFor(content: Readonly<Record<string, unknown>>, rules: RoomVersionRules): Readonly<Record<string, unknown>> {
  const rule = content.join_rule;
  const supported =
    (rule !== 'knock' || rules.knocking) &&
    (rule !== 'restricted' || rules.restrictedJoins) &&
    (rule !== 'knock_restricted' || rules.knockRestrictedJoins);
  return supported ? content : { join_rule: 'invite' };
}

/**
 * The replacement's power levels, as Synapse makes them: the old room's (every field written out, as
 * integers), with the upgrader raised just enough to send the copied state (`initial`), then put back
 * (`final`, the same object when no raise was needed). v12 creators have infinite power and may not be
 * listed in `users`; an old room's v12 creator upgrading to an older version keeps admin power.
 */
function newPowerLevels(
  upgrader: string,
  additionalCreators: ReadonlySet<string>,
  levels: PowerLevels,
  oldContent: Readonly<Record<string, unknown>> | undefined,
  oldRules: RoomVersionRules,
  newRules: RoomVersionRules,
): { initial: Readonly<Record<string, unknown>>; final: Readonly<Record<string, unknown>> } {
  const users: Record<string, number> = Object.fromEntries(levels.users);
  const needed = Math.max(levels.stateDefault, levels.ban, ...levels.events.values());
  if (newRules.privilegedCreators) {
    delete users[upgrader];
    for (const creator of additionalCreators) delete users[creator];
  } else if (oldRules.privilegedCreators && levels.creators.has(upgrader)) {
    users[upgrader] = Math.max(100, needed);
  }
  const final: Record<string, unknown> = {
    ...oldContent,
    ban: levels.ban,
    kick: levels.kick,
    redact: levels.redact,
    invite: levels.invite,
    events_default: levels.eventsDefault,
    state_default: levels.stateDefault,
    users_default: levels.usersDefault,
    events: Object.fromEntries(levels.events),
    notifications: Object.fromEntries(levels.notifications),
    users,
  };
  if (newRules.privilegedCreators) return { initial: final, final };
  const own = users[upgrader] ?? levels.usersDefault;
  if (own >= needed) return { initial: final, final };
  return { initial: { ...final, users: { ...users, [upgrader]: needed } }, final };
}
