import { performance } from 'node:perf_hooks';
import { encodeBase64, isPlainObject, signBytes, signableJson, withSignature, type SigningKey } from '../crypto/index.js';
import {
  authEventsSelection,
  buildEvent,
  checkAuth,
  checkContentHash,
  getRoomVersion,
  parsePdu,
  parseStateKey,
  PduFormatError,
  redactEvent,
  requiredSignatureServers,
  stateKey,
  verifyEventSignature,
  type PduJson,
  type RoomEvent,
  type RoomVersionRules,
  type StateKey,
  type StateMap,
  STRIPPED_STATE_TYPES,
} from '../events/index.js';
import { isUserId, MatrixError, parseRoomId, parseUserId, userIdServer } from '../protocol/index.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { FederationReads, JoinState } from './federation-reads.js';
import type { KeyLookup, RoomNotifier, RoomRecord, RoomStore, StoredEvent } from './ports.js';
import type { ReceiveOutcome, ReceivePipeline } from './receive.js';
import type { RoomServer } from './room-server.js';
import { admitsGuests, GUEST_ACCESS_KEY } from './guest-access.js';
import { serverAclAllows } from './server-acl.js';

/**
 * The resident server's side of the membership handshakes (server-server API: "Joining Rooms", "Knocking
 * upon a room", "Leaving Rooms", "Inviting to a room", "Restricted rooms"):
 *
 * - make_join / make_leave / make_knock: an unsigned template on the room's forward extremities, with the
 *   auth events the rules want, that passes auth now (a template that would be refused is refused here);
 * - send_join / send_leave / send_knock: the event signed by the asking server, checked to be exactly the
 *   membership asked for, signed by us too when we authorise a restricted join, then run through the
 *   receive pipeline like any remote PDU and relayed to the room's other servers (the joiner's server
 *   cannot: it is not in the room yet);
 * - invite: a remote room invites one of our users; we check and countersign the event and keep it, so the
 *   user sees the invite in /sync with the stripped state the inviting server sent.
 */

export interface FederationMembershipDeps {
  readonly store: RoomStore;
  readonly receive: Pick<ReceivePipeline, 'receivePdu'>;
  readonly reads: Pick<FederationReads, 'joinState'>;
  /** Remote servers' keys: an invite for a room we are not in is checked here, not by the pipeline. */
  readonly keys: KeyLookup;
  readonly notifier: RoomNotifier;
  readonly restrictedJoinAuthoriser: RoomServer['restrictedJoinAuthoriser'];
  readonly log: Logger;
  readonly clock: Clock;
  readonly serverName: string;
  readonly signingKey: SigningKey;
  /** Whether a server admin blocked the room: no joins or knocks through this server, no invites of its users. */
  readonly roomBlocked?: (roomId: string) => Promise<boolean>;
  /** Queues an accepted event for the room's servers but `except` (the federation sender's relayEvent). */
  readonly relay?: (eventId: string, except: readonly string[]) => Promise<void>;
  /** The users a local user ignores: their invites are refused. */
  readonly ignoredUsers?: (userId: string) => Promise<ReadonlySet<string>>;
  /** Whether a local user blocks every invite (m.invite_permission_config): M_INVITE_BLOCKED. */
  readonly invitesBlocked?: (userId: string) => Promise<boolean>;
  readonly localUserExists?: (userId: string) => Promise<boolean>;
}

export type HandshakeMembership = 'join' | 'leave' | 'knock';

/** An unsigned event for the asking server to complete, and the room's version. */
export interface MembershipTemplate {
  readonly room_version: string;
  readonly event: PduJson;
}

export interface InviteRequest {
  /** Absent for the v1 API (rooms of versions 1 and 2): the room's version if known here, else 1. */
  readonly roomVersion: string | undefined;
  readonly event: unknown;
  /** The inviting server's help to show the room: PDUs (v1.16) or, from older servers, stripped events. */
  readonly inviteRoomState: readonly unknown[];
}

const CREATE_KEY = stateKey('m.room.create', '');
const JOIN_RULES_KEY = stateKey('m.room.join_rules', '');
const ACL_KEY = stateKey('m.room.server_acl', '');


/** Our room, which the asking server may reach: it exists, its ACL lets the origin in, a local user is joined. */
interface ResidentRoom {
  readonly roomId: string;
  readonly record: RoomRecord;
  readonly rules: RoomVersionRules;
  readonly state: StateMap;
}

