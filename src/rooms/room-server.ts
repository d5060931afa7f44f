import { CanonicalJsonError, encodeCanonicalJson, type SigningKey } from '../crypto/index.js';
import {
  buildEvent,
  MAX_PDU_BYTES,
  parseStateKey,
  PduFormatError,
  stateKey,
  authEventsSelection,
  checkAuth,
  DEFAULT_ROOM_VERSION,
  getRoomVersion,
  needsPolicySignature,
  POLICY_KEY,
  powerLevelsContent,
  userPowerLevel,
  type BuildContext,
  type PolicyServer,
  type EventDraft,
  type RoomEvent,
  type StateKey,
  type RoomVersionRules,
} from '../events/index.js';
import { isUserId, MatrixError, userIdServer } from '../protocol/index.js';
import type { Clock, Random } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { createRoomDrafts, type CreateRoomOptions } from './create-room.js';
import { policySigned, roomPolicyServer, type PolicySigner } from './policy-servers.js';
import type { NewEvent, RoomNotifier, RoomReads, RoomRecord, RoomStore, RoomWrites, TransactionKey } from './ports.js';

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
  /** Asks a room's policy server to sign what is sent there (policy-servers.ts); absent: such rooms refuse sends. */
  readonly policySigner?: PolicySigner;
  /** A local user's displayname and avatar_url, which their joins carry (the profile service's). */
  readonly memberProfile?: (userId: string) => Promise<Readonly<Record<string, string>>>;
}

export interface SendOptions {
  /** The client's transaction: a retransmission returns the first event instead of sending again. */
  readonly txn?: Omit<TransactionKey, 'roomId'>;
  /** Checked inside the room's write lock, before the event is built; throws to refuse. */
  readonly precondition?: (reads: RoomReads) => Promise<void>;
}

export interface SentEvent {
  readonly event: RoomEvent;
  readonly streamPosition: number;
}

/** An event built on the room's heads, not yet stored; `policy`: the room's policy server must sign it first. */
interface BuiltEvent {
  readonly event: RoomEvent;
  readonly extremityIds: string[];
  readonly policy?: PolicyServer | undefined;
}

/** Times a send builds its event again when the room moved on while its policy server signed. */
const MAX_POLICY_ATTEMPTS = 3;

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id) => b.includes(id));
}

const CREATE_KEY = stateKey('m.room.create', '');
const JOIN_RULES_KEY = stateKey('m.room.join_rules', '');
const POWER_LEVELS_KEY = stateKey('m.room.power_levels', '');

/**
 * The current state buildLocal reads for an event that is not state (a message, a redaction) by `sender`,
 * in every room version: its auth events' keys, the create event and the room's policy server.
 */
