/**
 * Pushes events to application services (application service API, "Pushing events"): each service follows
 * the events stream on its own, picks the events that interest it, and is sent them in transactions
 * (PUT /_matrix/app/v1/transactions/{txnId}), one at a time and in stream order. A transaction is stored
 * before it is sent, together with the position past its events, and deleted once the service accepts
 * it: a service that cannot be reached is tried again, backing off exponentially up to five minutes,
 * with the very same transaction, and then sent what arrived meanwhile. One process sends (the one
 * holding the role, as for federation and push).
 *
 * An event interests a service when its sender or (member events) its target is one of the service's
 * users, its room is in the service's room namespaces, or its room has a local joined member who is one
 * of the service's users or an alias in its alias namespaces. The members are learned once per room and
 * then kept up to date from the member events the feed itself goes through.
 *
 * A service with receive_ephemeral (Matrix 1.13) also gets, in the `ephemeral` list of its transactions,
 * typing and read receipts of the rooms that interest it and the presence of its users and of the users
 * who share such a room, from the moment this process took the role (they are not kept across restarts:
 * typing and presence are of the moment). Private read receipts are not sent.
 */
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { PresenceEvent, ReceiptContent, Scheduler, TypingSince } from '../ephemeral/index.js';
import { toClientEvent, type TimelineEvent } from '../rooms/index.js';
import type { AppServiceClient } from './client.js';
import { interestedInRoom, interestedWithoutRoom, type AppService, type AppServices } from './registration.js';

export interface AppServiceTransaction {
  readonly txnId: number;
  /** The request body, as stored (JSON). */
  readonly body: string;
}

export interface AppServiceStore {
  /** How far the stream has been looked through for the service; the first call starts it at the stream's end. */
  position(serviceId: string): Promise<number>;
  setPosition(serviceId: string, position: number): Promise<void>;
  eventsAfter(position: number, limit: number): Promise<TimelineEvent[]>;
  /** The stored transaction not yet accepted by the service, if any. */
  pendingTransaction(serviceId: string): Promise<AppServiceTransaction | undefined>;
  /** Stores the next transaction and moves the position to `upTo`, at once. */
  createTransaction(serviceId: string, upTo: number, body: string): Promise<AppServiceTransaction>;
  /** The service accepted the transaction. */
  completeTransaction(serviceId: string, txnId: number): Promise<void>;
  /** The local users joined to the room now. */
  localJoinedMembers(roomId: string): Promise<string[]>;
  /** The aliases pointing to each of the rooms (rooms without any are left out). */
  aliasesOf(roomIds: readonly string[]): Promise<Map<string, string[]>>;
}

/** Where typing, receipts and presence come from, for services with receive_ephemeral. */
export interface EphemeralSources {
  readonly typing: { typingSince(roomIds: readonly string[], since: number): TypingSince; position(): number };
  readonly receipts: {
    receiptsSince(viewer: string, roomIds: readonly string[], since: number): Promise<{ readonly position: number; readonly rooms: Map<string, ReceiptContent> }>;
    position(): Promise<number>;
  };
  readonly presence: {
    presenceSince(userIds: readonly string[], since: number): Promise<{ readonly position: number; readonly events: readonly PresenceEvent[] }>;
    position(): Promise<number>;
  };
  /** The rooms a user is joined to. */
  readonly joinedRooms: (userId: string) => Promise<readonly string[]>;
}

export interface AppServiceSenderDeps {
  readonly services: AppServices;
  /** Absent: no service gets ephemeral data (tests that do not need it). */
  readonly ephemeral?: EphemeralSources;
  readonly store: AppServiceStore;
  readonly client: AppServiceClient;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly log: Logger;
}

const EVENTS_PER_STEP = 100;
/** How often the position is written while no event interests the service (each transaction writes it anyway). */
const RECORD_EVERY_MS = 2_000;
const FIRST_RETRY_MS = 1_000;
const LONGEST_RETRY_MS = 5 * 60_000;
const TRANSACTION_TIMEOUT_MS = 60_000;
/** Rooms whose members a feed keeps; the least recently seen are forgotten (and read again when met). */
const MEMBER_ROOMS_KEPT = 10_000;
/** Ephemeral items waiting for a service that is down; beyond this the oldest go (they are of the moment). */
const EPHEMERAL_KEPT = 1_000;

