import {
  getRoomVersion,
  powerLevelsContent,
  redactEvent,
  stateKey,
  userPowerLevel,
  type RoomEvent,
  type RoomVersionRules,
} from '../events/index.js';
import type { Clock } from '../platform/clock.js';
import { createAggregations, type Aggregation, type AggregationReads } from './aggregations.js';
import { toClientEvent, type ClientEvent, type ClientUnsigned } from './client-event.js';
import type { ErasedUsers } from './erasure.js';
import type { RoomReads, StoredEvent } from './ports.js';

/**
 * Serving events to clients with their redactions applied (client-server API, "Redactions"): an event that
 * a redaction applies to is served in its redacted form, with the redaction in unsigned.redacted_because.
 * Every read that serves events (/messages, /context, /event, /state, /members, sync) builds them here.
 */

const POWER_LEVELS_KEY = stateKey('m.room.power_levels', '');
const CREATE_KEY = stateKey('m.room.create', '');

function serverOf(userId: string): string {
  return userId.slice(userId.indexOf(':') + 1);
}

/**
 * Whether a redaction applies to its target, given whether its sender could redact others' events when
 * sending it. v1-2 checked that in the auth rules; from v3 servers check when serving (rooms/v3.md): same
 * server as the target's sender, or the redact power level. Never across rooms. Pure.
 */
export function redactionApplies(target: RoomEvent, redaction: RoomEvent, senderMayRedactOthers: boolean): boolean {
  if (redaction.roomId !== target.roomId || redaction.redacts !== target.eventId) return false;
  return serverOf(redaction.sender) === serverOf(target.sender) || senderMayRedactOthers;
}

/** The event as it is once redacted under the room version's rules: only the protected keys left. */
export function redactedView(event: RoomEvent, rules: RoomVersionRules): RoomEvent {
  const pdu = redactEvent(event.pdu, rules);
  const content = pdu.content as Record<string, unknown>;
  return {
    ...event,
    content,
    // v1-10 lose the top-level `redacts` of a redacted redaction; v11 keep it in content.
    redacts: rules.keepsRedactsInContent && typeof content.redacts === 'string' ? content.redacts : undefined,
    pdu,
  };
}

const NONE_ERASED: ReadonlySet<string> = new Set();
const NONE_REPLACED: ReadonlyMap<string, Replaced> = new Map();

/** The state event a state event replaced: its id and content as served (redacted when a redaction applies). */
interface Replaced {
  readonly eventId: string;
  readonly content: Readonly<Record<string, unknown>>;
}

/** An event to serve: the room version says how to redact it. */
export type Servable = Pick<StoredEvent, 'event' | 'roomVersion'>;

export type ClientEventReads = Pick<RoomReads, 'redactionsOf' | 'statesAround' | 'events' | 'replacedStates'>;

export interface ClientEventsDeps {
  readonly store: ClientEventReads;
  readonly clock: Clock;
  /** The reads bundled aggregations need; without them events are served without unsigned["m.relations"]. */
  readonly relations?: AggregationReads;
  /** Erased accounts, whose events go redacted to who was not in the room then (src/rooms/erasure.ts). */
  readonly erased?: ErasedUsers;
}

export interface ServeOptions {
  /** Client transaction ids by event id, for events served back to the device that sent them. */
  readonly transactionIds?: ReadonlyMap<string, string>;
  /**
   * Who the events are served to: bundled aggregations count only the children they may see (and say whether
   * they took part in a thread), and an erased user's events are served whole only if the viewer was joined
   * when they were sent. Without it no aggregations are bundled and erased users' events go redacted.
   */
  readonly viewer?: string;
  /** false: no bundled aggregations even with a viewer (events read, not shown: unread counts). */
  readonly bundle?: boolean;
  /**
   * false: state events go without unsigned.prev_content and replaces_state (a room's state as a whole,
   * where clients do not read them, and where a large room would make reading them costly).
   */
  readonly prevContent?: boolean;
}

/** unsigned["m.relations"] as served (client-server API, "Aggregations of child events"). */
export interface BundledRelations {
  readonly 'm.thread'?: { readonly latest_event: ClientEvent; readonly count: number; readonly current_user_participated: boolean };
  readonly 'm.replace'?: ClientEvent;
  readonly 'm.reference'?: { readonly chunk: ReadonlyArray<{ readonly event_id: string }> };
}

/** A served event's unsigned section with its bundled aggregations. */
export interface BundledUnsigned extends ClientUnsigned {
  readonly 'm.relations'?: BundledRelations;
}

/**
 * Builds client events for stored events, redactions applied: one read for the redactions of the batch,
 * and, only for a redaction from another server than its target's sender, one read of the power levels
 * before it.
 */
