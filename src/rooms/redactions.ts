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
import { toClientEvent, type ClientEvent } from './client-event.js';
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

/** An event to serve: the room version says how to redact it. */
export type Servable = Pick<StoredEvent, 'event' | 'roomVersion'>;

export type ClientEventReads = Pick<RoomReads, 'redactionsOf' | 'statesAround' | 'events'>;

export interface ClientEventsDeps {
  readonly store: ClientEventReads;
  readonly clock: Clock;
}

export interface ServeOptions {
  /** Client transaction ids by event id, for events served back to the device that sent them. */
  readonly transactionIds?: ReadonlyMap<string, string>;
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

  return {
    /** The events in the client format, in the order given, redacted where a redaction applies. */
    async serve(events: readonly Servable[], options: ServeOptions = {}): Promise<ClientEvent[]> {
      const applied = await appliedRedactions(events);
      const now = clock.now();
      return events.map(({ event, roomVersion }) => {
        const transactionId = options.transactionIds?.get(event.eventId);
        const redaction = applied.get(event.eventId);
        const rules = redaction && getRoomVersion(roomVersion);
        if (!redaction || !rules) return toClientEvent(event, { now, ...(transactionId === undefined ? {} : { transactionId }) });
        return toClientEvent(redactedView(event, rules), {
          now,
          ...(transactionId === undefined ? {} : { transactionId }),
          redactedBecause: toClientEvent(redaction.event, { now }),
        });
      });
    },
  };
}

export type ClientEvents = ReturnType<typeof createClientEvents>;
