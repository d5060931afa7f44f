import type { SigningKey } from '../crypto/index.js';
import {
  buildEvent,
  parseStateKey,
  stateKey,
  authEventsSelection,
  checkAuth,
  DEFAULT_ROOM_VERSION,
  getRoomVersion,
  powerLevelsContent,
  userPowerLevel,
  type EventDraft,
  type RoomEvent,
  type StateKey,
  type RoomVersionRules,
} from '../events/index.js';
import { isUserId, MatrixError, userIdServer } from '../protocol/index.js';
import type { Clock, Random } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { createRoomDrafts, type CreateRoomOptions } from './create-room.js';
import type { RoomNotifier, RoomRecord, RoomStore, RoomWrites } from './ports.js';

export interface RoomServerDeps {
  readonly store: RoomStore;
  readonly notifier: RoomNotifier;
  readonly log: Logger;
  readonly clock: Clock;
  readonly random: Random;
  readonly serverName: string;
  readonly signingKey: SigningKey;
  /** The version new rooms get when the request names none. */
  readonly defaultRoomVersion?: string;
}

export interface SentEvent {
  readonly event: RoomEvent;
  readonly streamPosition: number;
}

const CREATE_KEY = stateKey('m.room.create', '');
const JOIN_RULES_KEY = stateKey('m.room.join_rules', '');
const POWER_LEVELS_KEY = stateKey('m.room.power_levels', '');

/**
 * The room server for local writes: creating rooms, sending messages and state, and membership changes.
 * Each write holds the room's write lock for one transaction, builds the event on the current forward
 * extremities, checks it against the auth rules with the current state, persists it and moves the
 * extremities and the current state along, then tells the notifier once the transaction has committed.
 */
