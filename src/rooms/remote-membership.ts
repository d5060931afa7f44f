import { performance } from 'node:perf_hooks';
import { isPlainObject, type SigningKey } from '../crypto/index.js';
import {
  checkAuth,
  getRoomVersion,
  parsePdu,
  PduFormatError,
  ROOM_VERSIONS,
  signEvent,
  stateKey,
  type RoomEvent,
  type RoomVersionRules,
  type StateKey,
  STRIPPED_STATE_TYPES,
} from '../events/index.js';
import type { HttpMethod } from '../protocol/endpoint.js';
import { isUserId, MatrixError, RelayedMatrixError, serverNameOf, userIdServer, type RoomId, type UserId } from '../protocol/index.js';
import type { Clock, Random } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { KeyLookup, RoomNotifier, RoomReads, RoomStore } from './ports.js';
import { admitsGuests, GUEST_ACCESS_KEY } from './guest-access.js';
import { checkAuthChain, passOnRefusal, relayedRefusal, RemoteAnswerError, signatureProblem, verifiedPdus } from './remote-pdus.js';

/**
 * The client side of federated membership: a local user joins, knocks on, leaves or rejects an invite to a
 * room whose resident servers are elsewhere (server-server-api "Joining Rooms", "Knocking upon a room",
 * "Leaving Rooms (Rejecting Invites)"). Each asks one server after another for a template (make_*), fills
 * it in, signs it and hands it back (send_*). A join's answer (the room's state and auth chain) is checked
 * whole before anything is stored; then the room, the state as outliers and the join go in one transaction.
 * Federation requests never run inside a database transaction (the embedded engine has one connection).
 */

/** The signed federation client, as this service needs it (src/federation's FederationClient fits). */
export interface FederationRequests {
  request<T>(destination: string, method: HttpMethod, path: string, options?: { query?: Readonly<Record<string, string | readonly string[] | undefined>>; body?: Record<string, unknown>; timeoutMs?: number }): Promise<T>;
}

export interface RemoteMembershipDeps {
  readonly store: RoomStore;
  readonly federation: FederationRequests;
  readonly keys: KeyLookup;
  readonly notifier: RoomNotifier;
  readonly log: Logger;
  readonly clock: Clock;
  readonly random: Random;
  readonly serverName: string;
  readonly signingKey: SigningKey;
  readonly memberProfile?: (userId: string) => Promise<Readonly<Record<string, string>>>;
  /** The room server's prepare: builds and authorises a local event without storing it (invites). */
  readonly prepare: (roomId: string, draft: { type: string; stateKey: string; sender: string; content: Record<string, unknown> }) => Promise<{ event: RoomEvent; roomVersion: string }>;
  /** The receive pipeline: a countersigned invite enters the room as a PDU. */
  readonly receive: { receivePdu(roomId: string, pdu: unknown, origin: string): Promise<{ status: string; reason?: string }> };
}

interface Template {
  readonly event?: unknown;
  readonly room_version?: unknown;
}

const SUPPORTED_VERSIONS = [...ROOM_VERSIONS.keys()];
/** The state types shown with an invite (the spec's recommended stripped state). */
const TIMEOUT_MS = 30_000;
/** The room versions the v1 invite API can carry (it has no room_version: the invitee assumes 1 or 2). */
const V1_INVITE_ROOM_VERSIONS: ReadonlySet<string> = new Set(['1', '2']);
/**
 * A make_* answer without room_version whose template cites events by bare id: not 1 or 2, whatever the
 * spec's default says. The first version of that event format is assumed so the event can be sent; the
 * create event in the send_join answer then says what the room really is (Dendrite reads it the same way).
 */
const ID_REFERENCES_VERSION = '4';
const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

const enc = encodeURIComponent;
const memberKey = (userId: string) => stateKey('m.room.member', userId);

