import { timerScheduler, type Scheduler } from '../ephemeral/index.js';
import type { Clock, Random } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import {
  DEFAULT_BACKOFF,
  DestinationQueue,
  MAX_EDUS_PER_TRANSACTION,
  MAX_PDUS_PER_TRANSACTION,
  type BackoffPolicy,
  type DestinationQueueDeps,
} from './queue.js';
import { createDestinationFinder, serverOfUser, type DestinationReads } from './sender-destinations.js';
import type { FederationClient, FederationQueueStore, PduForDestination } from './sender-ports.js';
import type { TimelineEvent } from '../rooms/index.js';
import type { RoomEvent } from '../events/index.js';

/** Events read from the stream per step while queuing local events. */
const EVENTS_PER_STEP = 100;
/** Events the sender may have looked through beyond its recorded position (see `followed`). */
const UNRECORDED_EVENTS = 1000;

export interface FederationSenderDeps {
  readonly store: FederationQueueStore;
  readonly client: FederationClient;
  /** The room reads that choose each event's destinations (the room store). */
  readonly rooms: DestinationReads;
  readonly serverName: string;
  readonly clock: Clock;
  readonly random: Random;
  readonly log: Logger;
  /** Timers for back-offs; tests fire them by hand. Default: real timers. */
  readonly scheduler?: Scheduler;
  /** Default: 5 s doubling up to 1 h. */
  readonly backoff?: BackoffPolicy;
  /** Per transaction; default (and at most) the spec's 50 PDUs and 100 EDUs. */
  readonly maxPdus?: number;
  readonly maxEdus?: number;
  /**
   * Work was queued, or a destination was heard from, in a process that is not sending (see start): the
   * sending process must hear of it (server.ts publishes it on the bus; sender-bus.ts calls `nudge` there).
   */
  readonly announce?: (notice: { readonly destinations: readonly string[]; readonly reachable?: boolean }) => void;
  /**
   * Local users' presence now, as m.presence push entries (empty when presence is off): a server that
   * newly shares a room with them is sent it, as the members of a new federated chat expect to see
   * each other online. Absent: nothing is sent on joins.
   */
  readonly presenceOf?: (userIds: readonly string[]) => Promise<ReadonlyArray<Readonly<Record<string, unknown>> & { readonly user_id: string }>>;
  /**
   * The events after `after` (at most `limit`, in stream order) from memory, when it holds them all up to
   * `upTo`, a position the stream is known to have reached: /sync's stream window, which the room store
   * feeds as it commits. Undefined, or absent: the store is read.
   */
  readonly recentEvents?: (after: number, upTo: number, limit: number) => readonly TimelineEvent[] | undefined;
}

/**
 * The outbound side of federation: every event this server originates goes to the other servers in its room,
 * and EDUs (typing, receipts, presence, device lists, to-device) to the servers their producers name. Work is
 * queued in the database per destination (so a restart loses nothing) and sent by one DestinationQueue per
 * server. Local events are found by following the events stream from a persisted position: the room server's
 * "events stream advanced" notice (eventsAdvanced) only says when to look.
 *
 * One process sends: the one started, which holds the sender role (sender-election.ts). In the others the
 * sender only queues what their users do into the store and `announce`s it; the sending process hears of
 * it (`nudge`) and sends it.
 */