export function createRoomServer(deps: RoomServerDeps) {
  const { store, log } = deps;

  function rulesFor(version: string): RoomVersionRules {
    const rules = getRoomVersion(version);
    if (!rules) throw new MatrixError('M_UNSUPPORTED_ROOM_VERSION', `Room version '${version}' is not supported`);
    return rules;
  }

  async function roomOrThrow(reads: Pick<RoomWrites, 'room'>, roomId: string): Promise<RoomRecord> {
    const room = await reads.room(roomId);
    if (!room) throw new MatrixError('M_NOT_FOUND', `Unknown room ${roomId}`);
    return room;
  }

  /** Builds, authorises and persists one local event inside the room's write transaction. */
  async function appendLocal(
    tx: RoomWrites,
    roomId: string | undefined,
    rules: RoomVersionRules,
    draft: EventDraft,
    beforePersist?: (event: RoomEvent) => Promise<void>,
  ): Promise<SentEvent> {
    const extremityIds = roomId === undefined ? [] : await tx.forwardExtremities(roomId);
    const prevStored = await tx.events(extremityIds);
    const prevEvents = extremityIds.map((id) => prevStored.get(id)?.event).filter((e): e is RoomEvent => e !== undefined);

    const selection = authEventsSelection(
      { type: draft.type, stateKey: draft.stateKey, sender: draft.sender, content: draft.content },
      rules,
    );
    // Room version 12 lists no create event in auth_events, but the rules still read it.
    const wanted: StateKey[] = selection.includes(CREATE_KEY) ? selection : [...selection, CREATE_KEY];
    const state = new Map<StateKey, RoomEvent>();
    if (roomId !== undefined) {
      const entries = await tx.currentStateEntries(roomId, wanted);
      const stored = await tx.events([...entries.values()]);
      for (const [key, eventId] of entries) {
        const event = stored.get(eventId)?.event;
        if (event) state.set(key, event);
      }
    }
    const authEvents = selection.map((key) => state.get(key)).filter((e): e is RoomEvent => e !== undefined);

    const event = buildEvent(draft, {
      rules,
      roomId,
      origin: deps.serverName,
      key: deps.signingKey,
      now: deps.clock.now(),
      prevEvents,
      authEvents,
      eventIdLocalpart: randomLetters(deps.random, 18),
    });
    const verdict = checkAuth(event, (type, key) => state.get(stateKey(type, key)), rules);
    if (!verdict.allowed) {
      log.info({ roomId: event.roomId, type: event.type, sender: event.sender, reason: verdict.reason }, 'local event refused');
      throw new MatrixError('M_FORBIDDEN', verdict.reason);
    }
    await beforePersist?.(event);

    const [position] = await tx.persistEvents(event.roomId, [
      {
        event,
        outlier: false,
        rejectedReason: null,
        softFailed: false,
        stateBefore:
          extremityIds.length === 1
            ? { kind: 'after-event', eventId: extremityIds[0]!, changes: new Map() }
            : { kind: 'full', state: extremityIds.length === 0 ? new Map() : await tx.currentState(event.roomId) },
      },
    ]);
    if (position === null || position === undefined) throw new Error(`event ${event.eventId} was stored without a position`);
    await tx.setForwardExtremities(event.roomId, [event.eventId]);
    if (event.stateKey !== undefined) {
      await tx.updateCurrentState(event.roomId, new Map([[stateKey(event.type, event.stateKey), event.eventId]]));
    }
    return { event, streamPosition: position };
  }

  async function send(roomId: string, draft: EventDraft): Promise<SentEvent> {
    const sent = await store.withRoomWriteLock(roomId, async (tx) => {
      const room = await roomOrThrow(tx, roomId);
      return appendLocal(tx, roomId, rulesFor(room.roomVersion), draft);
    });
    deps.notifier.eventsPersisted(roomId, sent.streamPosition);
    return sent;
  }

  async function createRoom(options: CreateRoomOptions & { readonly roomVersion?: string }): Promise<{ roomId: string; events: RoomEvent[] }> {
    const rules = rulesFor(options.roomVersion ?? deps.defaultRoomVersion ?? DEFAULT_ROOM_VERSION);
    const drafts = createRoomDrafts(options, rules);
    const [createDraft, ...rest] = drafts;
    if (!createDraft) throw new Error('createRoomDrafts returned nothing');
    // v1-11 room ids are ours to choose; v12's is the create event's reference hash, known once it is built.
    const chosenRoomId = rules.roomIdFormat === 'server-generated' ? `!${randomLetters(deps.random, 18)}:${deps.serverName}` : undefined;
    const lockId = chosenRoomId ?? `create:${options.creator}`;
    let last = 0;
    const result = await store.withRoomWriteLock(lockId, async (tx) => {
      const create = await appendLocal(tx, chosenRoomId, rules, createDraft, async (event) => {
        if (await tx.room(event.roomId)) throw new MatrixError('M_ROOM_IN_USE', 'A room with this id already exists');
        await tx.createRoom({ roomId: event.roomId, roomVersion: rules.id, creator: options.creator });
      });
      const roomId = create.event.roomId;
      const events = [create.event];
      for (const draft of rest) {
        const sent = await appendLocal(tx, roomId, rules, draft);
        events.push(sent.event);
        last = sent.streamPosition;
      }
      return { roomId, events };
    });
    deps.notifier.eventsPersisted(result.roomId, last);
    log.info({ roomId: result.roomId, roomVersion: rules.id, events: result.events.length }, 'room created');
    return result;
  }

  function membership(roomId: string, sender: string, target: string, membershipValue: string, reason?: string, extra?: Record<string, unknown>) {
    const content: Record<string, unknown> = { ...extra, membership: membershipValue };
    if (reason !== undefined) content.reason = reason;
    return send(roomId, { type: 'm.room.member', stateKey: target, sender, content });
  }

  /** A local user joins a local room; restricted rooms are joined through a local member who may invite. */
  async function join(roomId: string, userId: string, extra?: Record<string, unknown>): Promise<SentEvent> {
    const authoriser = await restrictedJoinAuthoriser(roomId, userId);
    return membership(roomId, userId, userId, 'join', undefined, {
      ...extra,
      ...(authoriser ? { join_authorised_via_users_server: authoriser } : {}),
    });
  }

  /**
   * For a restricted join rule, a local member with invite power vouches for the joiner when the joiner
   * is in one of the allowed rooms. Returns undefined when the join needs no vouching (public room, or
   * already invited or joined).
   */
  async function restrictedJoinAuthoriser(roomId: string, userId: string): Promise<string | undefined> {
    const memberKey = stateKey('m.room.member', userId);
    const entries = await store.currentStateEntries(roomId, [JOIN_RULES_KEY, memberKey, POWER_LEVELS_KEY, CREATE_KEY]);
    const stored = await store.events([...entries.values()]);
    const eventAt = (key: StateKey) => {
      const id = entries.get(key);
      return id === undefined ? undefined : stored.get(id)?.event;
    };
    const joinRule = eventAt(JOIN_RULES_KEY)?.content.join_rule;
    if (joinRule !== 'restricted' && joinRule !== 'knock_restricted') return undefined;
    const ownMembership = eventAt(memberKey)?.content.membership;
    if (ownMembership === 'invite' || ownMembership === 'join') return undefined;

    const allow = eventAt(JOIN_RULES_KEY)?.content.allow;
    const allowedRooms = (Array.isArray(allow) ? allow : [])
      .filter((entry): entry is { type: string; room_id: string } =>
        typeof entry === 'object' && entry !== null && (entry as { type?: unknown }).type === 'm.room_membership' && typeof (entry as { room_id?: unknown }).room_id === 'string')
      .map((entry) => entry.room_id);
    let satisfied = false;
    for (const allowed of allowedRooms) {
      const membershipIn = await store.currentStateEntries(allowed, [memberKey]);
      const id = membershipIn.get(memberKey);
      if (id !== undefined && (await store.events([id])).get(id)?.event.content.membership === 'join') {
        satisfied = true;
        break;
      }
    }
    if (!satisfied) throw new MatrixError('M_FORBIDDEN', 'You are not a member of any room this room admits members of');

    const room = await roomOrThrow(store, roomId);
    const rules = rulesFor(room.roomVersion);
    const lookup = (type: string, key: string) => eventAt(stateKey(type, key));
    const levels = powerLevelsContent(lookup, rules);
    const state = await store.currentState(roomId);
    const localMembers = [...state]
      .filter(([key]) => {
        const [type, member] = parseStateKey(key);
        return type === 'm.room.member' && isUserId(member) && userIdServer(member) === deps.serverName;
      })
      .map(([, eventId]) => eventId);
    for (const { event } of (await store.events(localMembers)).values()) {
      if (event.content.membership !== 'join' || event.stateKey === undefined) continue;
      if (userPowerLevel(event.stateKey, lookup, rules) >= levels.invite) return event.stateKey;
    }
    throw new MatrixError('M_UNABLE_TO_GRANT_JOIN', 'No member of this server can admit you to this room');
  }

  return {
    createRoom,
    send,
    join,
    leave: (roomId: string, userId: string, reason?: string) => membership(roomId, userId, userId, 'leave', reason),
    invite: (roomId: string, sender: string, target: string, reason?: string) => membership(roomId, sender, target, 'invite', reason),
    knock: (roomId: string, userId: string, reason?: string) => membership(roomId, userId, userId, 'knock', reason),
    kick: (roomId: string, sender: string, target: string, reason?: string) => membership(roomId, sender, target, 'leave', reason),
    ban: (roomId: string, sender: string, target: string, reason?: string) => membership(roomId, sender, target, 'ban', reason),
    unban: (roomId: string, sender: string, target: string, reason?: string) => membership(roomId, sender, target, 'leave', reason),
  };
}

export type RoomServer = ReturnType<typeof createRoomServer>;

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

function randomLetters(random: Random, length: number): string {
  const bytes = random.bytes(length);
  let out = '';
  for (const byte of bytes) out += LETTERS[byte % LETTERS.length];
  return out;
}