function messageReadKeys(sender: string): StateKey[] {
  return [CREATE_KEY, POWER_LEVELS_KEY, stateKey('m.room.member', sender), POLICY_KEY];
}

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

  /** Builds and authorises one local event on the room's current extremities and state, storing nothing. */
  async function buildLocal(
    tx: RoomReads,
    roomId: string | undefined,
    rules: RoomVersionRules,
    draft: EventDraft,
  ): Promise<BuiltEvent> {
    const selection = authEventsSelection(
      { type: draft.type, stateKey: draft.stateKey, sender: draft.sender, content: draft.content },
      rules,
    );
    // Room version 12 lists no create event in auth_events, but the rules still read it; the room's
    // m.room.policy comes with them, at no extra round trip.
    const wanted: StateKey[] = [...selection, ...(selection.includes(CREATE_KEY) ? [] : [CREATE_KEY]), POLICY_KEY];
    // The extremities and the auth state are read together (one round trip on a transaction's connection),
    // then the events both name at once.
    const [extremityIds, entries] = roomId === undefined
      ? [[], new Map<StateKey, string>()]
      : await Promise.all([tx.forwardExtremities(roomId), tx.currentStateEntries(roomId, wanted)]);
    const stored = await tx.events([...extremityIds, ...entries.values()]);
    const prevEvents = extremityIds.map((id) => stored.get(id)?.event).filter((e): e is RoomEvent => e !== undefined);
    const state = new Map<StateKey, RoomEvent>();
    for (const [key, eventId] of entries) {
      const event = stored.get(eventId)?.event;
      if (event) state.set(key, event);
    }
    const authEvents = selection.map((key) => state.get(key)).filter((e): e is RoomEvent => e !== undefined);

    const event = buildChecked(draft, {
      rules,
      roomId,
      origin: deps.serverName,
      key: deps.signingKey,
      now: draft.originServerTs ?? deps.clock.now(),
      prevEvents,
      authEvents,
      eventIdLocalpart: randomLetters(deps.random, 18),
    });
    const verdict = checkAuth(event, (type, key) => state.get(stateKey(type, key)), rules);
    if (!verdict.allowed) {
      log.info({ roomId: event.roomId, type: event.type, sender: event.sender, reason: verdict.reason }, 'local event refused');
      throw new MatrixError('M_FORBIDDEN', verdict.reason);
    }
    const policyContent = state.get(POLICY_KEY)?.content;
    const policy = policyContent !== undefined && needsPolicySignature(event) ? await roomPolicyServer(tx, event.roomId, policyContent) : undefined;
    return { event, extremityIds, policy };
  }

  /** Builds, authorises and persists one local event inside the room's write transaction. */
  async function appendLocal(
    tx: RoomWrites,
    roomId: string | undefined,
    rules: RoomVersionRules,
    draft: EventDraft,
    hooks: {
      /** Runs before anything of the event is written (creating the room's row, say). */
      readonly before?: (event: RoomEvent) => Promise<void>;
      /** A write of the caller's that goes out together with the event's own rows. */
      readonly alongside?: (event: RoomEvent) => Promise<void>;
      /** Nothing follows in the transaction: it may commit with the event's statements (PersistOptions.last). */
      readonly last?: boolean;
      /** The event already being built (buildLocal on the same transaction): the caller started it early. */
      readonly built?: ReturnType<typeof buildLocal>;
    } = {},
  ): Promise<SentEvent> {
    const { event, extremityIds } = await (hooks.built ?? buildLocal(tx, roomId, rules, draft));
    await hooks.before?.(event);

    const stateBefore: NewEvent['stateBefore'] =
      extremityIds.length === 1
        ? { kind: 'after-event', eventId: extremityIds[0]!, changes: new Map() }
        : { kind: 'full', state: extremityIds.length === 0 ? new Map() : await tx.currentState(event.roomId) };
    // Storing the event takes the events-stream lock, which every room's writers share until this transaction
    // commits: the room's other rows go out first, together (one round trip on the transaction's connection,
    // where they run in order), so the lock is held for as few statements as can be. A whole state is the
    // exception: storing it reads the extremities as its likeliest parents, so they are replaced after it.
    const roomRows = () =>
      Promise.all([
        tx.setForwardExtremities(event.roomId, [event.eventId]),
        event.stateKey === undefined ? undefined : tx.updateCurrentState(event.roomId, new Map([[stateKey(event.type, event.stateKey), event.eventId]])),
        hooks.alongside?.(event),
      ]);
    const persist = (last: boolean) =>
      tx.persistEvents(event.roomId, [{ event, outlier: false, rejectedReason: null, softFailed: false, stateBefore }], { last, fresh: true });
    let positions: Array<number | null>;
    if (stateBefore.kind === 'full') {
      positions = await persist(false);
      await roomRows();
    } else {
      [, positions] = await Promise.all([roomRows(), persist(hooks.last === true)]);
    }
    const [position] = positions;
    if (position === null || position === undefined) throw new Error(`event ${event.eventId} was stored without a position`);
    return { event, streamPosition: position };
  }

  /**
   * Sends one local event. With a client transaction, a retransmission gets the first event back and
   * nothing new is written; the transaction's row commits with the event (the room's lock serialises both).
   */
  async function send(roomId: string, draft: EventDraft, options: SendOptions = {}): Promise<SentEvent> {
    // In a room with a policy server, the event built is signed by it outside the room's lock (no federation
    // request runs in a transaction), then stored if the room has not moved on meanwhile; else built again.
    let signed: BuiltEvent | undefined;
    for (let attempt = 1; ; attempt++) {
      const outcome = await sendOnce(roomId, draft, options, signed);
      if (!('unsigned' in outcome)) return outcome;
      if (attempt === MAX_POLICY_ATTEMPTS) {
        throw new MatrixError('M_UNKNOWN', `Room ${roomId} kept changing while its policy server signed the event; try again`, { status: 409 });
      }
      const { event, extremityIds, policy } = outcome.unsigned;
      signed = { event: await policySigned(deps.policySigner, policy!, event, outcome.rules), extremityIds, policy };
    }
  }

  async function sendOnce(roomId: string, draft: EventDraft, options: SendOptions, signed: BuiltEvent | undefined): Promise<SentEvent | { unsigned: BuiltEvent; rules: RoomVersionRules }> {
    // Object.assign, not a spread followed by a new key (slow in V8): once per message sent.
    const key = options.txn && Object.assign({}, options.txn, { roomId });
    type Outcome = { sent: SentEvent; repeated: boolean } | { unsigned: BuiltEvent; rules: RoomVersionRules };
    // A message (no state to compare, no precondition) reads only the room's extremities, its auth state
    // and the transaction id: they go out with the lock, and the event is built on their answers.
    const early = draft.stateKey === undefined && options.precondition === undefined;
    const prefetch = early ? { extremities: true, stateKeys: messageReadKeys(draft.sender), ...(key ? { transaction: key } : {}) } : undefined;
    const outcome = await store.withRoomWriteLock(roomId, async (tx): Promise<Outcome> => {
      const room = await roomOrThrow(tx, roomId);
      const rules = rulesFor(room.roomVersion);
      await options.precondition?.(tx);
      // A message (no state to compare, no precondition) is built while the transaction id is looked up: the
      // reads of both go out together. A retransmission, which is rare, drops the event built.
      const seenRead = key && tx.transactionEvent(key);
      const built = early ? buildLocal(tx, roomId, rules, draft) : undefined;
      built?.catch(() => undefined);
      const seen = await seenRead;
      if (seen !== undefined) {
        // Its reads finish inside the transaction, before the connection goes back to the pool.
        await built?.catch(() => undefined);
        const stored = (await tx.events([seen])).get(seen);
        if (!stored || stored.streamPosition === null) throw new Error(`transaction event ${seen} is not in the timeline`);
        return { sent: { event: stored.event, streamPosition: stored.streamPosition }, repeated: true };
      }
      const same = await sameState(tx, roomId, draft);
      if (same) {
        await built?.catch(() => undefined);
        if (key) await tx.recordTransaction(key, same.event.eventId);
        return { sent: same, repeated: true };
      }
      // An event the policy server signed stands while the room's heads are those it was built on.
      const ready = signed !== undefined && sameIds(await tx.forwardExtremities(roomId), signed.extremityIds) ? signed : undefined;
      if (ready) await built?.catch(() => undefined);
      const next = ready ?? (await (built ?? buildLocal(tx, roomId, rules, draft)));
      if (next.policy !== undefined && ready === undefined) return { unsigned: next, rules };
      // The transaction's row goes out with the event's room rows, before the events-stream lock is taken.
      const sent = await appendLocal(tx, roomId, rules, draft, {
        ...(key ? { alongside: (event: RoomEvent) => tx.recordTransaction(key, event.eventId) } : {}),
        built: Promise.resolve(next),
        last: true,
      });
      return { sent, repeated: false };
    }, prefetch && { prefetch });
    if ('unsigned' in outcome) return outcome;
    if (!outcome.repeated) deps.notifier.eventsPersisted(roomId, outcome.sent.streamPosition, membersSetBy([outcome.sent.event]));
    return outcome.sent;
  }

  /**
   * The current state event a state draft would repeat: same type, key, sender and content. Sending it
   * again changes nothing, so the existing event stands (Synapse dedupes the same way: setting a topic
   * twice, or joining a room one is in, makes no new event).
   */
  async function sameState(tx: RoomWrites, roomId: string, draft: EventDraft): Promise<SentEvent | undefined> {
    if (draft.stateKey === undefined) return undefined;
    const entry = stateKey(draft.type, draft.stateKey);
    const currentId = (await tx.currentStateEntries(roomId, [entry])).get(entry);
    const current = currentId === undefined ? undefined : (await tx.events([currentId])).get(currentId);
    if (!current || current.streamPosition === null || current.event.sender !== draft.sender) return undefined;
    try {
      if (encodeCanonicalJson(current.event.content) !== encodeCanonicalJson(draft.content)) return undefined;
    } catch (err) {
      // Content that is not canonical JSON (a float, say) is refused when the event is built.
      if (err instanceof CanonicalJsonError) return undefined;
      throw err;
    }
    return { event: current.event, streamPosition: current.streamPosition };
  }

  /**
   * A fresh id for a room of this version, for a caller that must name the room before creating it (an
   * upgrade's tombstone points at it); undefined for v12 on, whose room id is the create event's hash.
   */
  function newRoomId(roomVersion: string): string | undefined {
    return rulesFor(roomVersion).roomIdFormat === 'server-generated' ? `!${randomLetters(deps.random, 18)}:${deps.serverName}` : undefined;
  }

  /** `roomId`: one newRoomId gave (v1-11 only); otherwise a fresh one is chosen. */
  async function createRoom(options: CreateRoomOptions & { readonly roomVersion?: string; readonly roomId?: string }): Promise<{ roomId: string; events: RoomEvent[] }> {
    const rules = rulesFor(options.roomVersion ?? deps.defaultRoomVersion ?? DEFAULT_ROOM_VERSION);
    const creatorProfile = options.creatorProfile ?? (await deps.memberProfile?.(options.creator));
    const drafts = createRoomDrafts(creatorProfile ? { ...options, creatorProfile } : options, rules);
    const [createDraft, ...rest] = drafts;
    if (!createDraft) throw new Error('createRoomDrafts returned nothing');
    // v1-11 room ids are ours to choose; v12's is the create event's reference hash, known once it is built.
    if (options.roomId !== undefined && rules.roomIdFormat !== 'server-generated') throw new Error(`room version ${rules.id} does not take a chosen room id`);
    const chosenRoomId = options.roomId ?? newRoomId(rules.id);
    const lockId = chosenRoomId ?? `create:${options.creator}`;
    let last = 0;
    const result = await store.withRoomWriteLock(lockId, async (tx) => {
      const create = await appendLocal(tx, chosenRoomId, rules, createDraft, {
        before: async (event) => {
          if (await tx.room(event.roomId)) throw new MatrixError('M_ROOM_IN_USE', 'A room with this id already exists');
          await tx.createRoom({ roomId: event.roomId, roomVersion: rules.id, creator: options.creator });
        },
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
    deps.notifier.eventsPersisted(result.roomId, last, membersSetBy(result.events));
    log.info({ roomId: result.roomId, roomVersion: rules.id, events: result.events.length }, 'room created');
    return result;
  }

  function membership(
    roomId: string,
    sender: string,
    target: string,
    membershipValue: string,
    reason?: string,
    extra?: Record<string, unknown>,
    targetNow?: { readonly oneOf: readonly string[]; readonly otherwise: string },
  ) {
    const content: Record<string, unknown> = { ...extra, membership: membershipValue };
    if (reason !== undefined) content.reason = reason;
    // The auth rules allow a leave over any membership, so a kick would lift a ban and an unban would
    // kick a member: kick and unban say which membership they expect, checked under the room's lock.
    const precondition = targetNow && (async (reads: RoomReads) => {
      const current = (await currentMembership(reads, roomId, target)) ?? 'leave';
      if (!targetNow.oneOf.includes(current)) throw new MatrixError('M_FORBIDDEN', targetNow.otherwise);
    });
    return send(roomId, { type: 'm.room.member', stateKey: target, sender, content }, precondition ? { precondition } : {});
  }

  async function currentMembership(reads: RoomReads, roomId: string, userId: string): Promise<string | undefined> {
    const key = stateKey('m.room.member', userId);
    const eventId = (await reads.currentStateEntries(roomId, [key])).get(key);
    if (eventId === undefined) return undefined;
    const value = (await reads.events([eventId])).get(eventId)?.event.content.membership;
    return typeof value === 'string' ? value : undefined;
  }

  /** A local user joins a local room; restricted rooms are joined through a local member who may invite. */
  async function join(roomId: string, userId: string, extra?: Record<string, unknown>): Promise<SentEvent> {
    const authoriser = await restrictedJoinAuthoriser(roomId, userId);
    const profile = (await deps.memberProfile?.(userId)) ?? {};
    return membership(roomId, userId, userId, 'join', undefined, {
      ...profile,
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
    newRoomId,
    createRoom,
    send,
    join,
    leave: (roomId: string, userId: string, reason?: string) => membership(roomId, userId, userId, 'leave', reason),
    invite: (roomId: string, sender: string, target: string, reason?: string) => membership(roomId, sender, target, 'invite', reason),
    knock: (roomId: string, userId: string, reason?: string) => membership(roomId, userId, userId, 'knock', reason),
    kick: (roomId: string, sender: string, target: string, reason?: string) =>
      membership(roomId, sender, target, 'leave', reason, undefined, {
        oneOf: ['join', 'invite', 'knock'],
        otherwise: `${target} is not in the room (use unban to lift a ban)`,
      }),
    ban: (roomId: string, sender: string, target: string, reason?: string) => membership(roomId, sender, target, 'ban', reason),
    unban: (roomId: string, sender: string, target: string, reason?: string) =>
      membership(roomId, sender, target, 'leave', reason, undefined, { oneOf: ['ban'], otherwise: `${target} is not banned from the room` }),
    /**
     * Builds and authorises a local event without storing it (an invite for a user of another server, which
     * that server countersigns first; the countersigned event then comes in through the receive pipeline).
     */
    prepare: async (roomId: string, draft: EventDraft): Promise<{ event: RoomEvent; roomVersion: string }> =>
      store.withRoomWriteLock(roomId, async (tx) => {
        const room = await roomOrThrow(tx, roomId);
        const { event } = await buildLocal(tx, roomId, rulesFor(room.roomVersion), draft);
        return { event, roomVersion: room.roomVersion };
      }),
    /** The user's membership in the room's current state ('join', 'invite' ...), or undefined if none. */
    membershipOf: (roomId: string, userId: string) => currentMembership(store, roomId, userId),
    /** For a restricted room, the local member who vouches for the user's join (send_join serves remote joiners too). */
    restrictedJoinAuthoriser,
  };
}

export type RoomServer = ReturnType<typeof createRoomServer>;

/** buildEvent, with what a client can get wrong (size, non-canonical numbers, long types) as MatrixErrors. */
function buildChecked(draft: EventDraft, context: BuildContext): RoomEvent {
  try {
    return buildEvent(draft, context);
  } catch (err) {
    if (err instanceof PduFormatError) {
      const tooLarge = err.reason.includes(`more than ${MAX_PDU_BYTES}`);
      throw new MatrixError(tooLarge ? 'M_TOO_LARGE' : 'M_BAD_JSON', `The event would be invalid: ${err.reason}`);
    }
    if (err instanceof CanonicalJsonError) {
      throw new MatrixError('M_BAD_JSON', `The event content cannot be signed: ${err.message}`);
    }
    throw err;
  }
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

function randomLetters(random: Random, length: number): string {
  const bytes = random.bytes(length);
  let out = '';
  for (const byte of bytes) out += LETTERS[byte % LETTERS.length];
  return out;
}

/** The users whose membership these events set (the notifier wakes them even outside the room). */
function membersSetBy(events: readonly RoomEvent[]): string[] {
  return events.filter((event) => event.type === 'm.room.member' && event.stateKey !== undefined).map((event) => event.stateKey as string);
}
