import { isPlainObject } from '../crypto/index.js';
import { eventIdOf, parsePdu, type RoomEvent, type RoomVersionRules } from '../events/index.js';
import type { Logger } from '../platform/logger.js';
import type { ReceiveOptions, ReceiveOutcome, RoomReads } from '../rooms/index.js';
import type { FederationClient } from './sender-ports.js';

/**
 * Filling the gap before a PDU whose prev events this server lacks (server-server API, "Retrieving events"
 * and "Backfilling and retrieving missing events"), the way Synapse does:
 *
 * 1. POST /get_missing_events to the sending server, from our forward extremities to the event, at most
 *    GET_MISSING_LIMIT events: each is checked through the receive pipeline, oldest first.
 * 2. If prev events are still unknown, for each one GET /state_ids at it; the state and auth events we lack
 *    are fetched (/event each, or /state in one go when many), checked through the pipeline as outliers
 *    (signatures, hashes, auth against their own auth events), and the event is then checked against the
 *    state so built and persisted with it.
 *
 * Every step is capped, so a server answering with endless or bogus events cannot keep us busy: one
 * get_missing_events per PDU from a transaction, MAX_MISSING_PREVS prev events fetched via state, at most
 * MAX_FETCHED_EVENTS events fetched for one PDU, and events returned are only ever taken if in the room.
 */

export const GET_MISSING_LIMIT = 10;
export const MAX_MISSING_PREVS = 10;
export const MAX_FETCHED_EVENTS = 5_000;
/** Above this many unknown state and auth events, /state fetches them in one request instead of /event each. */
export const SINGLE_FETCH_LIMIT = 50;
/** Rounds of "fetch the auth events of what was fetched": auth chains are shallow, a loop is not. */
const MAX_AUTH_ROUNDS = 20;

export interface GapFillerDeps {
  readonly client: Pick<FederationClient, 'request'>;
  readonly pipeline: { receivePdu(roomId: string, json: unknown, origin: string, options?: ReceiveOptions): Promise<ReceiveOutcome> };
  readonly rooms: Pick<RoomReads, 'events' | 'forwardExtremities'>;
  readonly log: Logger;
}