function serverOf(userId: string): string | undefined {
  return isUserId(userId) ? userIdServer(userId) : undefined;
}

export function createFederationMembership(deps: FederationMembershipDeps) {
  const { store, serverName, log } = deps;

  function rulesOf(record: RoomRecord): RoomVersionRules {
    const rules = getRoomVersion(record.roomVersion);
    if (!rules) throw new MatrixError('M_NOT_FOUND', `Room ${record.roomId} is of a version this server no longer supports`);
    return rules;
  }

  async function contentAt(state: StateMap, key: StateKey): Promise<Readonly<Record<string, unknown>> | undefined> {
    const id = state.get(key);
    return id === undefined ? undefined : (await store.events([id])).get(id)?.event.content;
  }

  /** The room, if this server is in it and the origin may take part; refuses otherwise. */
  async function residentRoom(origin: string, roomIdValue: string): Promise<ResidentRoom> {
    const roomId = parseRoomId(roomIdValue);
    const record = await store.room(roomId);
    if (!record) throw new MatrixError('M_NOT_FOUND', `Room ${roomId} is not known to this server`);
    const rules = rulesOf(record);
    const state = await store.currentState(roomId);
    if (!serverAclAllows(await contentAt(state, ACL_KEY), origin)) {
      throw new MatrixError('M_FORBIDDEN', `Server ${origin} is denied access to room ${roomId} by the room's server ACL`);
    }
    if (!(await localJoined(state))) {
      throw new MatrixError('M_NOT_FOUND', `This server has no joined member in room ${roomId}; ask another resident server`);
    }
    return { roomId, record, rules, state };
  }

  /** Whether one of our users is joined in the state. */
  async function localJoined(state: StateMap): Promise<boolean> {
    const localMembers = [...state].filter(([key]) => {
      const [type, member] = parseStateKey(key);
      return type === 'm.room.member' && serverOf(member) === serverName;
    });
    const members = await store.events(localMembers.map(([, id]) => id));
    return [...members.values()].some((m) => m.event.content.membership === 'join');
  }

  function requireVersion(room: ResidentRoom, versions: readonly string[]): void {
    if (!versions.includes(room.record.roomVersion)) {
      throw new MatrixError('M_INCOMPATIBLE_ROOM_VERSION', `Room ${room.roomId} is of version ${room.record.roomVersion}, which your server does not support`, {
        extra: { room_version: room.record.roomVersion },
      });
    }
  }

  /**
   * For a join to a restricted room: the local member who vouches for the user, or undefined when the join
   * needs no vouching. M_UNABLE_TO_AUTHORISE_JOIN when this server knows none of the rooms the rule allows.
   */
  async function authoriserFor(room: ResidentRoom, userId: string): Promise<string | undefined> {
    try {
      return await deps.restrictedJoinAuthoriser(room.roomId, userId);
    } catch (err) {
      if (!(err instanceof MatrixError) || err.errcode !== 'M_FORBIDDEN') throw err;
      const allow = (await contentAt(room.state, JOIN_RULES_KEY))?.allow;
      const allowed = (Array.isArray(allow) ? allow : []).map((entry) => (isPlainObject(entry) ? entry.room_id : undefined));
      const known = await Promise.all(allowed.map(async (id) => typeof id === 'string' && (await store.room(id)) !== undefined));
      if (!known.includes(true)) {
        throw new MatrixError('M_UNABLE_TO_AUTHORISE_JOIN', 'This server knows none of the rooms that admit members to this room; try another server');
      }
      throw err;
    }
  }

  /** make_*: a template for the origin's user on the room's extremities; refused unless it would pass auth now. */
  async function makeTemplate(origin: string, roomIdValue: string, userIdValue: string, membership: HandshakeMembership, versions?: readonly string[]): Promise<MembershipTemplate> {
    const userId = parseUserId(userIdValue);
    if (userIdServer(userId) !== origin) throw new MatrixError('M_FORBIDDEN', `Server ${origin} may only ask for its own users' membership events`);
    const room = await residentRoom(origin, roomIdValue);
    if (versions !== undefined) requireVersion(room, versions);
    const { rules, roomId } = room;
    if (await deps.roomBlocked?.(roomId)) throw new MatrixError('M_FORBIDDEN', `Room ${roomId} has been blocked by ${serverName}'s admins`);

    const content: Record<string, unknown> = { membership };
    if (membership === 'join' && rules.restrictedJoins) {
      const authoriser = await authoriserFor(room, userId);
      if (authoriser !== undefined) content.join_authorised_via_users_server = authoriser;
    }
    const draft = { type: 'm.room.member', stateKey: userId, sender: userId, content };
    const extremityIds = await store.forwardExtremities(roomId);
    const selection = authEventsSelection(draft, rules);
    const keys = selection.includes(CREATE_KEY) ? selection : [...selection, CREATE_KEY];
    const entries = await store.currentStateEntries(roomId, keys);
    const loaded = await store.events([...extremityIds, ...entries.values()]);
    const byKey = new Map<StateKey, RoomEvent>();
    for (const [key, id] of entries) {
      const event = loaded.get(id)?.event;
      if (event) byKey.set(key, event);
    }
    // Built and signed as ours only to run the auth rules on it; what goes out is its unsigned skeleton.
    const probe = buildEvent(draft, {
      rules,
      roomId,
      origin: serverName,
      key: deps.signingKey,
      now: deps.clock.now(),
      prevEvents: extremityIds.map((id) => loaded.get(id)?.event).filter((e): e is RoomEvent => e !== undefined),
      authEvents: selection.map((key) => byKey.get(key)).filter((e): e is RoomEvent => e !== undefined),
      eventIdLocalpart: 'template',
    });
    const verdict = checkAuth(probe, (type, key) => byKey.get(stateKey(type, key)), rules);
    if (!verdict.allowed) {
      log.info({ roomId, origin, membership, reason: verdict.reason }, 'membership template refused');
      throw new MatrixError('M_FORBIDDEN', `${userId} may not ${membership === 'leave' ? 'leave' : membership} room ${roomId}: ${verdict.reason}`);
    }
    const { hashes: _h, signatures: _s, event_id: _e, unsigned: _u, ...skeleton } = probe.pdu;
    const template: Record<string, unknown> = { ...skeleton };
    if (Object.hasOwn(template, 'origin')) template.origin = origin;
    return { room_version: rules.id, event: template };
  }

  /** Checks that the PDU is the origin's own `membership` event for the room, named as the path names it. */
  function parseMembershipEvent(origin: string, room: { roomId: string; rules: RoomVersionRules }, eventIdValue: string, json: unknown, membership: string): RoomEvent {
    // Unsigned is not malformed but forbidden: nothing says the event is the origin's (Synapse: 403).
    if (isPlainObject(json) && (!isPlainObject(json.signatures) || !isPlainObject(json.hashes))) {
      throw new MatrixError('M_FORBIDDEN', 'The event carries no signatures or hashes: it must be signed by its sender\'s server');
    }
    let event: RoomEvent;
    try {
      event = parsePdu(json, room.rules);
    } catch (err) {
      if (err instanceof PduFormatError) throw new MatrixError('M_BAD_JSON', `The event is not a valid PDU of room version ${room.rules.id}: ${err.message}`);
      throw err;
    }
    const wrong = (why: string) => new MatrixError('M_INVALID_PARAM', why);
    if (event.eventId !== eventIdValue) throw wrong(`The event's id is ${event.eventId}, not ${eventIdValue} as the path says`);
    if (event.roomId !== room.roomId) throw wrong(`The event belongs to ${event.roomId}, not ${room.roomId}`);
    if (event.type !== 'm.room.member') throw wrong(`The event must be an m.room.member event, not ${event.type}`);
    if (event.content.membership !== membership) throw wrong(`The event's membership must be ${membership}`);
    // Speaking for another server's user is not a malformed request but a forbidden one (Synapse: 403).
    if (serverOf(event.sender) !== origin) throw new MatrixError('M_FORBIDDEN', `Server ${origin} may only send membership events of its own users`);
    if (membership !== 'invite' && event.stateKey !== event.sender) throw wrong("The event's state_key must be its sender");
    return event;
  }

  /** Adds this server's signature, keeping every other field (and so the event id) as it is. */
  function countersign(pdu: PduJson, rules: RoomVersionRules): PduJson {
    const signature = encodeBase64(signBytes(deps.signingKey, signableJson(redactEvent(pdu, rules))));
    return withSignature(pdu, serverName, deps.signingKey.keyId, signature);
  }

  /** The pipeline's verdict as the asking server hears it; an accepted (or already accepted) event returns. */
  async function accepted(outcome: ReceiveOutcome, eventId: string): Promise<void> {
    switch (outcome.status) {
      case 'accepted':
        return;
      case 'duplicate': {
        const stored = (await store.events([eventId])).get(eventId);
        if (stored && stored.rejectedReason === null && !stored.softFailed && !stored.outlier) return;
        throw new MatrixError('M_FORBIDDEN', 'This event was refused before');
      }
      case 'missing':
        throw new MatrixError('M_INVALID_PARAM', 'The event refers to events this server does not have; ask make_* for a fresh template');
      case 'soft-failed':
        throw new MatrixError('M_FORBIDDEN', `The room's current state does not allow this event: ${outcome.reason}`);
      case 'rejected':
        // Bad signatures included: an event its servers did not sign is not theirs to send (Synapse: 403).
        throw new MatrixError('M_FORBIDDEN', `The event was refused: ${outcome.reason}`);
      default:
        throw new Error(`a live membership event came back from the pipeline as ${outcome.status}`);
    }
  }

  /** send_*: checks the event, countersigns a restricted join we authorise, persists it and relays it. */
  async function sendMembership(origin: string, roomIdValue: string, eventIdValue: string, json: unknown, membership: HandshakeMembership) {
    const room = await residentRoom(origin, roomIdValue);
    const event = parseMembershipEvent(origin, room, eventIdValue, json, membership);
    // Guests are their server's notion; one that marks its guest's join (as Synapse does) is told the room's rule.
    if (membership === 'join' && event.content.kind === 'guest' && !admitsGuests(await contentAt(room.state, GUEST_ACCESS_KEY))) {
      throw new MatrixError('M_FORBIDDEN', `Room ${room.roomId} does not admit guests (m.room.guest_access is not can_join)`);
    }
    let pdu = event.pdu;
    let countersigned = false;
    const authoriser = event.content.join_authorised_via_users_server;
    if (membership === 'join' && room.rules.restrictedJoins && isUserId(authoriser) && userIdServer(authoriser) === serverName) {
      // We vouch for the joiner: check the room's allow rule ourselves (the auth rules check only the power).
      await authoriserFor(room, event.sender);
      if (!checkContentHash(pdu)) throw new MatrixError('M_INVALID_PARAM', "The event's content hash does not match its content");
      pdu = countersign(pdu, room.rules);
      countersigned = true;
    }
    await accepted(await deps.receive.receivePdu(room.roomId, pdu, origin), event.eventId);
    log.info({ roomId: room.roomId, eventId: event.eventId, origin, membership }, 'membership handshake accepted');
    // The origin has the event; the room's other servers hear of it from us.
    await deps.relay?.(event.eventId, [origin]).catch((err: unknown) => log.warn({ err, roomId: room.roomId, eventId: event.eventId }, 'could not queue a handshake event for the room'));
    return { room, event, pdu, countersigned };
  }

  /** The state events a knocker is shown, as stored. */
  async function knockRoomState(roomId: string): Promise<PduJson[]> {
    const keys = STRIPPED_STATE_TYPES.map((type) => stateKey(type, ''));
    const entries = await store.currentStateEntries(roomId, keys);
    const stored = await store.events([...entries.values()]);
    return keys.map((key) => entries.get(key)).map((id) => (id === undefined ? undefined : stored.get(id))).filter((e): e is StoredEvent => e !== undefined).map((e) => e.event.pdu);
  }

  /** The sender's server (and for v1-2 the event id's) must have signed the invite; we sign after. */
  async function checkInviteSignatures(event: RoomEvent, rules: RoomVersionRules): Promise<void> {
    for (const server of requiredSignatureServers(event, rules)) {
      if (server === serverName) continue;
      const byKey = isPlainObject(event.pdu.signatures) ? event.pdu.signatures[server] : undefined;
      let verified = false;
      for (const keyId of isPlainObject(byKey) ? Object.keys(byKey) : []) {
        if (!keyId.startsWith('ed25519:')) continue;
        const key = await deps.keys.verifyKey(server, keyId);
        if (!key || (rules.enforcesKeyValidityPeriod && key.validUntilTs < event.originServerTs)) continue;
        if (verifyEventSignature(event.pdu, server, keyId, key.key, rules)) {
          verified = true;
          break;
        }
      }
      if (!verified) throw new MatrixError('M_FORBIDDEN', `The invite carries no valid signature from ${server}`);
    }
    if (!checkContentHash(event.pdu)) throw new MatrixError('M_INVALID_PARAM', "The invite's content hash does not match its content");
  }

  /**
   * invite_room_state as stripped events. v12 rooms must send PDUs of the room, the create event among them
   * (v1.16); earlier versions may still send stripped events, which are kept if well formed.
   */
  function strippedInviteState(roomId: string, rules: RoomVersionRules, entries: readonly unknown[]): Array<Record<string, unknown>> {
    const strict = rules.roomIdFormat === 'create-event-hash';
    const out: Array<Record<string, unknown>> = [];
    for (const entry of entries) {
      if (strict) {
        let event: RoomEvent;
        try {
          event = parsePdu(entry, rules);
        } catch (err) {
          if (err instanceof PduFormatError) throw new MatrixError('M_INVALID_PARAM', `invite_room_state holds an event that is not a PDU of version ${rules.id}: ${err.message}`);
          throw err;
        }
        if (event.roomId !== roomId) throw new MatrixError('M_INVALID_PARAM', `invite_room_state holds an event of room ${event.roomId}`);
      }
      if (!isPlainObject(entry) || typeof entry.type !== 'string' || typeof entry.sender !== 'string' || !isPlainObject(entry.content)) continue;
      if (typeof entry.state_key !== 'string') continue;
      out.push({ type: entry.type, state_key: entry.state_key, sender: entry.sender, content: entry.content });
    }
    if (strict && !out.some((e) => e.type === 'm.room.create' && e.state_key === '')) {
      throw new MatrixError('M_MISSING_PARAM', 'invite_room_state must hold the room\'s m.room.create event');
    }
    return out;
  }

  /**
   * Keeps an invite to a room this server is not in: the room gets a record (its version, so the user can
   * join later) and the invite a place on the events stream with no state before it, as the user's
   * membership in the room's current state. The stripped state rides in the stored event's unsigned.
   */
  async function keepOutsideInvite(roomId: string, rules: RoomVersionRules, pdu: PduJson, stripped: ReadonlyArray<Record<string, unknown>>): Promise<void> {
    const unsigned = isPlainObject(pdu.unsigned) ? pdu.unsigned : {};
    const event = parsePdu({ ...pdu, unsigned: { ...unsigned, invite_room_state: stripped } }, rules);
    const invitee = event.stateKey as string;
    const create = stripped.find((e) => e.type === 'm.room.create');
    const createContent = isPlainObject(create?.content) ? create.content : {};
    const creator = !rules.creatorIsSender && typeof createContent.creator === 'string' ? createContent.creator : typeof create?.sender === 'string' ? create.sender : event.sender;
    const position = await store.withRoomWriteLock(roomId, async (tx) => {
      if ((await tx.events([event.eventId])).has(event.eventId)) return null;
      const record = await tx.room(roomId);
      if (!record) await tx.createRoom({ roomId, roomVersion: rules.id, creator });
      const before = record ? await tx.currentState(roomId) : new Map<StateKey, string>();
      const [pos] = await tx.persistEvents(roomId, [{ event, outlier: false, rejectedReason: null, softFailed: false, stateBefore: { kind: 'full', state: before } }]);
      await tx.updateCurrentState(roomId, new Map([[stateKey('m.room.member', invitee), event.eventId]]));
      return pos ?? null;
    });
    if (position !== null) deps.notifier.eventsPersisted(roomId, position, [invitee]);
  }

  return {
    /** GET /v1/make_join: `versions` are the origin's (the spec's default is ["1"]). */
    makeJoin: (origin: string, roomId: string, userId: string, versions: readonly string[] = ['1']) => makeTemplate(origin, roomId, userId, 'join', versions),
    makeLeave: (origin: string, roomId: string, userId: string) => makeTemplate(origin, roomId, userId, 'leave'),
    makeKnock: (origin: string, roomId: string, userId: string, versions: readonly string[]) => makeTemplate(origin, roomId, userId, 'knock', versions),

    /** PUT /send_join: the state before the join and its auth chain; `event` when we countersigned it. */
    async sendJoin(origin: string, roomId: string, eventId: string, json: unknown, omitMembers: boolean): Promise<JoinState & { event?: PduJson }> {
      const started = performance.now();
      const { room, event, pdu, countersigned } = await sendMembership(origin, roomId, eventId, json, 'join');
      const accepted = performance.now();
      const joinState = await deps.reads.joinState(room.roomId, event.eventId, omitMembers);
      // The joining server's wait, split (bench/remote-join.ts reads it); the answer's encoding comes after.
      log.info({ roomId: room.roomId, origin, stateEvents: joinState.state.length, authChainEvents: joinState.authChain.length,
        timings: { acceptMs: Math.round((accepted - started) * 10) / 10, answerMs: Math.round((performance.now() - accepted) * 10) / 10 } }, 'send_join answered');
      return countersigned ? { ...joinState, event: pdu } : joinState;
    },

    async sendLeave(origin: string, roomId: string, eventId: string, json: unknown): Promise<void> {
      await sendMembership(origin, roomId, eventId, json, 'leave');
    },

    /** PUT /send_knock: the room's stripped-state set, as PDUs (v1.16), for the knocker to show the room. */
    async sendKnock(origin: string, roomId: string, eventId: string, json: unknown): Promise<PduJson[]> {
      const { room } = await sendMembership(origin, roomId, eventId, json, 'knock');
      return knockRoomState(room.roomId);
    },

    /** PUT /invite: checks an invite of one of our users, countersigns it, keeps it, and returns it signed. */
    async invite(origin: string, roomIdValue: string, eventIdValue: string, request: InviteRequest): Promise<PduJson> {
      const roomId = parseRoomId(roomIdValue);
      if (await deps.roomBlocked?.(roomId)) throw new MatrixError('M_FORBIDDEN', `Room ${roomId} has been blocked by ${serverName}'s admins`);
      const record = await store.room(roomId);
      const version = request.roomVersion ?? record?.roomVersion ?? '1';
      const rules = getRoomVersion(version);
      if (!rules) {
        throw new MatrixError('M_INCOMPATIBLE_ROOM_VERSION', `This server does not support room version ${version}`, { extra: { room_version: version } });
      }
      const event = parseMembershipEvent(origin, { roomId, rules }, eventIdValue, request.event, 'invite');
      const invitee = event.stateKey;
      if (invitee === undefined || serverOf(invitee) !== serverName) throw new MatrixError('M_INVALID_PARAM', `The invitee must be a user of ${serverName}`);
      if (deps.localUserExists && !(await deps.localUserExists(invitee))) throw new MatrixError('M_NOT_FOUND', `There is no user ${invitee} on ${serverName}`);
      if (record && record.roomVersion !== rules.id) throw new MatrixError('M_INVALID_PARAM', `Room ${roomId} is of version ${record.roomVersion}, not ${rules.id}`);
      const state = record ? await store.currentState(roomId) : new Map<StateKey, string>();
      if (!serverAclAllows(await contentAt(state, ACL_KEY), origin)) {
        throw new MatrixError('M_FORBIDDEN', `Server ${origin} is denied access to room ${roomId} by the room's server ACL`);
      }
      if ((await deps.ignoredUsers?.(invitee))?.has(event.sender)) throw new MatrixError('M_FORBIDDEN', `${invitee} does not accept invites from ${event.sender}`);
      if (await deps.invitesBlocked?.(invitee)) throw new MatrixError('M_INVITE_BLOCKED', `${invitee} does not accept invites`);
      await checkInviteSignatures(event, rules);
      const stripped = strippedInviteState(roomId, rules, request.inviteRoomState);
      const signed = countersign(event.pdu, rules);

      if (record && (await localJoined(state))) {
        // We are in the room: the invite is a PDU of its DAG like any other.
        const outcome = await deps.receive.receivePdu(roomId, signed, origin);
        // Events we lack come with the inviting server's /send, which will carry this invite again.
        if (outcome.status !== 'missing') await accepted(outcome, event.eventId);
      } else {
        await keepOutsideInvite(roomId, rules, signed, stripped);
      }
      log.info({ roomId, eventId: event.eventId, origin }, 'remote invite accepted');
      return signed;
    },
  };
}

export type FederationMembership = ReturnType<typeof createFederationMembership>;