export type AppServiceSender = ReturnType<typeof createAppServiceSender>;

export function createAppServiceSender(deps: AppServiceSenderDeps) {
  const { store, services } = deps;
  const log = deps.log.child({ component: 'appservice-sender' });
  let active = false;

  /** One service's way along the stream. */
  class Feed {
    position: number | undefined;
    recorded = 0;
    recordedAt = 0;
    running: Promise<void> | undefined;
    again = false;
    failures = 0;
    retryAt = 0;
    cancelRetry: (() => void) | undefined;
    /**
     * The stored transaction the service has not taken yet: null when there is none, undefined until read
     * (this process is the only sender while it holds the role, so it knows after one read).
     */
    pending: AppServiceTransaction | null | undefined;
    /** Per room: its local joined members that are the service's users. */
    readonly members = new Map<string, Set<string>>();
    /** Typing, receipts and presence for the next transaction (receive_ephemeral). */
    ephemeral: Record<string, unknown>[] = [];
    /** Where the feed's ephemeral streams stand; undefined until it first reads them. */
    streams: { typing: number; receipts: number; presence: number } | undefined;
    /** Ephemeral reads, one after another. */
    ephemeralChain: Promise<void> = Promise.resolve();

    constructor(readonly service: AppService) {}

    wake(): void {
      if (!active || deps.clock.now() < this.retryAt) return;
      if (this.running) {
        this.again = true;
        return;
      }
      this.running = this.follow()
        .catch((err: unknown) => {
          // What is stored is read again: a write that failed may have committed.
          this.pending = undefined;
          this.position = undefined;
          log.warn({ err, appservice: this.service.id }, 'application service feed stalled; the next event tries again');
        })
        .finally(() => {
          this.running = undefined;
          if (this.again) {
            this.again = false;
            this.wake();
          }
        });
    }

    async follow(): Promise<void> {
      for (;;) {
        if (!active) return;
        if (this.pending === undefined) this.pending = (await store.pendingTransaction(this.service.id)) ?? null;
        if (this.pending !== null && !(await this.deliver(this.pending))) return;
        if (this.position === undefined) {
          this.position = await store.position(this.service.id);
          this.recorded = this.position;
          this.recordedAt = deps.clock.now();
        }
        const events = await store.eventsAfter(this.position, EVENTS_PER_STEP);
        const chosen = events.length === 0 ? [] : await this.select(events);
        const ephemeral = this.ephemeral.splice(0);
        const upTo = events.at(-1)?.streamPosition ?? this.position;
        if (chosen.length > 0 || ephemeral.length > 0) {
          const now = deps.clock.now();
          const body = JSON.stringify({ events: chosen.map(({ event }) => toClientEvent(event, { now })), ...(ephemeral.length > 0 ? { ephemeral } : {}) });
          this.pending = await store.createTransaction(this.service.id, upTo, body);
          this.position = upTo;
          this.recorded = upTo;
          this.recordedAt = now;
        } else if (events.length > 0) {
          this.position = upTo;
          await this.record();
        }
        if (events.length < EVENTS_PER_STEP && chosen.length === 0 && ephemeral.length === 0) return;
      }
    }

    /** Sends the stored transaction; false when the service did not take it (a retry is scheduled). */
    async deliver(transaction: AppServiceTransaction): Promise<boolean> {
      let failure: string;
      try {
        const response = await deps.client.request(this.service, {
          method: 'PUT',
          path: `/transactions/${transaction.txnId}`,
          body: transaction.body,
          timeoutMs: TRANSACTION_TIMEOUT_MS,
        });
        if (response.status >= 200 && response.status < 300) {
          await store.completeTransaction(this.service.id, transaction.txnId);
          this.pending = null;
          if (this.failures > 0) log.info({ appservice: this.service.id }, 'application service reachable again');
          this.failures = 0;
          return true;
        }
        failure = `HTTP ${response.status}`;
      } catch (err) {
        failure = (err as Error).message;
      }
      const delay = Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** this.failures);
      // Logged as a warning when it starts, quietly while it lasts: an outage of hours is not thousands of warnings.
      const entry = { appservice: this.service.id, txnId: transaction.txnId, failure, retryInMs: delay };
      if (this.failures === 0) log.warn(entry, 'application service did not take a transaction; retrying');
      else log.debug(entry, 'application service still not taking transactions');
      this.failures++;
      this.retryAt = deps.clock.now() + delay;
      this.cancelRetry = deps.scheduler.after(delay, () => {
        this.cancelRetry = undefined;
        this.retryAt = 0;
        this.wake();
      });
      return false;
    }

    /** Writes the position down at most every RECORD_EVERY_MS (a crash looks through a few seconds again). */
    async record(force = false): Promise<void> {
      if (this.position === undefined || this.position <= this.recorded) return;
      const now = deps.clock.now();
      if (!force && now - this.recordedAt < RECORD_EVERY_MS) return;
      await store.setPosition(this.service.id, this.position);
      this.recorded = this.position;
      this.recordedAt = now;
    }

    async select(events: readonly TimelineEvent[]): Promise<TimelineEvent[]> {
      const service = this.service;
      const chosen: TimelineEvent[] = [];
      const undecided: TimelineEvent[] = [];
      for (const stored of events) {
        const { event } = stored;
        // The room's members as of before the event decide, then the event changes them.
        const direct = interestedWithoutRoom(service, services, event);
        const members = direct ? undefined : await this.roomMembers(event.roomId);
        if (direct || interestedInRoom(service, services, members ?? [], [])) chosen.push(stored);
        else undecided.push(stored);
        if (event.type === 'm.room.member' && event.stateKey !== undefined && services.ownsUser(service, event.stateKey)) {
          const known = this.members.get(event.roomId);
          if (known !== undefined) {
            if (event.content.membership === 'join') known.add(event.stateKey);
            else known.delete(event.stateKey);
          }
        }
      }
      if (undecided.length > 0 && service.aliases.length > 0) {
        const aliases = await store.aliasesOf([...new Set(undecided.map(({ event }) => event.roomId))]);
        for (const stored of undecided) {
          if (interestedInRoom(service, services, [], aliases.get(stored.event.roomId) ?? [])) chosen.push(stored);
        }
        chosen.sort((a, b) => a.streamPosition - b.streamPosition);
      }
      return chosen;
    }

    /** Whether a room interests the service now (for its typing and receipts). */
    async roomInteresting(roomId: string): Promise<boolean> {
      const service = this.service;
      if (service.rooms.some((namespace) => namespace.regex.test(roomId))) return true;
      if ((await this.roomMembers(roomId)).size > 0) return true;
      if (service.aliases.length === 0) return false;
      return interestedInRoom(service, services, [], (await store.aliasesOf([roomId])).get(roomId) ?? []);
    }

    /** Queues ephemeral items for the next transaction and wakes the feed. */
    queueEphemeral(items: readonly Record<string, unknown>[]): void {
      if (items.length === 0) return;
      this.ephemeral.push(...items);
      if (this.ephemeral.length > EPHEMERAL_KEPT) this.ephemeral.splice(0, this.ephemeral.length - EPHEMERAL_KEPT);
      this.wake();
    }

    /** Runs one ephemeral read after the ones before it; a failure is logged (the data is of the moment). */
    onEphemeral(read: (sources: EphemeralSources, streams: { typing: number; receipts: number; presence: number }) => Promise<void>): void {
      const sources = deps.ephemeral;
      if (!active || sources === undefined || !this.service.receiveEphemeral) return;
      this.ephemeralChain = this.ephemeralChain
        .then(async () => {
          this.streams ??= { typing: sources.typing.position(), receipts: await sources.receipts.position(), presence: await sources.presence.position() };
          await read(sources, this.streams);
        })
        .catch((err: unknown) => log.warn({ err, appservice: this.service.id }, 'could not read ephemeral data for an application service'));
    }

    async roomMembers(roomId: string): Promise<Set<string>> {
      let known = this.members.get(roomId);
      if (known !== undefined) {
        // Most recently seen last, so the first entries are the ones to forget.
        this.members.delete(roomId);
        this.members.set(roomId, known);
        return known;
      }
      known = new Set((await store.localJoinedMembers(roomId)).filter((userId) => services.ownsUser(this.service, userId)));
      this.members.set(roomId, known);
      if (this.members.size > MEMBER_ROOMS_KEPT) this.members.delete(this.members.keys().next().value!);
      return known;
    }
  }

  const feeds = services.all.filter((service) => service.url !== null).map((service) => new Feed(service));

  async function interestingRooms(feed: Feed, roomIds: readonly string[]): Promise<string[]> {
    const found: string[] = [];
    for (const roomId of new Set(roomIds)) if (await feed.roomInteresting(roomId)) found.push(roomId);
    return found;
  }

  return {
    /** Who types changed in these rooms (the typing stream's notice). */
    typingChanged(roomIds: readonly string[]): void {
      for (const feed of feeds) {
        feed.onEphemeral(async (sources, streams) => {
          const rooms = await interestingRooms(feed, roomIds);
          const changes = sources.typing.typingSince(rooms, streams.typing);
          streams.typing = Math.max(streams.typing, changes.position);
          feed.queueEphemeral([...changes.rooms].map(([roomId, userIds]) => ({ type: 'm.typing', room_id: roomId, content: { user_ids: userIds } })));
        });
      }
    },

    /** Read receipts moved in these rooms (the receipts stream's notice). */
    receiptsChanged(roomIds: readonly string[]): void {
      for (const feed of feeds) {
        feed.onEphemeral(async (sources, streams) => {
          const rooms = await interestingRooms(feed, roomIds);
          // No viewer: private receipts (m.read.private) are left out.
          const changes = await sources.receipts.receiptsSince('', rooms, streams.receipts);
          streams.receipts = Math.max(streams.receipts, changes.position);
          feed.queueEphemeral([...changes.rooms].map(([roomId, content]) => ({ type: 'm.receipt', room_id: roomId, content })));
        });
      }
    },

    /** These users' presence changed (the presence stream's notice). */
    presenceChanged(userIds: readonly string[]): void {
      for (const feed of feeds) {
        feed.onEphemeral(async (sources, streams) => {
          const wanted: string[] = [];
          for (const userId of new Set(userIds)) {
            if (services.ownsUser(feed.service, userId) || (await interestingRooms(feed, await sources.joinedRooms(userId))).length > 0) wanted.push(userId);
          }
          const changes = await sources.presence.presenceSince(wanted, streams.presence);
          streams.presence = Math.max(streams.presence, changes.position);
          feed.queueEphemeral(changes.events.map((event) => ({ ...event })));
        });
      }
    },

    /** The events stream moved: every feed looks for what is new. */
    eventsAdvanced(): void {
      for (const feed of feeds) feed.wake();
    },

    /** This process holds the role: each feed catches up and then follows the stream. */
    async start(): Promise<void> {
      active = true;
      for (const feed of feeds) {
        // The ephemeral streams are followed from now on: their positions are read before any notice.
        feed.onEphemeral(async () => undefined);
        feed.wake();
      }
    },

    /** Another process holds the role now (or this one stops). */
    async standDown(): Promise<void> {
      active = false;
      for (const feed of feeds) {
        feed.cancelRetry?.();
        feed.cancelRetry = undefined;
        feed.retryAt = 0;
        feed.failures = 0;
      }
      await Promise.all(feeds.map((feed) => feed.running));
      await Promise.all(feeds.map((feed) => feed.ephemeralChain));
      for (const feed of feeds) {
        feed.ephemeral = [];
        feed.streams = undefined;
        try {
          await feed.record(true);
        } catch (err) {
          log.warn({ err, appservice: feed.service.id }, 'could not record how far the application service was sent');
        }
        feed.position = undefined;
        feed.pending = undefined;
        feed.members.clear();
      }
    },
  };
}