export function createRemoteMembership(deps: RemoteMembershipDeps) {
  const { store, federation, log, serverName } = deps;

  /**
   * The servers a join is going through right now, with how many joins each: until the join's state is
   * written, nothing here shares a room with their users, though those servers already treat this one as
   * a room-mate (their members' presence comes at once).
   */
  const joiningThrough = new Map<string, number>();
  const through = (server: string, step: 1 | -1) => {
    const count = (joiningThrough.get(server) ?? 0) + step;
    if (count > 0) joiningThrough.set(server, count);
    else joiningThrough.delete(server);
  };

  /** Whether a local user is joined to the room: then the room is ours too and memberships are local events. */
  function hasLocalMember(roomId: string): Promise<boolean> {
    return store.hasJoinedMember(roomId, serverName);
  }

  /** The user's current member event in the room, if this server knows one. */
  async function ownMemberEvent(reads: Pick<RoomReads, 'currentStateEntries' | 'events'>, roomId: string, userId: string): Promise<RoomEvent | undefined> {
    const id = (await reads.currentStateEntries(roomId, [memberKey(userId)])).get(memberKey(userId));
    return id === undefined ? undefined : (await reads.events([id])).get(id)?.event;
  }

  /** Servers to ask, in order: the caller's, then whoever invited the user, then the room id's domain; never this one. */
  async function candidates(roomId: string, userId: string, given: readonly string[]): Promise<string[]> {
    const found = [...given];
    const own = await ownMemberEvent(store, roomId, userId);
    if (own && (own.content.membership === 'invite' || own.content.membership === 'knock') && isUserId(own.sender)) found.push(userIdServer(own.sender));
    const domain = serverNameOf(roomId as RoomId);
    if (domain !== undefined) found.push(domain);
    return [...new Set(found)].filter((server) => server !== serverName);
  }

  function randomLetters(length: number): string {
    let out = '';
    for (const byte of deps.random.bytes(length)) out += LETTERS[byte % LETTERS.length];
    return out;
  }

  /** The template filled in for this server: fresh timestamp, our origin, the content asked for, hashed and signed. */
  function fillTemplate(server: string, template: unknown, rules: RoomVersionRules, roomId: string, userId: string, membership: string, content: Record<string, unknown>): RoomEvent {
    if (typeof template !== 'object' || template === null) throw new RemoteAnswerError(server, 'the template is not an event');
    const { event_id: _id, hashes: _h, signatures: _s, unsigned: _u, ...fields } = template as Record<string, unknown>;
    if (fields.type !== 'm.room.member' || fields.state_key !== userId || fields.sender !== userId || fields.room_id !== roomId) {
      throw new RemoteAnswerError(server, `the ${membership} template is not a membership event of ${userId} in ${roomId}`);
    }
    const given = typeof fields.content === 'object' && fields.content !== null ? (fields.content as Record<string, unknown>) : {};
    const pdu: Record<string, unknown> = { ...fields, origin_server_ts: deps.clock.now(), content: { ...content, ...given, membership } };
    if (rules.keepsOriginMembershipAndPrevState) pdu.origin = serverName;
    else delete pdu.origin;
    if (rules.eventIdFormat === 'server-generated') pdu.event_id = `$${randomLetters(18)}:${serverName}`;
    try {
      return parsePdu(signEvent(pdu, serverName, deps.signingKey, rules), rules);
    } catch (err) {
      if (err instanceof PduFormatError) throw new RemoteAnswerError(server, `the ${membership} template makes an invalid event: ${err.message}`);
      throw err;
    }
  }

  /** make_join / make_knock / make_leave: the template and the room's version (refusing one we cannot handle). */
  async function makeTemplate(server: string, kind: 'join' | 'knock' | 'leave', roomId: string, userId: string): Promise<{ template: unknown; rules: RoomVersionRules }> {
    const answer = await federation.request<Template>(server, 'GET', `/_matrix/federation/v1/make_${kind}/${enc(roomId)}/${enc(userId)}`, {
      ...(kind === 'leave' ? {} : { query: { ver: SUPPORTED_VERSIONS } }),
      timeoutMs: TIMEOUT_MS,
    });
    const version = typeof answer.room_version === 'string' ? answer.room_version : citesBareIds(answer.event) ? ID_REFERENCES_VERSION : '1';
    const rules = getRoomVersion(version);
    if (!rules) throw new MatrixError('M_UNSUPPORTED_ROOM_VERSION', `Room ${roomId} has version ${version}, which this server does not support`);
    return { template: answer.event, rules };
  }

  /**
   * Asks each server in turn; the first that answers wins. The first refusal is passed on as the resident
   * server gave it (M_FORBIDDEN with its message, any other 4xx errcode with its status too); a version this
   * server cannot handle stops the attempt; a bad answer is 502; else (no server reached) M_NOT_FOUND.
   */
  async function tryServers<T>(servers: readonly string[], what: string, roomId: string, attempt: (server: string) => Promise<T>): Promise<T> {
    if (servers.length === 0) throw new MatrixError('M_NOT_FOUND', `No server to ask about room ${roomId}; give one with server_name or via`);
    let refusal: MatrixError | undefined;
    let badAnswer: RemoteAnswerError | undefined;
    for (const server of servers) {
      try {
        return await attempt(server);
      } catch (err) {
        const { remoteErrcode: errcode, remoteRoomVersion: version } = err as { remoteErrcode?: string; remoteRoomVersion?: string };
        if (errcode === 'M_INCOMPATIBLE_ROOM_VERSION' || errcode === 'M_UNSUPPORTED_ROOM_VERSION') {
          throw new MatrixError(
            'M_INCOMPATIBLE_ROOM_VERSION',
            `Room ${roomId} has ${version === undefined ? 'a version' : `version ${version}, which`} this server does not support`,
            version === undefined ? {} : { extra: { room_version: version } },
          );
        }
        if (err instanceof MatrixError && err.errcode === 'M_UNSUPPORTED_ROOM_VERSION') throw err;
        refusal ??= passOnRefusal(err, `${server} refused to let you ${what}`) ?? relayedRefusal(err, `${server} refused to let you ${what}`);
        if (err instanceof RemoteAnswerError) badAnswer ??= err;
        log.info({ roomId, server, what, reason: err instanceof Error ? err.message : String(err) }, 'remote membership attempt failed');
      }
    }
    if (refusal) throw refusal;
    // A resident server whose answer does not check out (forged signatures, a broken auth chain): said plainly.
    if (badAnswer) throw new MatrixError('M_UNKNOWN', `Could not ${what} room ${roomId}: the answer of ${badAnswer.message}`, { status: 502 });
    throw new MatrixError('M_NOT_FOUND', `No server could ${what} room ${roomId} (asked ${servers.join(', ')})`);
  }

  /** A local user joins a room held elsewhere: make_join, send_join, check the answer, store the room. */
  async function join(userId: UserId, roomId: string, via: readonly string[], extra: Readonly<Record<string, unknown>> = {}, options: { readonly guest?: boolean } = {}): Promise<string> {
    const servers = await candidates(roomId, userId, via);
    const profile = (await deps.memberProfile?.(userId)) ?? {};
    // A guest's join says so (as Synapse marks it), so that a resident server can refuse it before it is in.
    const content = { ...profile, ...extra, ...(options.guest === true ? { kind: 'guest' } : {}) };
    // Where a join's time goes, for the log line below (bench/remote-join.ts reads it): the last attempt's.
    const timings = { fetchMs: 0, verifyMs: 0, resolveMs: 0, persistMs: 0 };
    for (const server of servers) through(server, 1);
    try {
      return await joinThrough(userId, roomId, servers, content, options, timings);
    } finally {
      for (const server of servers) through(server, -1);
    }
  }

  async function joinThrough(
    userId: UserId,
    roomId: string,
    servers: readonly string[],
    content: Readonly<Record<string, unknown>>,
    options: { readonly guest?: boolean },
    timings: { fetchMs: number; verifyMs: number; resolveMs: number; persistMs: number },
  ): Promise<string> {
    const joined = await tryServers(servers, 'join', roomId, async (server) => {
      const started = performance.now();
      const { template, rules } = await makeTemplate(server, 'join', roomId, userId);
      const ours = fillTemplate(server, template, rules, roomId, userId, 'join', content);
      const answer = await sendJoin(server, roomId, ours);
      timings.fetchMs = performance.now() - started;
      return { server, rules, ...(await checkJoinAnswer(server, answer, ours, rules, roomId, timings)) };
    });
    if (options.guest === true && !admitsGuests(guestSetting(joined))) await refuseGuest(userId, roomId, joined.server);
    const persistStarted = performance.now();
    const position = await store.withRoomWriteLock(roomId, async (tx) => {
      const room = await tx.room(roomId);
      if (room && room.roomVersion !== joined.rules.id) throw new MatrixError('M_INCOMPATIBLE_ROOM_VERSION', `Room ${roomId} changed version; it cannot be joined`);
      if (!room) await tx.createRoom({ roomId, roomVersion: joined.rules.id, creator: joined.create.sender });
      await tx.persistEvents(roomId, joined.outliers.map((event) => ({ event, outlier: true, rejectedReason: null, softFailed: false, stateBefore: null })));
      const [at] = await tx.persistEvents(roomId, [
        { event: joined.join, outlier: false, rejectedReason: null, softFailed: false, stateBefore: { kind: 'full', state: joined.state } },
      ]);
      if (at === null || at === undefined) throw new Error(`join ${joined.join.eventId} was stored without a position`);
      await tx.setForwardExtremities(roomId, [joined.join.eventId]);
      await tx.setCurrentState(roomId, new Map(joined.state).set(memberKey(userId), joined.join.eventId));
      return at;
    });
    timings.persistMs = performance.now() - persistStarted;
    deps.notifier.eventsPersisted(roomId, position, [userId]);
    log.info({ roomId, userId, server: joined.server, stateEvents: joined.state.size, timings: roundedTimings(timings) }, 'joined remote room');
    return roomId;
  }

  /** The m.room.guest_access content in a checked send_join answer's state, if any. */
  function guestSetting(joined: { readonly state: ReadonlyMap<StateKey, string>; readonly outliers: readonly RoomEvent[] }): Readonly<Record<string, unknown>> | undefined {
    const id = joined.state.get(GUEST_ACCESS_KEY);
    return id === undefined ? undefined : joined.outliers.find((event) => event.eventId === id)?.content;
  }

  /**
   * PUT send_join, v2; v1 for a server that does not know v2 (404 or M_UNRECOGNIZED), whose answer comes
   * in the spec's odd `[200, { state, auth_chain }]` shape.
   */
  async function sendJoin(server: string, roomId: string, ours: RoomEvent): Promise<Record<string, unknown>> {
    const path = (version: string) => `/_matrix/federation/${version}/send_join/${enc(roomId)}/${enc(ours.eventId)}`;
    const body = ours.pdu as Record<string, unknown>;
    try {
      return await federation.request<Record<string, unknown>>(server, 'PUT', path('v2'), { body, timeoutMs: TIMEOUT_MS });
    } catch (err) {
      if (!unrecognised(err)) throw err;
    }
    const container = v1Answer(await federation.request<unknown>(server, 'PUT', path('v1'), { body, timeoutMs: TIMEOUT_MS }));
    if (container === undefined) throw new RemoteAnswerError(server, 'the v1 send_join answer holds no state');
    return container;
  }

  /** The send_join answer, checked: signatures and hashes, the auth chain, the create event, the join against the state. */
  async function checkJoinAnswer(server: string, answer: Record<string, unknown>, ours: RoomEvent, rules: RoomVersionRules, roomId: string, timings: { verifyMs: number; resolveMs: number }) {
    const started = performance.now();
    let join = ours;
    if (answer.event !== undefined) {
      // A restricted join comes back signed by the server that vouched for it too.
      const returned = (await verifiedPdus(server, [answer.event], roomId, rules, deps.keys, 'the returned join'))[0]!;
      if (returned.eventId !== ours.eventId) throw new RemoteAnswerError(server, 'the returned join is not the join this server sent');
      join = returned;
    }
    // A forged event among the state or auth chain is left out rather than failing the join (as Synapse
    // does); what is left must still hold up: the create event, a complete auth chain, the join allowed.
    const dropForged = (eventId: string, problem: string) => log.warn({ roomId, server, eventId, problem }, 'send_join answer: event with a bad signature left out');
    const state = await verifiedPdus(server, answer.state, roomId, rules, deps.keys, 'state', dropForged);
    const authChain = await verifiedPdus(server, answer.auth_chain, roomId, rules, deps.keys, 'auth_chain', dropForged);
    const create = state.find((event) => event.type === 'm.room.create' && event.stateKey === '');
    if (!create) throw new RemoteAnswerError(server, 'the room state has no m.room.create event');
    const createVersion = typeof create.content.room_version === 'string' ? create.content.room_version : '1';
    if (!getRoomVersion(createVersion)) throw new MatrixError('M_UNSUPPORTED_ROOM_VERSION', `Room ${roomId} has version ${createVersion}, which this server does not support`);
    if (createVersion !== rules.id) throw new RemoteAnswerError(server, `the room's create event says version ${createVersion}, make_join said ${rules.id}`);
    const unique = new Map<string, RoomEvent>();
    for (const event of [...authChain, ...state]) unique.set(event.eventId, event);
    const outliers = [...unique.values()].sort((a, b) => a.depth - b.depth);
    checkAuthChain(server, [...outliers, join], rules);
    const verified = performance.now();
    timings.verifyMs = verified - started;
    const byKey = new Map<StateKey, RoomEvent>();
    for (const event of state) if (event.stateKey !== undefined) byKey.set(stateKey(event.type, event.stateKey), event);
    const verdict = checkAuth(join, (type, key) => byKey.get(stateKey(type, key)), rules);
    if (!verdict.allowed) throw new RemoteAnswerError(server, `the join is not allowed by the room's state: ${verdict.reason}`);
    const stateIds = new Map<StateKey, string>([...byKey].map(([key, event]) => [key, event.eventId]));
    timings.resolveMs = performance.now() - verified;
    return { join, create, outliers, state: stateIds as ReadonlyMap<StateKey, string> };
  }

  /** make_leave and send_leave through one server: the leave it took. */
  async function leaveThrough(server: string, userId: UserId, roomId: string, content: Record<string, unknown>): Promise<{ event: RoomEvent; version: string }> {
    const { template, rules } = await makeTemplate(server, 'leave', roomId, userId);
    const ours = fillTemplate(server, template, rules, roomId, userId, 'leave', content);
    await federation.request(server, 'PUT', `/_matrix/federation/v2/send_leave/${enc(roomId)}/${enc(ours.eventId)}`, { body: ours.pdu as Record<string, unknown>, timeoutMs: TIMEOUT_MS });
    return { event: ours, version: rules.id };
  }

  /**
   * The resident server let a guest of this server into a room whose state does not admit guests (it cannot
   * tell guests apart, or does not police them): the guest leaves again at once, and the join is refused.
   */
  async function refuseGuest(userId: UserId, roomId: string, server: string): Promise<never> {
    try {
      const { event, version } = await leaveThrough(server, userId, roomId, {});
      // An invite held here gives way to the leave; a room not held here stays unknown.
      if (await store.room(roomId)) await storeOwnMembership(userId, roomId, event, version, '');
    } catch (err) {
      log.warn({ err, roomId, userId, server }, 'a guest let into a room that does not admit guests could not leave it');
    }
    throw new MatrixError('M_FORBIDDEN', `Room ${roomId} does not admit guests (m.room.guest_access is not can_join); register a full account to join it`);
  }

  /**
   * A user of this server only invited to (or knocking on) a room held elsewhere leaves: make_leave and
   * send_leave through the inviting server, then the leave is stored so /sync moves the room to leave. When
   * no server answers, the leave is stored here alone, after the invite: the user is rid of it either way.
   */
  async function leave(userId: UserId, roomId: string, reason?: string, via: readonly string[] = []): Promise<void> {
    const current = await ownMemberEvent(store, roomId, userId);
    const content: Record<string, unknown> = reason === undefined ? {} : { reason };
    let event: RoomEvent;
    let version: string;
    try {
      ({ event, version } = await tryServers(await candidates(roomId, userId, via), 'leave', roomId, (server) => leaveThrough(server, userId, roomId, content)));
    } catch (err) {
      // No server reached, or one refused for a reason other than M_FORBIDDEN: the user is rid of the invite anyway.
      const noneTookIt = err instanceof RelayedMatrixError || (err instanceof MatrixError && err.errcode === 'M_NOT_FOUND');
      if (!current || !noneTookIt) throw err;
      const room = await store.room(roomId);
      const rules = room && getRoomVersion(room.roomVersion);
      if (!rules) throw err;
      event = fillTemplate(serverName, {
        type: 'm.room.member', state_key: userId, sender: userId, room_id: roomId, content: {},
        depth: current.depth + 1, prev_events: [eventRef(current, rules)], auth_events: [eventRef(current, rules)],
      }, rules, roomId, userId, 'leave', content);
      version = rules.id;
      log.info({ roomId, userId }, 'no server took the leave; left here only');
    }
    await storeOwnMembership(userId, roomId, event, version, '');
  }

  /** A knock on a room held elsewhere: make_knock, send_knock; the knock is kept with the room's stripped state for /sync. */
  async function knock(userId: UserId, roomId: string, via: readonly string[], reason?: string): Promise<string> {
    const servers = await candidates(roomId, userId, via);
    const { event, strippedState, create, rules } = await tryServers(servers, 'knock on', roomId, async (server) => {
      const { template, rules } = await makeTemplate(server, 'knock', roomId, userId);
      const ours = fillTemplate(server, template, rules, roomId, userId, 'knock', reason === undefined ? {} : { reason });
      const answer = await federation.request<{ knock_room_state?: unknown }>(server, 'PUT', `/_matrix/federation/v1/send_knock/${enc(roomId)}/${enc(ours.eventId)}`, {
        body: ours.pdu as Record<string, unknown>,
        timeoutMs: TIMEOUT_MS,
      });
      const stripped = strippedEvents(answer.knock_room_state);
      return { event: ours, strippedState: stripped, create: stripped.find((e) => e.type === 'm.room.create'), rules };
    });
    // Unsigned is outside the hashes and signatures: the stripped state rides along with the knock for /sync.
    const withState = parsePdu({ ...event.pdu, unsigned: { knock_room_state: strippedState } }, rules);
    await storeOwnMembership(userId, roomId, withState, rules.id, create?.sender ?? '');
    return roomId;
  }

  /**
   * Stores the user's own leave or knock (signed here, accepted by the resident server) on the events
   * stream with the state this server knows before it, and makes it the user's current membership.
   */
  async function storeOwnMembership(userId: string, roomId: string, event: RoomEvent, roomVersion: string, creator: string): Promise<void> {
    const position = await store.withRoomWriteLock(roomId, async (tx) => {
      if (!(await tx.room(roomId))) await tx.createRoom({ roomId, roomVersion, creator });
      const before = await tx.currentState(roomId);
      const [at] = await tx.persistEvents(roomId, [{ event, outlier: false, rejectedReason: null, softFailed: false, stateBefore: { kind: 'full', state: before } }]);
      if (at === null || at === undefined) throw new Error(`membership ${event.eventId} was stored without a position`);
      await tx.updateCurrentState(roomId, new Map([[memberKey(userId), event.eventId]]));
      return at;
    });
    deps.notifier.eventsPersisted(roomId, position, [userId]);
  }

  /**
   * Invites a user of another server into a room held here: the invite is built and authorised here, the
   * invitee's server countersigns it (invite v2, with the room's stripped state), and the countersigned event
   * then enters the room like any PDU, through the receive pipeline.
   */
  async function invite(roomId: string, sender: string, target: UserId, reason?: string, isDirect?: boolean, thirdPartyInvite?: Readonly<Record<string, unknown>>): Promise<void> {
    const content: Record<string, unknown> = {
      membership: 'invite',
      ...(reason === undefined ? {} : { reason }),
      ...(isDirect ? { is_direct: true } : {}),
      // A third-party invite's identity-server-signed part (third-party-invites.ts).
      ...(thirdPartyInvite === undefined ? {} : { third_party_invite: thirdPartyInvite }),
    };
    const { event, roomVersion } = await deps.prepare(roomId, { type: 'm.room.member', stateKey: target, sender, content });
    const rules = getRoomVersion(roomVersion)!;
    const server = userIdServer(target);
    const inviteState = await inviteRoomState(roomId, sender);
    let answer: { event?: unknown };
    try {
      answer = await federation.request<{ event?: unknown }>(server, 'PUT', `/_matrix/federation/v2/invite/${enc(roomId)}/${enc(event.eventId)}`, {
        body: { event: event.pdu as Record<string, unknown>, room_version: roomVersion, invite_room_state: inviteState },
        timeoutMs: TIMEOUT_MS,
      });
    } catch (err) {
      const fallback = V1_INVITE_ROOM_VERSIONS.has(roomVersion) && unrecognised(err);
      answer = fallback ? await inviteV1(server, roomId, event, inviteState).catch((v1Err: unknown) => refused(v1Err)) : refused(err);
    }
    function refused(err: unknown): never {
      const errcode = (err as { remoteErrcode?: string }).remoteErrcode;
      if (errcode === 'M_INCOMPATIBLE_ROOM_VERSION') throw new MatrixError('M_UNSUPPORTED_ROOM_VERSION', `${server} does not support this room's version ${roomVersion}`);
      log.info({ roomId, server, errcode, reason: err instanceof Error ? err.message : String(err) }, 'invite not delivered');
      // The invitee's server speaks for its user (M_FORBIDDEN, M_INVITE_BLOCKED ...): its 4xx is passed on.
      throw passOnRefusal(err, `${server} refused the invite`) ?? relayedRefusal(err, `${server} refused the invite`) ??
        new MatrixError('M_UNKNOWN', errcode ? `${server} refused the invite (${errcode})` : `${server} could not be reached to deliver the invite`, { status: 502 });
    }
    let returned: RoomEvent;
    try {
      returned = parsePdu(answer.event, rules);
    } catch (err) {
      // Synapse's answer too: the invite cannot be made, as the event it would be is not valid JSON for the room.
      if (err instanceof PduFormatError) throw new MatrixError('M_BAD_JSON', `${server} answered the invite with an event that is not valid for room version ${roomVersion}: ${err.message}`);
      throw err;
    }
    const problem = await signatureProblem(returned, rules, deps.keys);
    const countersigned = (returned.pdu.signatures as Record<string, unknown> | undefined)?.[server] !== undefined;
    if (returned.eventId !== event.eventId || problem || !countersigned) {
      log.warn({ roomId, server, eventId: event.eventId, problem }, 'invite came back altered or not countersigned');
      throw new MatrixError('M_UNKNOWN', `${server} did not countersign the invite`, { status: 502 });
    }
    const outcome = await deps.receive.receivePdu(roomId, returned.pdu, serverName);
    if (outcome.status !== 'accepted' && outcome.status !== 'duplicate') {
      throw new MatrixError('M_FORBIDDEN', `The invite could not be stored: ${outcome.reason ?? outcome.status}`);
    }
  }

  /**
   * The v1 invite, for a server without v2 (room versions 1 and 2 only, which v1 assumes): the event itself
   * as the body, the stripped state under unsigned.invite_room_state, and `[200, { event }]` as the answer.
   */
  async function inviteV1(server: string, roomId: string, event: RoomEvent, inviteState: ReadonlyArray<Readonly<Record<string, unknown>>>): Promise<{ event?: unknown }> {
    const unsigned = isPlainObject(event.pdu.unsigned) ? event.pdu.unsigned : {};
    const body = { ...(event.pdu as Record<string, unknown>), unsigned: { ...unsigned, invite_room_state: strippedEvents(inviteState) } };
    return v1Answer(await federation.request<unknown>(server, 'PUT', `/_matrix/federation/v1/invite/${enc(roomId)}/${enc(event.eventId)}`, { body, timeoutMs: TIMEOUT_MS })) ?? {};
  }

  /**
   * The state an invite carries so the invitee can show the room: the preview state events, as full PDUs
   * (since Matrix 1.16 the invitee's server checks them, and the create event must be there), and the
   * inviter's member event (who invites, with their name and avatar), as Synapse sends.
   */
  async function inviteRoomState(roomId: string, inviter: string): Promise<Array<Readonly<Record<string, unknown>>>> {
    const keys = [...STRIPPED_STATE_TYPES.map((type) => stateKey(type, '')), stateKey('m.room.member', inviter)];
    const entries = await store.currentStateEntries(roomId, keys);
    const stored = await store.events([...entries.values()]);
    return [...entries.values()].map((id) => stored.get(id)?.event).filter((e): e is RoomEvent => e !== undefined).map((e) => e.pdu);
  }

  /** A room alias of another server, asked of that server (query/directory): the room and servers to join through. */
  async function resolveAlias(alias: string): Promise<{ roomId: string; servers: string[] }> {
    const server = alias.slice(alias.indexOf(':') + 1);
    let answer: { room_id?: unknown; servers?: unknown };
    try {
      answer = await federation.request(server, 'GET', '/_matrix/federation/v1/query/directory', { query: { room_alias: alias }, timeoutMs: TIMEOUT_MS });
    } catch (err) {
      if ((err as { remoteErrcode?: string }).remoteErrcode === 'M_NOT_FOUND') throw new MatrixError('M_NOT_FOUND', `Room alias ${alias} not found`);
      log.info({ alias, server, reason: err instanceof Error ? err.message : String(err) }, 'remote alias lookup failed');
      throw new MatrixError('M_NOT_FOUND', `Room alias ${alias} could not be looked up on ${server}`);
    }
    if (typeof answer.room_id !== 'string' || !answer.room_id.startsWith('!')) throw new MatrixError('M_NOT_FOUND', `${server} gave no room for ${alias}`);
    const servers = Array.isArray(answer.servers) ? answer.servers.filter((s): s is string => typeof s === 'string') : [];
    return { roomId: answer.room_id, servers: servers.length > 0 ? servers : [server] };
  }

  return {
    hasLocalMember,
    resolveAlias,
    join,
    leave,
    knock,
    invite,
    ownMemberEvent: (roomId: string, userId: string) => ownMemberEvent(store, roomId, userId),
    /** Whether a local user's join is going through the server right now (asked or about to be). */
    joiningThrough: (server: string): boolean => joiningThrough.has(server),
  };
}