export function createClientEvents(deps: ClientEventsDeps) {
  const { store, clock } = deps;

  /** For each event id a redaction that applies to it (the oldest), for the batch. */
  async function appliedRedactions(events: readonly Servable[]): Promise<Map<string, StoredEvent>> {
    const applied = new Map<string, StoredEvent>();
    const byTarget = await store.redactionsOf(events.map((s) => s.event.eventId));
    if (byTarget.size === 0) return applied;
    const needPower: StoredEvent[] = [];
    for (const { event } of events) {
      for (const redaction of byTarget.get(event.eventId) ?? []) {
        if (redactionApplies(event, redaction.event, false)) {
          applied.set(event.eventId, redaction);
          break;
        }
        if (redactionApplies(event, redaction.event, true)) needPower.push(redaction);
      }
    }
    const mayRedact = await mayRedactOthers(needPower);
    for (const { event } of events) {
      if (applied.has(event.eventId)) continue;
      const redaction = (byTarget.get(event.eventId) ?? []).find((r) => mayRedact.has(r.event.eventId));
      if (redaction) applied.set(event.eventId, redaction);
    }
    return applied;
  }

  /** The redactions (by id) whose sender had the redact power level in the state before them. */
  async function mayRedactOthers(redactions: readonly StoredEvent[]): Promise<Set<string>> {
    const allowed = new Set<string>();
    if (redactions.length === 0) return allowed;
    const keys = [POWER_LEVELS_KEY, CREATE_KEY];
    const states = await store.statesAround(redactions.map((r) => r.event.eventId), keys);
    const named = [...states.values()].flatMap(({ before }) => [...before.values()]);
    const stored = await store.events(named);
    for (const redaction of redactions) {
      const rules = getRoomVersion(redaction.roomVersion);
      const before = states.get(redaction.event.eventId)?.before;
      if (!rules || !before) continue;
      const lookup = (type: string, key: string) => {
        const id = before.get(stateKey(type, key));
        return id === undefined ? undefined : stored.get(id)?.event;
      };
      if (userPowerLevel(redaction.event.sender, lookup, rules) >= powerLevelsContent(lookup, rules).redact) {
        allowed.add(redaction.event.eventId);
      }
    }
    return allowed;
  }

  /**
   * The events sent by erased users that the viewer gets redacted: those sent while the viewer was not
   * joined (Synapse's rule), or all of them when the viewer is not known. Messages only: a room's name,
   * topic or power levels stay whole, or a room would lose them when the user who set them leaves so.
   */
  async function erasedForViewer(events: readonly Servable[], viewer: string | undefined): Promise<ReadonlySet<string>> {
    const hidden = new Set<string>();
    const { erased } = deps;
    if (erased === undefined || !erased.any) return hidden;
    const ids = events.filter(({ event }) => event.stateKey === undefined && erased.isErased(event.sender)).map(({ event }) => event.eventId);
    if (ids.length === 0 || viewer === undefined) return new Set(ids);
    const memberKey = stateKey('m.room.member', viewer);
    const states = await store.statesAround(ids, [memberKey]);
    const memberIds = [...states.values()].flatMap(({ before }) => before.get(memberKey) ?? []);
    const members = await store.events(memberIds);
    for (const id of ids) {
      const memberId = states.get(id)?.before.get(memberKey);
      const membership = memberId === undefined ? undefined : members.get(memberId)?.event.content.membership;
      if (membership !== 'join') hidden.add(id);
    }
    return hidden;
  }

  const redactedIds = async (events: readonly StoredEvent[]) => new Set((await appliedRedactions(events)).keys());
  const aggregate = deps.relations && createAggregations({ store: deps.relations, redactedIds });

  /**
   * The bundles of the events no redaction applies to (state events get none, as the spec says). `nested`:
   * the events inside a bundle get their own bundles, but no deeper (loops are impossible for m.thread
   * today; this keeps it so whatever arrives over federation).
   */
  async function bundles(events: readonly Servable[], applied: Map<string, StoredEvent>, viewer: string, nested: boolean): Promise<Map<string, BundledRelations>> {
    const served = new Map<string, BundledRelations>();
    const parents = events.filter((e) => !applied.has(e.event.eventId) && e.event.stateKey === undefined);
    if (!aggregate || parents.length === 0) return served;
    const found = await aggregate(viewer, parents);
    if (found.size === 0) return served;
    const all = [...found.values()];
    const latest = all.flatMap((a) => (a.thread ? [a.thread.latest] : []));
    const edits = all.flatMap((a) => (a.replace ? [a.replace] : []));
    const inner = { viewer, nested: true };
    const [latestServed, editsServed] = await Promise.all([
      serveAll(latest, nested ? {} : inner),
      serveAll(edits, {}),
    ]);
    const byId = new Map([...latestServed, ...editsServed].map((e) => [e.event_id, e]));
    for (const [parentId, aggregation] of found) served.set(parentId, bundled(aggregation, byId));
    return served;
  }

  /** What each state event among `events` replaced, for unsigned.prev_content and replaces_state. */
  async function replacedBy(events: readonly Servable[]): Promise<ReadonlyMap<string, Replaced>> {
    const stateIds = events.flatMap(({ event }) => (event.stateKey === undefined ? [] : [event.eventId]));
    if (stateIds.length === 0) return NONE_REPLACED;
    const replaced = await store.replacedStates(stateIds);
    if (replaced.size === 0) return NONE_REPLACED;
    const previous = await store.events([...new Set(replaced.values())]);
    const applied = await appliedRedactions([...previous.values()]);
    const found = new Map<string, Replaced>();
    for (const [eventId, previousId] of replaced) {
      const stored = previous.get(previousId);
      if (!stored) continue;
      const rules = applied.has(previousId) ? getRoomVersion(stored.roomVersion) : undefined;
      found.set(eventId, { eventId: previousId, content: rules ? redactedView(stored.event, rules).content : stored.event.content });
    }
    return found;
  }

  async function serveAll(events: readonly Servable[], options: ServeOptions & { nested?: boolean }): Promise<ClientEvent[]> {
    // Erasures are asked about only while some account is erased (nearly never), what state events replaced
    // only when state events are served: a page of messages makes one read, as before either existed.
    const erasing = deps.erased?.any === true;
    const replacing = options.prevContent !== false && events.some(({ event }) => event.stateKey !== undefined);
    const [applied, erased, replaced] = erasing || replacing
      ? await Promise.all([
          appliedRedactions(events),
          erasing ? erasedForViewer(events, options.viewer) : NONE_ERASED,
          replacing ? replacedBy(events) : NONE_REPLACED,
        ])
      : [await appliedRedactions(events), NONE_ERASED, NONE_REPLACED];
    const relations = options.viewer === undefined || options.bundle === false
      ? new Map<string, BundledRelations>()
      : await bundles(events, applied, options.viewer, options.nested === true);
    const now = clock.now();
    return events.map(({ event, roomVersion }) => {
      const transactionId = options.transactionIds?.get(event.eventId);
      const redaction = applied.get(event.eventId);
      if (!redaction && erased.has(event.eventId)) {
        const rules = getRoomVersion(roomVersion);
        // Pruned as a redaction would, with no redaction to name: nothing was redacted by anyone.
        if (rules) return toClientEvent(redactedView(event, rules), { now, ...(transactionId === undefined ? {} : { transactionId }) });
      }
      const rules = redaction && getRoomVersion(roomVersion);
      if (!redaction || !rules) {
        const replaces = replaced.get(event.eventId);
        const served = toClientEvent(event, {
          now,
          ...(transactionId === undefined ? {} : { transactionId }),
          ...(replaces === undefined ? {} : { replaces }),
        });
        const bundle = relations.get(event.eventId);
        if (bundle === undefined) return served;
        const unsigned: BundledUnsigned = { ...served.unsigned, 'm.relations': bundle };
        return { ...served, unsigned };
      }
      return toClientEvent(redactedView(event, rules), {
        now,
        ...(transactionId === undefined ? {} : { transactionId }),
        redactedBecause: toClientEvent(redaction.event, { now }),
      });
    });
  }

  return {
    /**
     * The events in the client format, in the order given, redacted where a redaction applies, with their
     * bundled aggregations when the viewer is given.
     */
    serve: (events: readonly Servable[], options: ServeOptions = {}): Promise<ClientEvent[]> => serveAll(events, options),
    /** The ids of the events a redaction applies to. */
    redactedIds,
    /** The ids of the events the viewer gets redacted because their sender's account was erased. */
    erasedFor: (events: readonly Servable[], viewer: string): Promise<ReadonlySet<string>> => erasedForViewer(events, viewer),
  };
}

function bundled(aggregation: Aggregation, served: ReadonlyMap<string, ClientEvent>): BundledRelations {
  const latest = aggregation.thread && served.get(aggregation.thread.latest.event.eventId);
  const edit = aggregation.replace && served.get(aggregation.replace.event.eventId);
  return {
    ...(aggregation.thread && latest ? {
      'm.thread': { latest_event: latest, count: aggregation.thread.count, current_user_participated: aggregation.thread.participated },
    } : {}),
    ...(edit ? { 'm.replace': edit } : {}),
    ...(aggregation.references ? { 'm.reference': { chunk: aggregation.references.map((id) => ({ event_id: id })) } } : {}),
  };
}

export type ClientEvents = ReturnType<typeof createClientEvents>;