export function createGapFiller(deps: GapFillerDeps) {
  const { client, pipeline, rooms, log } = deps;

  /** A GET or POST to `origin`; a failure is logged and read as "no answer". */
  async function ask<T>(origin: string, method: 'GET' | 'POST', path: string, options: { query?: Record<string, string>; body?: Record<string, unknown> } = {}): Promise<T | undefined> {
    try {
      return await client.request<T>(origin, method, path, options);
    } catch (err) {
      log.info({ origin, path: path.split('?')[0], err: (err as Error).message }, 'federation fetch for a gap failed');
      return undefined;
    }
  }

  function parsed(json: unknown, rules: RoomVersionRules): RoomEvent | undefined {
    try {
      return parsePdu(json, rules);
    } catch {
      return undefined;
    }
  }

  /** Step 1: the events between our forward extremities and `event`, checked oldest first. */
  async function fillFromMissingEvents(roomId: string, rules: RoomVersionRules, event: RoomEvent, origin: string): Promise<number> {
    const extremities = await rooms.forwardExtremities(roomId);
    const stored = await rooms.events(extremities);
    const depths = [...stored.values()].map((s) => s.event.depth);
    const answer = await ask<{ events?: unknown }>(origin, 'POST', `/_matrix/federation/v1/get_missing_events/${encodeURIComponent(roomId)}`, {
      body: {
        earliest_events: extremities,
        latest_events: [event.eventId],
        limit: GET_MISSING_LIMIT,
        min_depth: depths.length > 0 ? Math.min(...depths) : 0,
      },
    });
    if (!answer || !Array.isArray(answer.events)) return 0;
    const events = answer.events
      .slice(0, GET_MISSING_LIMIT)
      .map((json) => ({ json, event: parsed(json, rules) }))
      .filter((e): e is { json: unknown; event: RoomEvent } => e.event !== undefined && e.event.roomId === roomId && e.event.eventId !== event.eventId)
      .sort((a, b) => a.event.depth - b.event.depth || a.event.originServerTs - b.event.originServerTs);
    let stateFetches = 0;
    for (const { json, event: missing } of events) {
      const outcome = await pipeline.receivePdu(roomId, json, origin, { relayed: true });
      // The oldest returned event may itself follow a gap: one state fetch for it, not one for each.
      if (outcome.status === 'missing' && stateFetches++ === 0) await fillFromState(roomId, rules, missing, json, origin, { relayed: true });
    }
    return events.length;
  }

  /** The /event answer's one PDU, if it is the event asked for. */
  async function fetchEvent(origin: string, eventId: string, rules: RoomVersionRules): Promise<unknown> {
    const answer = await ask<{ pdus?: unknown }>(origin, 'GET', `/_matrix/federation/v1/event/${encodeURIComponent(eventId)}`);
    const json = Array.isArray(answer?.pdus) ? answer.pdus[0] : undefined;
    return json !== undefined && idOf(json, rules) === eventId ? json : undefined;
  }

  function idOf(json: unknown, rules: RoomVersionRules): string | undefined {
    if (!isPlainObject(json)) return undefined;
    try {
      return eventIdOf(json, rules);
    } catch {
      return undefined;
    }
  }

  /**
   * Fetches the wanted events this server lacks, and their auth events, as far as the caps allow; then
   * checks and stores them as outliers, each after its auth events. Returns false when too many were needed.
   */
  async function fetchOutliers(roomId: string, rules: RoomVersionRules, origin: string, wanted: ReadonlySet<string>, prevs: readonly string[]): Promise<boolean> {
    const storedIds = async (ids: readonly string[]) => new Set((await rooms.events(ids)).keys());
    const known = await storedIds([...wanted]);
    let unknown = [...wanted].filter((id) => !known.has(id));
    if (unknown.length > MAX_FETCHED_EVENTS) return false;
    const fetched = new Map<string, { json: unknown; event: RoomEvent }>();
    const keep = (json: unknown, expected?: ReadonlySet<string>) => {
      const id = idOf(json, rules);
      if (id === undefined || fetched.has(id) || (expected !== undefined && !expected.has(id))) return;
      const event = parsed(json, rules);
      // Ids are hashes of the content from v3 on; in v1-2 the room is at least checked.
      if (event && event.roomId === roomId) fetched.set(id, { json, event });
    };

    if (unknown.length > SINGLE_FETCH_LIMIT) {
      const expected = new Set(unknown);
      for (const prev of prevs) {
        const answer = await ask<{ pdus?: unknown; auth_chain?: unknown }>(origin, 'GET', `/_matrix/federation/v1/state/${encodeURIComponent(roomId)}`, { query: { event_id: prev } });
        for (const json of [...asArray(answer?.pdus), ...asArray(answer?.auth_chain)].slice(0, MAX_FETCHED_EVENTS)) keep(json, expected);
      }
      unknown = unknown.filter((id) => !fetched.has(id));
    }
    for (let round = 0; unknown.length > 0 && round < MAX_AUTH_ROUNDS; round++) {
      for (const id of unknown) {
        if (fetched.size >= MAX_FETCHED_EVENTS) return false;
        const json = await fetchEvent(origin, id, rules);
        if (json !== undefined) keep(json);
      }
      // The auth events of what came in, when neither stored nor fetched.
      const authIds = [...new Set([...fetched.values()].flatMap(({ event }) => event.authEvents))].filter((id) => !fetched.has(id));
      const stored = await storedIds(authIds);
      const tried = new Set(unknown);
      unknown = authIds.filter((id) => !stored.has(id) && !tried.has(id));
    }

    // Auth events first: each pass stores those whose auth events are all stored by now.
    let pending = [...fetched.values()];
    while (pending.length > 0) {
      const stored = await storedIds([...new Set(pending.flatMap(({ event }) => event.authEvents))]);
      const ready = pending.filter(({ event }) => event.authEvents.every((id) => stored.has(id)));
      if (ready.length === 0) break;
      for (const { json } of ready) await pipeline.receivePdu(roomId, json, origin, { outlier: true });
      pending = pending.filter((entry) => !ready.includes(entry));
    }
    if (pending.length > 0) log.info({ roomId, origin, count: pending.length }, 'fetched events left out: their auth events could not be had');
    return true;
  }

  /** Step 2: the state at each unknown prev event, from `origin`, and the event checked against it. */
  async function fillFromState(roomId: string, rules: RoomVersionRules, event: RoomEvent, json: unknown, origin: string, options: ReceiveOptions): Promise<ReceiveOutcome> {
    const stored = await rooms.events(event.prevEvents);
    const prevs = event.prevEvents.filter((id) => !stored.get(id) || stored.get(id)!.outlier);
    if (prevs.length > MAX_MISSING_PREVS) {
      return { status: 'rejected', eventId: event.eventId, reason: `too many unknown prev events (${prevs.length}) to fetch the state of`, stored: false };
    }
    const statesBeforePrevs = new Map<string, readonly string[]>();
    const wanted = new Set<string>([...event.authEvents, ...prevs]);
    for (const prev of prevs) {
      const answer = await ask<{ pdu_ids?: unknown; auth_chain_ids?: unknown }>(origin, 'GET', `/_matrix/federation/v1/state_ids/${encodeURIComponent(roomId)}`, { query: { event_id: prev } });
      const pduIds = asArray(answer?.pdu_ids).filter((id): id is string => typeof id === 'string');
      const authIds = asArray(answer?.auth_chain_ids).filter((id): id is string => typeof id === 'string');
      if (pduIds.length === 0) return { status: 'missing', eventId: event.eventId, missing: [prev] };
      statesBeforePrevs.set(prev, pduIds);
      for (const id of [...pduIds, ...authIds]) wanted.add(id);
      if (wanted.size > MAX_FETCHED_EVENTS) break;
    }
    if (!(await fetchOutliers(roomId, rules, origin, wanted, prevs))) {
      return { status: 'rejected', eventId: event.eventId, reason: `the state before it names more than ${MAX_FETCHED_EVENTS} events this server lacks`, stored: false };
    }
    return pipeline.receivePdu(roomId, json, origin, { ...options, statesBeforePrevs });
  }

  return {
    /**
     * A PDU `origin` sent in a transaction, with its gap filled when its prev or auth events are unknown.
     * The outcome is the pipeline's; 'missing' only when even the state could not be had.
     */
    async receiveFilling(roomId: string, rules: RoomVersionRules, json: unknown, origin: string): Promise<ReceiveOutcome> {
      const first = await pipeline.receivePdu(roomId, json, origin);
      if (first.status !== 'missing') return first;
      const event = parsed(json, rules);
      if (!event) return first;
      const returned = await fillFromMissingEvents(roomId, rules, event, origin);
      const second = await pipeline.receivePdu(roomId, json, origin);
      if (second.status !== 'missing') return second;
      if (returned === 0) {
        // The sender could not (or would not) produce a single event of the gap: the event is dropped, not
        // taken on the strength of whatever state that server would then name (as Synapse does). A later
        // event citing it brings it back through get_missing_events.
        log.info({ roomId, eventId: event.eventId, origin }, 'get_missing_events gave nothing for a gap; event dropped');
        return second;
      }
      log.info({ roomId, eventId: event.eventId, origin }, 'gap not closed by get_missing_events; fetching the state');
      return fillFromState(roomId, rules, event, json, origin, {});
    },

    /**
     * An event `origin` handed over (backfill) whose prev or auth events this server lacks: the state
     * before it and its auth events are fetched from `origin` (step 2 alone), then it is checked with
     * `options`. Not for live events: those try get_missing_events first.
     */
    async receiveWithState(roomId: string, rules: RoomVersionRules, json: unknown, origin: string, options: ReceiveOptions): Promise<ReceiveOutcome> {
      const event = parsed(json, rules);
      if (!event) return { status: 'rejected', eventId: undefined, reason: 'malformed event', stored: false };
      return fillFromState(roomId, rules, event, json, origin, { ...options, relayed: true });
    },
  };
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export type GapFiller = ReturnType<typeof createGapFiller>;