export type RemoteMembership = ReturnType<typeof createRemoteMembership>;

interface StrippedEvent {
  readonly type: string;
  readonly state_key: string;
  readonly sender: string;
  readonly content: Readonly<Record<string, unknown>>;
}

/** The object in a v1 invite or send_join answer: the spec's odd `[200, { ... }]` (a bare object is taken too). */
function v1Answer(answer: unknown): Record<string, unknown> | undefined {
  const container = Array.isArray(answer) ? answer[1] : answer;
  return isPlainObject(container) ? container : undefined;
}

/** Whether a template cites its prev_events or auth_events by bare event id (room versions 3 on), not [id, hashes]. */
function citesBareIds(template: unknown): boolean {
  if (!isPlainObject(template)) return false;
  const refs = [template.prev_events, template.auth_events].flatMap((list) => (Array.isArray(list) ? list : []));
  return refs.length > 0 && refs.every((ref) => typeof ref === 'string');
}

/** A server that does not know the endpoint: 404, or M_UNRECOGNIZED with whatever status. */
function unrecognised(err: unknown): boolean {
  const { remoteStatus, remoteErrcode } = err as { remoteStatus?: number; remoteErrcode?: string };
  return remoteErrcode === 'M_UNRECOGNIZED' || (remoteStatus === 404 && remoteErrcode === undefined);
}

/** Stripped state from another server, keeping only well-formed entries. */
function strippedEvents(value: unknown): StrippedEvent[] {
  if (!Array.isArray(value)) return [];
  return value.filter((e): e is StrippedEvent =>
    typeof e === 'object' && e !== null && typeof e.type === 'string' && typeof e.state_key === 'string' && typeof e.sender === 'string' &&
    typeof e.content === 'object' && e.content !== null)
    .map((e) => ({ type: e.type, state_key: e.state_key, sender: e.sender, content: e.content }));
}

/** Phase durations to a tenth of a millisecond, for the log. */
function roundedTimings(timings: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(timings).map(([phase, ms]) => [phase, Math.round(ms * 10) / 10]));
}

/** How an event cites another: its id, or (v1-2) [id, hashes]. */
function eventRef(event: RoomEvent, rules: RoomVersionRules): unknown {
  return rules.eventIdFormat === 'server-generated' ? [event.eventId, (event.pdu as { hashes?: unknown }).hashes ?? {}] : event.eventId;
}
