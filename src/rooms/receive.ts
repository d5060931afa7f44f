import { isPlainObject } from '../crypto/index.js';
import {
  stateKey,
  stateKeyOf,
  authEventsSelection,
  checkAuth,
  checkAuthEvents,
  checkContentHash,
  getRoomVersion,
  hasPolicySignature,
  needsPolicySignature,
  parsePdu,
  PduFormatError,
  redactEvent,
  requiredSignatureServers,
  verifyEventSignature,
  type RoomEvent,
  type StateKey,
  type StateMap,
  type RoomVersionRules,
} from '../events/index.js';
import type { Logger } from '../platform/logger.js';
import type { KeyLookup, RoomNotifier, RoomStore, RoomWrites, StateInput, StoredEvent } from './ports.js';
import { policySigned, roomPolicyServer, type PolicySigner } from './policy-servers.js';
import { resolveStoredStates } from './resolution.js';

/** What became of a remote PDU. */
export type ReceiveOutcome =
  | { readonly status: 'accepted'; readonly eventId: string; readonly streamPosition: number }
  | { readonly status: 'soft-failed'; readonly eventId: string; readonly reason: string }
  /**
   * Refused. `stored`: kept as a rejected event (it failed the auth rules), so it is handled and never
   * checked again; otherwise nothing was kept (bad format or signatures, unusable state) and a better copy
   * may still be taken.
   */
  | { readonly status: 'rejected'; readonly eventId: string | undefined; readonly reason: string; readonly stored: boolean }
  | { readonly status: 'duplicate'; readonly eventId: string }
  /** The caller must fetch these (get_missing_events, /event_auth, /state_ids) and try again. */
  | { readonly status: 'missing'; readonly eventId: string; readonly missing: readonly string[] }
  /** Stored as an outlier (options.outlier): checked against its auth events, not part of the timeline. */
  | { readonly status: 'outlier'; readonly eventId: string };

/**
 * How a PDU reached us, beyond a server sending its own event live (the default).
 * - relayed: `origin` handed over another server's event (get_missing_events, /event, /state): the
 *   sender need not be of `origin`; signatures are what vouch for it.
 * - outlier: a state or auth event fetched to check others: checked against its own auth events only and
 *   stored outside the timeline.
 * - statesBeforePrevs: for prev events this server does not have, the ids of the state before each, as
 *   `origin` answered /state_ids. Every id must already be stored (as an outlier at least), not rejected,
 *   and in the room, and each prev event itself stored; the state before the event is then built from them
 *   (plus the prev event when it is a state event) rather than from stored state.
 * - backfillPosition: a historical event fetched by /backfill, older than every event on this server's
 *   timeline: checked against its auth events and the state before it, not against the current state
 *   (it is not news), stored at this (negative) position without touching the forward extremities or the
 *   current state, and announced to no one. A copy stored as an outlier before moves onto the timeline.
 */
export interface ReceiveOptions {
  readonly relayed?: boolean;
  readonly outlier?: boolean;
  readonly statesBeforePrevs?: ReadonlyMap<string, readonly string[]>;
  readonly backfillPosition?: number;
}

export interface ReceiveDeps {
  readonly store: RoomStore;
  readonly keys: KeyLookup;
  readonly notifier: RoomNotifier;
  readonly log: Logger;
  /**
   * What follows from an event accepted into the room's present (not backfill, not outliers), once it is
   * stored and announced: a revoked m.room.guest_access makes this server's guests leave (guest-access.ts).
   */
  readonly afterAccepted?: (event: RoomEvent) => Promise<void>;
  /** Asks a room's policy server for the signature an event arrived without (policy-servers.ts); absent: nobody is asked. */
  readonly policySigner?: PolicySigner;
}

const CREATE_KEY = stateKey('m.room.create', '');

/**
 * The receive pipeline for a PDU from another server (server-server-api "Checks performed on receipt of a
 * PDU"): format, signatures, content hash (redacting on mismatch), auth against its own auth events, auth
 * against the state before it, soft-fail against the current state; then persistence through the same
 * path as local events. Each refusal is logged with its reason; a refused event is never half-stored.
 */
