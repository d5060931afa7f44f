import { getRoomVersion, parsePdu, type RoomEvent, type RoomVersionRules } from '../events/index.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { ReceiveOptions, ReceiveOutcome, RoomStore } from '../rooms/index.js';
import type { GapFiller } from './missing-events.js';
import type { FederationClient } from './sender-ports.js';
import { serverOfUser } from './sender-destinations.js';

/**
 * Backfill (server-server API, "Backfilling and retrieving missing events"): a server that joined a room
 * late holds its history only from the join on. When a client pages back past the oldest event held,
 * the events before it are asked of a server in the room with GET /backfill, checked through the receive
 * pipeline as historical events (auth events and the state before each; the state before the oldest is
 * fetched with /state_ids), and stored below everything held (negative positions), so the same
 * /messages request can go on into them.
 *
 * Cheap when there is nothing to do: a room whose timeline reaches its create event costs one indexed
 * query. A room whose history the servers asked could not extend is not asked again for RETRY_AFTER_MS,
 * and concurrent pages of one room share one backfill.
 */

/** Events asked for per backfill: enough for a few pages, few enough to check in well under a second. */
export const MIN_BACKFILL_EVENTS = 20;
export const MAX_BACKFILL_EVENTS = 100;
/** Servers asked in turn before giving up for now. */
export const MAX_SERVERS_ASKED = 3;
/** How long a room whose history could not be extended is left alone. */
export const RETRY_AFTER_MS = 60_000;
/** Backward extremities named per request (`v`): the oldest timeline events' unknown prev events. */
const MAX_EXTREMITIES = 20;
const REQUEST_TIMEOUT_MS = 20_000;

export interface BackfillDeps {
  readonly client: Pick<FederationClient, 'request'>;
  readonly pipeline: { receivePdu(roomId: string, json: unknown, origin: string, options?: ReceiveOptions): Promise<ReceiveOutcome> };
  readonly gaps: Pick<GapFiller, 'receiveWithState'>;
  readonly store: Pick<RoomStore, 'room' | 'backwardExtremities' | 'backfillPositions'>;
  /** The other servers with a joined member in the room now. */
  readonly servers: (roomId: string) => Promise<string[]>;
  readonly serverName: string;
  readonly clock: Clock;
  readonly log: Logger;
}

export function createBackfiller(deps: BackfillDeps) {
  const { store, log } = deps;
  const running = new Map<string, Promise<boolean>>();
  /** Rooms whose history could not be extended: the extremities then, and until when to leave them. */
  const fruitless = new Map<string, { readonly extremities: string; readonly until: number }>();

  /** The room creator's server first (it saw the whole history), then the others as given. */
  async function serversToAsk(roomId: string, creator: string): Promise<string[]> {
    const others = (await deps.servers(roomId)).filter((server) => server !== deps.serverName);
    const first = serverOfUser(creator);
    return [...(others.includes(first) ? [first] : []), ...others.filter((server) => server !== first)].slice(0, MAX_SERVERS_ASKED);
  }

  /** The events of an answer that belong to the room, once each, oldest first. */
  function historical(pdus: unknown, roomId: string, rules: RoomVersionRules): Array<{ json: unknown; event: RoomEvent }> {
    if (!Array.isArray(pdus)) return [];
    const byId = new Map<string, { json: unknown; event: RoomEvent }>();
    for (const json of pdus.slice(0, MAX_BACKFILL_EVENTS)) {
      try {
        const event = parsePdu(json, rules);
        if (event.roomId === roomId && !byId.has(event.eventId)) byId.set(event.eventId, { json, event });
      } catch {
        // A malformed event is the pipeline's to log; here it is only left out.
      }
    }
    return [...byId.values()].sort((a, b) => a.event.depth - b.event.depth || a.event.originServerTs - b.event.originServerTs);
  }

  /** Checks and stores one server's answer; how many events went onto the timeline. */
  async function takeAnswer(roomId: string, rules: RoomVersionRules, server: string, pdus: unknown): Promise<number> {
    const events = historical(pdus, roomId, rules);
    if (events.length === 0) return 0;
    const positions = await store.backfillPositions(events.length);
    let stored = 0;
    for (const [index, { json }] of events.entries()) {
      const options: ReceiveOptions = { relayed: true, backfillPosition: positions[index]! };
      let outcome = await deps.pipeline.receivePdu(roomId, json, server, options);
      if (outcome.status === 'missing') outcome = await deps.gaps.receiveWithState(roomId, rules, json, server, options);
      if (outcome.status === 'accepted') stored++;
      else if (outcome.status === 'rejected' || outcome.status === 'missing') {
        log.info({ roomId, server, eventId: outcome.eventId, status: outcome.status }, 'backfilled event not taken');
      }
    }
    return stored;
  }

  async function run(roomId: string, wanted: number): Promise<boolean> {
    const room = await store.room(roomId);
    const rules = room && getRoomVersion(room.roomVersion);
    if (!room || !rules) return false;
    const extremities = await store.backwardExtremities(roomId, MAX_EXTREMITIES);
    if (extremities.length === 0) return false;
    const key = extremities.join(' ');
    const failed = fruitless.get(roomId);
    if (failed && failed.extremities === key && failed.until > deps.clock.now()) return false;

    const limit = Math.min(Math.max(2 * wanted, MIN_BACKFILL_EVENTS), MAX_BACKFILL_EVENTS);
    for (const server of await serversToAsk(roomId, room.creator)) {
      let answer: { pdus?: unknown } | undefined;
      try {
        answer = await deps.client.request<{ pdus?: unknown }>(server, 'GET', `/_matrix/federation/v1/backfill/${encodeURIComponent(roomId)}`, {
          query: { v: extremities, limit: String(limit) },
          timeoutMs: REQUEST_TIMEOUT_MS,
        });
      } catch (err) {
        log.info({ roomId, server, err: (err as Error).message }, 'backfill request failed');
        continue;
      }
      const stored = await takeAnswer(roomId, rules, server, answer?.pdus);
      log.debug({ roomId, server, stored }, 'backfilled');
      if (stored > 0) {
        fruitless.delete(roomId);
        return true;
      }
    }
    fruitless.set(roomId, { extremities: key, until: deps.clock.now() + RETRY_AFTER_MS });
    return false;
  }

  return {
    /**
     * Extends the room's history on this server backwards by about `wanted` events, from a server in the
     * room. True when something new went onto the timeline (read the page again); false when there is
     * nothing before, no server could give more, or the room was tried in vain a moment ago.
     */
    backfill(roomId: string, wanted: number): Promise<boolean> {
      const pending = running.get(roomId);
      if (pending) return pending;
      const attempt = run(roomId, wanted)
        .catch((err: unknown) => {
          log.warn({ roomId, err }, 'backfill failed');
          return false;
        })
        .finally(() => running.delete(roomId));
      running.set(roomId, attempt);
      return attempt;
    },
  };
}

export type Backfiller = ReturnType<typeof createBackfiller>;