export function createFederationSender(deps: FederationSenderDeps) {
  const { store, serverName, clock, log } = deps;
  const sendLog = log.child({ component: 'federation-sender' });
  const destinationFinder = createDestinationFinder(deps.rooms, serverName);
  const queueDeps: DestinationQueueDeps = {
    store,
    client: deps.client,
    clock,
    random: deps.random,
    scheduler: deps.scheduler ?? timerScheduler,
    log: sendLog,
    serverName,
    backoff: deps.backoff ?? DEFAULT_BACKOFF,
    maxPdus: Math.min(deps.maxPdus ?? MAX_PDUS_PER_TRANSACTION, MAX_PDUS_PER_TRANSACTION),
    maxEdus: Math.min(deps.maxEdus ?? MAX_EDUS_PER_TRANSACTION, MAX_EDUS_PER_TRANSACTION),
  };
  const queues = new Map<string, DestinationQueue>();
  let started = false;
  let closed = false;
  let following: Promise<void> | undefined;
  let streamAdvancedMeanwhile = false;

  /** Work was queued for the destinations: sent from here when this process sends, else announced to the one that does. */
  function queued(destinations: readonly string[]): void {
    if (destinations.length === 0) return;
    if (started) for (const destination of destinations) queueOf(destination).wake();
    else deps.announce?.({ destinations });
  }

  function queueOf(destination: string): DestinationQueue {
    let queue = queues.get(destination);
    if (queue === undefined) queues.set(destination, (queue = new DestinationQueue(destination, queueDeps)));
    return queue;
  }

  /**
   * How far the events stream has been looked through (read from the store once), and how far that is
   * recorded there. Events that go nowhere (rooms of this server alone) move only the first: the record
   * follows with the next queued PDU, or once it lags UNRECORDED_EVENTS behind. After a restart the sender
   * looks through those events again and finds again that they go nowhere (an event's destinations follow
   * from the state around it, which never changes), so nothing is lost or sent twice.
   */
  let followed: number | undefined;
  let recorded = 0;
  /** The furthest position the events stream is known to have reached (eventsAdvanced); -1: none heard. */
  let heard = -1;

  /** Records how far the events were looked through, so the next start need not look again (best effort). */
  async function recordFollowed(): Promise<void> {
    if (followed === undefined || followed <= recorded) return;
    try {
      await store.queuePdus([], followed);
      recorded = followed;
    } catch (err) {
      sendLog.warn({ err }, 'could not record the federation sender position');
    }
  }

  /** Queues the local events above the sender's position, step by step, then wakes their destinations. */
  async function followEvents(): Promise<void> {
    if (followed === undefined) {
      followed = await store.senderPosition();
      recorded = followed;
    }
    const woken = new Set<string>();
    try {
      await queueEventsAfter(woken);
    } finally {
      // Woken once everything is queued, so a backlog goes out in full transactions.
      for (const destination of woken) queueOf(destination).wake();
    }
  }

  async function queueEventsAfter(woken: Set<string>): Promise<void> {
    for (;;) {
      const events = (heard > followed! ? deps.recentEvents?.(followed!, heard, EVENTS_PER_STEP) : undefined) ?? (await store.eventsAfter(followed!, EVENTS_PER_STEP));
      if (events.length === 0) return;
      const entries: PduForDestination[] = [];
      for (const stored of events) {
        if (deps.presenceOf !== undefined) await greetNewlyMet(stored, woken);
        // Events received over federation were sent by their origin; only ours go out from here.
        if (!originatedHere(stored.event, serverName)) continue;
        for (const destination of await destinationFinder.destinationsOf(stored)) {
          entries.push({ destination, position: stored.streamPosition, eventId: stored.event.eventId });
        }
      }
      const upTo = events[events.length - 1]!.streamPosition;
      if (entries.length > 0 || upTo - recorded >= UNRECORDED_EVENTS) {
        await store.queuePdus(entries, upTo);
        recorded = upTo;
      }
      followed = upTo;
      for (const entry of entries) woken.add(entry.destination);
      if (events.length < EVENTS_PER_STEP || closed) return;
    }
  }

  /** A join that makes servers newly share a room: each is sent the presence of the users it now meets. */
  async function greetNewlyMet(stored: Parameters<typeof destinationFinder.newlyMet>[0], woken: Set<string>): Promise<void> {
    try {
      const met = await destinationFinder.newlyMet(stored);
      if (met === undefined) return;
      for (const server of met.servers) woken.add(server);
      for (const entry of await deps.presenceOf!(met.localUsers)) {
        // Keyed as the presence producer keys it: only a user's latest presence waits for a server.
        await store.queueEdu(met.servers, 'm.presence', { push: [entry] }, `presence:${entry.user_id}`, clock.now());
      }
    } catch (err) {
      sendLog.warn({ err, eventId: stored.event.eventId }, 'could not send presence to servers newly in a room');
    }
  }

  /**
   * Runs followEvents once at a time; a notice that arrives meanwhile makes it run again after. `position`:
   * where the stream now reaches, when the notice says.
   */
  function eventsAdvanced(position?: number): void {
    if (position !== undefined && position > heard) heard = position;
    if (!started || closed) return;
    if (following !== undefined) {
      streamAdvancedMeanwhile = true;
      return;
    }
    following = (async () => {
      do {
        streamAdvancedMeanwhile = false;
        await followEvents().catch((err: unknown) => sendLog.error({ err }, 'could not queue local events for federation'));
      } while (streamAdvancedMeanwhile && !closed);
    })().finally(() => {
      following = undefined;
    });
  }

  return {
    /** Resumes the destinations with queued work (each respecting its persisted back-off) and catches up on events. */
    async start(): Promise<void> {
      if (started) return;
      started = true;
      // Events first, so what was queued before the stop and what was persisted since go out together.
      eventsAdvanced();
      if (following !== undefined) await following;
      for (const destination of await store.destinationsWithWork()) queueOf(destination).wake();
    },

    /** The room server persisted events (the bus's "events stream advanced"): queue what is ours. */
    eventsAdvanced,

    /**
     * Queues an EDU for each destination (this server is skipped). With a dedupe key, a waiting EDU of the same
     * destination and key is replaced: e.g. `typing:<room>:<user>` keeps only a user's latest typing state.
     */
    async enqueueEdu(destinations: Iterable<string>, eduType: string, content: Readonly<Record<string, unknown>>, dedupeKey?: string): Promise<void> {
      const targets = [...new Set(destinations)].filter((d) => d !== serverName && d !== '');
      if (targets.length === 0 || closed) return;
      await store.queueEdu(targets, eduType, content, dedupeKey ?? null, clock.now());
      queued(targets);
    },

    /**
     * Queues an event this server holds but did not originate, which it must pass on: a join, leave or knock a
     * remote server handed in through send_join/send_leave/send_knock goes to the room's other servers (all
     * but `except`, its origin), as the resident server in the handshake.
     */
    async relayEvent(eventId: string, except: readonly string[]): Promise<void> {
      if (closed) return;
      const stored = (await deps.rooms.events([eventId])).get(eventId);
      if (stored === undefined || stored.streamPosition === null) return;
      const skip = new Set(except);
      const destinations = (await destinationFinder.destinationsOf({ ...stored, streamPosition: stored.streamPosition })).filter((d) => !skip.has(d));
      // Position 0: the sender's own position is not moved (greatest() keeps it), so no local event is skipped.
      await store.queuePdus(destinations.map((destination) => ({ destination, position: stored.streamPosition as number, eventId })), 0);
      queued(destinations);
    },

    /** The other servers with a joined member in the room now: where an EDU about the room goes. */
    roomDestinations: (roomId: string) => destinationFinder.roomDestinations(roomId),

    /**
     * A local user's typing changed (null: stopped): tells the room's other servers. Remote users' changes
     * are ignored (their own server tells the others).
     */
    async typingChanged(roomId: string, userId: string, expiresTs: number | null): Promise<void> {
      // Every process hears of every typing change (the bus); the sending process queues it.
      if (serverOfUser(userId) !== serverName || closed || !started) return;
      const typing = expiresTs !== null && expiresTs > clock.now();
      await this.enqueueEdu(await destinationFinder.roomDestinations(roomId), 'm.typing', { room_id: roomId, user_id: userId, typing }, `typing:${roomId}:${userId}`);
    },

    /** The destination was heard from (an inbound request): its back-off ends and queued work goes now. */
    async destinationReachable(destination: string): Promise<void> {
      if (destination === serverName || closed) return;
      if (!started) {
        deps.announce?.({ destinations: [destination], reachable: true });
        return;
      }
      await queues.get(destination)?.markReachable();
    },

    /**
     * Another process queued work for these destinations, or heard from them (`reachable`): the sending
     * process sends it now. Ignored elsewhere.
     */
    async nudge(destinations: readonly string[], reachable = false): Promise<void> {
      if (!started || closed) return;
      for (const destination of destinations) {
        if (destination === serverName) continue;
        if (reachable) await queueOf(destination).markReachable();
        else queueOf(destination).wake();
      }
    },

    /** Whether this process is the one sending (it was started and has not stood down). */
    get sending(): boolean {
      return started && !closed;
    },

    /**
     * Stops sending without closing (another process took over, or this one lost its hold on the role):
     * transactions in flight finish, nothing new goes out until `start` is called again.
     */
    async standDown(): Promise<void> {
      if (!started) return;
      started = false;
      if (following !== undefined) await following;
      await recordFollowed();
      // Another process may move the position meanwhile: a new start reads it afresh.
      followed = undefined;
      const stopping = [...queues.values()];
      queues.clear();
      await Promise.all(stopping.map((q) => q.close()));
    },

    /** Resolves once local events are queued and no transaction is in flight (tests, shutdown). */
    async idle(): Promise<void> {
      for (;;) {
        if (following !== undefined) await following;
        await Promise.all([...queues.values()].map((q) => q.idle()));
        if (following === undefined) return;
      }
    },

    /** Whether a destination is waiting out a back-off. */
    isBackingOff(destination: string): boolean {
      return queues.get(destination)?.backingOff ?? false;
    },

    /** Stops: no new transactions; waits for those in flight. Queued work stays stored for the next start. */
    async close(): Promise<void> {
      closed = true;
      if (following !== undefined) await following;
      await recordFollowed();
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}

export type FederationSender = ReturnType<typeof createFederationSender>;

/**
 * Whether this server made the event: its sender is ours, or it is a third-party invite this server issued
 * for the 3pid invite's sender of another server (src/rooms/third-party-invites.ts), which carries our
 * signature and not that server's. An invite from another server that we countersigned carries theirs.
 */
function originatedHere(event: RoomEvent, serverName: string): boolean {
  const senderServer = serverOfUser(event.sender);
  if (senderServer === serverName) return true;
  if (event.type !== 'm.room.member' || event.content.membership !== 'invite' || !Object.hasOwn(event.content, 'third_party_invite')) return false;
  const signatures = event.pdu.signatures;
  if (typeof signatures !== 'object' || signatures === null) return false;
  return Object.hasOwn(signatures, serverName) && (senderServer === undefined || !Object.hasOwn(signatures, senderServer));
}