export function createReceivePipeline(deps: ReceiveDeps) {
  const { store, log } = deps;

  async function receivePdu(roomId: string, json: unknown, origin: string, options: ReceiveOptions = {}): Promise<ReceiveOutcome> {
    const room = await store.room(roomId);
    if (!room) return refuse(undefined, `this server is not in room ${roomId}`);
    const rules = getRoomVersion(room.roomVersion);
    if (!rules) return refuse(undefined, `unsupported room version ${room.roomVersion}`);

    let event: RoomEvent;
    try {
      const relayed = options.relayed === true || options.outlier === true || options.backfillPosition !== undefined;
      event = parsePdu(json, rules, relayed ? {} : { origin });
    } catch (err) {
      if (err instanceof PduFormatError) return refuse(undefined, `format: ${err.message}`);
      throw err;
    }
    if (event.roomId !== roomId) return refuse(event.eventId, `event belongs to ${event.roomId}, not ${roomId}`);

    const signatureProblem = await checkSignatures(event, rules);
    if (signatureProblem) return refuse(event.eventId, signatureProblem);
    if (!checkContentHash(event.pdu)) {
      // The signatures cover the redacted form, so the event is genuine but its content is not: keep the redacted form.
      log.info({ roomId, eventId: event.eventId, origin }, 'pdu content hash mismatch; redacting');
      event = parsePdu(redactEvent(event.pdu, rules), rules);
    }

    // A room's policy server must have signed what enters its present; one that will not makes a soft failure.
    let policyProblem: string | null = null;
    if (options.outlier !== true && options.backfillPosition === undefined && needsPolicySignature(event)) {
      const server = await roomPolicyServer(store, roomId);
      if (server !== undefined && !hasPolicySignature(event.pdu, server, rules)) {
        try {
          event = await policySigned(deps.policySigner, server, event, rules);
        } catch (err) {
          policyProblem = `policy server ${server.via}: ${(err as Error).message}`;
        }
      }
    }

    const checked = event;
    const outcome = await store.withRoomWriteLock(roomId, (tx) =>
      options.outlier === true ? persistOutlier(tx, checked, rules) : persistChecked(tx, checked, rules, options, policyProblem));
    if (outcome.status === 'accepted' && options.backfillPosition === undefined) {
      deps.notifier.eventsPersisted(roomId, outcome.streamPosition, event.type === 'm.room.member' && event.stateKey !== undefined ? [event.stateKey] : []);
      // The event is in; a consequence that fails is logged, not turned into a refusal of the event.
      await deps.afterAccepted?.(event).catch((err: unknown) => log.warn({ err, roomId, eventId: event.eventId }, 'consequence of an accepted pdu failed'));
    }
    if (outcome.status === 'rejected' || outcome.status === 'soft-failed') {
      log.info({ roomId, eventId: event.eventId, origin, reason: outcome.reason }, `pdu ${outcome.status}`);
    }
    return outcome;

    function refuse(eventId: string | undefined, reason: string): ReceiveOutcome {
      log.info({ roomId, eventId, origin, reason }, 'pdu refused');
      return { status: 'rejected', eventId, reason, stored: false };
    }
  }

  /** Every server the rules name must have signed the redacted event with a key valid at origin_server_ts. */
  async function checkSignatures(event: RoomEvent, rules: RoomVersionRules): Promise<string | undefined> {
    const signatures = event.pdu.signatures;
    for (const server of requiredSignatureServers(event, rules)) {
      const byKey = isPlainObject(signatures) ? signatures[server] : undefined;
      if (!isPlainObject(byKey)) return `not signed by ${server}`;
      let verified = false;
      for (const keyId of Object.keys(byKey)) {
        if (!keyId.startsWith('ed25519:')) continue;
        const key = await deps.keys.verifyKey(server, keyId);
        if (!key) continue;
        if (rules.enforcesKeyValidityPeriod && key.validUntilTs < event.originServerTs) continue;
        if (verifyEventSignature(event.pdu, server, keyId, key.key, rules)) {
          verified = true;
          break;
        }
      }
      if (!verified) return `no valid signature from ${server}`;
    }
    return undefined;
  }

  /** Step 1, shared by timeline events and outliers: against its own auth events (v12: the create event is implied). */
  async function checkOwnAuthEvents(tx: RoomWrites, event: RoomEvent, rules: RoomVersionRules, known: Map<string, StoredEvent>) {
    const authEvents = event.authEvents.map((id) => known.get(id)!.event);
    if (rules.roomIdFormat === 'create-event-hash' && event.type !== 'm.room.create') {
      const createId = (await tx.currentStateEntries(event.roomId, [CREATE_KEY])).get(CREATE_KEY);
      const create = createId === undefined ? undefined : (await tx.events([createId])).get(createId)?.event;
      if (create) authEvents.push(create);
    }
    const rejectedIds = new Set([...known.values()].filter((s) => s.rejectedReason !== null).map((s) => s.event.eventId));
    return checkAuthEvents(event, authEvents, rules, { isRejected: (e) => rejectedIds.has(e.eventId) });
  }

  async function persistOutlier(tx: RoomWrites, event: RoomEvent, rules: RoomVersionRules): Promise<ReceiveOutcome> {
    const known = await tx.events([event.eventId, ...event.authEvents]);
    if (known.has(event.eventId)) return { status: 'duplicate', eventId: event.eventId };
    const missingAuth = event.authEvents.filter((id) => !known.has(id));
    if (missingAuth.length > 0) return { status: 'missing', eventId: event.eventId, missing: missingAuth };
    const againstAuthEvents = await checkOwnAuthEvents(tx, event, rules, known);
    if (!againstAuthEvents.allowed) return storeRejected(tx, event, null, `auth events: ${againstAuthEvents.reason}`);
    await tx.persistEvents(event.roomId, [{ event, outlier: true, rejectedReason: null, softFailed: false, stateBefore: null }]);
    return { status: 'outlier', eventId: event.eventId };
  }

  /**
   * The state after a prev event this server lacks the state of, from the ids its server gave: each must be
   * stored, not rejected and of the room, one per state key, the create event among them; the prev event
   * itself must be stored and is added when it is a state event. A string says what is wrong.
   */
  async function givenStateAfter(tx: RoomWrites, event: RoomEvent, prevId: string, ids: readonly string[]): Promise<StateMap | string> {
    const stored = await tx.events([...ids, prevId]);
    const state = new Map<StateKey, string>();
    for (const id of ids) {
      const found = stored.get(id);
      if (!found) return `state event ${id} is not stored`;
      if (found.rejectedReason !== null || found.event.roomId !== event.roomId) continue;
      const key = stateKeyOf(found.event);
      if (key === undefined) return `${id} in the state is not a state event`;
      if (state.has(key) && state.get(key) !== id) return `the state names two events for one state key (${id})`;
      state.set(key, id);
    }
    if (!state.has(CREATE_KEY)) return 'the state has no m.room.create event';
    const prev = stored.get(prevId);
    if (!prev) return `prev event ${prevId} is not stored`;
    const prevKey = stateKeyOf(prev.event);
    if (prevKey !== undefined && prev.rejectedReason === null && prev.event.roomId === event.roomId) state.set(prevKey, prevId);
    return state;
  }

  /** `policyProblem`: why the room's policy server did not sign the event, which soft-fails it if nothing else refuses it. */
  async function persistChecked(tx: RoomWrites, event: RoomEvent, rules: RoomVersionRules, options: ReceiveOptions, policyProblem: string | null = null): Promise<ReceiveOutcome> {
    const statesBeforePrevs = options.statesBeforePrevs ?? new Map<string, readonly string[]>();
    const backfillPosition = options.backfillPosition;
    const known = await tx.events([event.eventId, ...event.authEvents, ...event.prevEvents]);
    const stored = known.get(event.eventId);
    // Backfill moves an outlier onto the timeline; anything else stored before is done with.
    const movable = stored !== undefined && stored.outlier && stored.rejectedReason === null && backfillPosition !== undefined;
    if (stored !== undefined && !movable) return { status: 'duplicate', eventId: event.eventId };

    const missingAuth = event.authEvents.filter((id) => !known.has(id));
    const missingPrev = event.prevEvents.filter((id) => !statesBeforePrevs.has(id) && (!known.get(id) || known.get(id)!.outlier));
    if (missingAuth.length > 0 || missingPrev.length > 0) {
      return { status: 'missing', eventId: event.eventId, missing: [...new Set([...missingAuth, ...missingPrev])] };
    }

    // The state before it: the state after its one prev event, or the resolution of several. Worked out
    // even for an event the checks below reject: it is stored with it, so that events naming it as a prev
    // event have a state to start from (a rejected event changes no state).
    const prevStates: StateMap[] = [];
    for (const prev of event.prevEvents) {
      const given = statesBeforePrevs.get(prev);
      // A stored state wins over one a server gave: the prev event may have arrived meanwhile.
      const after = (await tx.stateAfter(prev)) ?? (given === undefined ? undefined : await givenStateAfter(tx, event, prev, given));
      if (typeof after === 'string') {
        // The remote's answer is unusable; nothing is stored, so a better answer can still be taken.
        log.info({ roomId: event.roomId, eventId: event.eventId, reason: after }, 'pdu refused: state given for its prev event is unusable');
        return { status: 'rejected', eventId: event.eventId, reason: `state before ${prev}: ${after}`, stored: false };
      }
      if (!after) return { status: 'missing', eventId: event.eventId, missing: [prev] };
      prevStates.push(after);
    }
    const stateBefore = prevStates.length === 1 ? prevStates[0]! : await resolveStoredStates(tx, rules, prevStates);
    const stateInput: StateInput =
      event.prevEvents.length === 1 && !statesBeforePrevs.has(event.prevEvents[0]!)
        ? { kind: 'after-event', eventId: event.prevEvents[0]!, changes: new Map() }
        : { kind: 'full', state: stateBefore };

    // 1. Against its own auth events.
    const againstAuthEvents = await checkOwnAuthEvents(tx, event, rules, known);
    if (!againstAuthEvents.allowed) return storeRejected(tx, event, stateInput, `auth events: ${againstAuthEvents.reason}`);

    // 2. Against the state before it.
    const beforeLookup = await authLookup(tx, event, rules, stateBefore);
    const againstState = checkAuth(event, beforeLookup, rules);
    if (!againstState.allowed) return storeRejected(tx, event, stateInput, `state before: ${againstState.reason}`);

    if (backfillPosition !== undefined) {
      const [position] = await tx.persistEvents(event.roomId, [
        { event, outlier: false, rejectedReason: null, softFailed: false, stateBefore: stateInput, backfillPosition },
      ]);
      if (position === null || position === undefined) throw new Error(`backfilled event ${event.eventId} has no position`);
      return { status: 'accepted', eventId: event.eventId, streamPosition: position };
    }

    // 3. Against the current state: passing 2 but not 3 is a soft failure — kept, never served or built upon.
    const current = await tx.currentState(event.roomId);
    const againstCurrent = checkAuth(event, await authLookup(tx, event, rules, current), rules);
    const softFailReason = againstCurrent.allowed ? ((await crossRoomRedaction(tx, event)) ?? policyProblem) : againstCurrent.reason;

    const [position] = await tx.persistEvents(event.roomId, [
      { event, outlier: false, rejectedReason: null, softFailed: softFailReason !== null, stateBefore: stateInput },
    ]);
    if (softFailReason !== null) return { status: 'soft-failed', eventId: event.eventId, reason: softFailReason };
    if (position === null || position === undefined) throw new Error(`accepted event ${event.eventId} has no stream position`);

    const extremities = await tx.forwardExtremities(event.roomId);
    const prevs = new Set(event.prevEvents);
    await tx.setForwardExtremities(event.roomId, [...extremities.filter((id) => !prevs.has(id)), event.eventId]);

    const key = stateKeyOf(event);
    const stateAfter = key === undefined ? stateBefore : new Map(stateBefore).set(key, event.eventId);
    // The event follows every extremity: its state is the room's state. Otherwise the branches are resolved.
    const followsAll = extremities.every((id) => prevs.has(id));
    const newCurrent = followsAll ? stateAfter : await resolveStoredStates(tx, rules, [current, stateAfter]);
    await tx.setCurrentState(event.roomId, newCurrent);
    return { status: 'accepted', eventId: event.eventId, streamPosition: position };
  }

  /**
   * A redaction naming an event this server holds in another room: never applied (redactions apply within
   * their room only), and soft-failed so that it is not served either, as Synapse keeps it out of the
   * timeline. The auth rules say nothing of it, so it is not rejected: other servers' state stays the same.
   */
  async function crossRoomRedaction(tx: RoomWrites, event: RoomEvent): Promise<string | null> {
    if (event.type !== 'm.room.redaction' || event.redacts === undefined) return null;
    const target = (await tx.events([event.redacts])).get(event.redacts);
    return target !== undefined && target.event.roomId !== event.roomId ? `it redacts ${event.redacts}, an event of another room` : null;
  }

  async function storeRejected(tx: RoomWrites, event: RoomEvent, stateBefore: StateInput | null, reason: string): Promise<ReceiveOutcome> {
    // Stored so that it is not fetched and checked again, and so that events citing it are rejected too.
    await tx.persistEvents(event.roomId, [{ event, outlier: stateBefore === null, rejectedReason: reason, softFailed: false, stateBefore }]);
    return { status: 'rejected', eventId: event.eventId, reason, stored: true };
  }

  return { receivePdu };
}

/**
 * The auth rules read only what the auth events selection names (and the create event), so only those
 * entries of a state are loaded: a state of 10,000 members costs a handful of reads.
 */
async function authLookup(tx: RoomWrites, event: RoomEvent, rules: RoomVersionRules, state: StateMap) {
  const keys = [...authEventsSelection(event, rules), CREATE_KEY];
  const ids = keys.map((key) => state.get(key)).filter((id): id is string => id !== undefined);
  const stored = await tx.events(ids);
  const byKey = new Map<StateKey, RoomEvent>();
  for (const key of keys) {
    const id = state.get(key);
    const found = id === undefined ? undefined : stored.get(id)?.event;
    if (found) byKey.set(key, found);
  }
  return (type: string, key: string) => byKey.get(stateKey(type, key));
}

export type ReceivePipeline = ReturnType<typeof createReceivePipeline>;
