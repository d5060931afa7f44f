/**
 * Push notifications to push gateways (client-server API, "Push notifications"; push gateway API): every
 * new event of the events stream is judged by the push rules of each local user in its room who has an
 * http pusher, and those it notifies are POSTed to each of the user's gateways. The position reached is
 * kept in the database (every few seconds, and on shutdown), so a restart sends what arrived meanwhile; a
 * crash may push the last seconds' events again. One process sends (the one holding the push sender
 * role, as for federation). While no user has a pusher, the events are passed over without being read.
 *
 * The badge (counts.unread) is the number of rooms where the user was pushed a notification since their
 * read receipt there moved, as this process has seen (Synapse counts rooms with unread notifications).
 * A read receipt that clears a room sends the gateways the lower count.
 */
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { TimelineEvent } from '../rooms/index.js';
import type { Scheduler } from '../ephemeral/index.js';
import { actionsNotify, evaluatePushRules } from './evaluate.js';
import { badgeBody, notificationBody, type PushedEvent } from './gateway.js';
import type { PusherRecord } from './ports.js';
import { effectiveRuleset, userPushRules } from './ruleset.js';

/** What the rules and the notification need of the room, read once per event for all its recipients. */
export interface PushRoomFacts {
  readonly memberCount: number;
  /** Each recipient's display name in the room (null: none, or not joined). */
  readonly displayNames: ReadonlyMap<string, string | null>;
  readonly powerLevels: Readonly<Record<string, unknown>> | undefined;
  readonly roomName: string | undefined;
  readonly roomAlias: string | undefined;
  readonly senderDisplayName: string | undefined;
}

export interface PushSenderStore {
  /** How far the events stream has been pushed; the first call starts from the stream's end. */
  position(): Promise<number>;
  setPosition(position: number): Promise<void>;
  eventsAfter(position: number, limit: number): Promise<TimelineEvent[]>;
  /** Whether any local user has an http pusher at all (most small servers' users have none). */
  anyPushers(): Promise<boolean>;
  /** The http pushers of local users joined to the room, by user. */
  roomPushers(roomId: string): Promise<Map<string, PusherRecord[]>>;
  /** A local user's http pushers (an invitee is not joined yet). */
  userPushers(userId: string): Promise<PusherRecord[]>;
  deletePusher(userId: string, appId: string, pushkey: string): Promise<boolean>;
  roomFacts(roomId: string, recipients: readonly string[], sender: string): Promise<PushRoomFacts>;
  /** The stored m.push_rules content of each of these users (users who never changed a rule are absent). */
  pushRules(userIds: readonly string[]): Promise<Map<string, Readonly<Record<string, unknown>>>>;
}

/** A gateway's answer: its status and, on success, the pushkeys it rejected. */
export interface GatewayAnswer {
  readonly status: number;
  readonly rejected: readonly string[];
}

export interface PushSenderDeps {
  readonly store: PushSenderStore;
  /** POSTs a body to a gateway URL; rejects when it cannot be reached (or may not be: private addresses). */
  readonly post: (url: string, body: Record<string, unknown>) => Promise<GatewayAnswer>;
  readonly serverName: string;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly log: Logger;
}

const EVENTS_PER_STEP = 100;
/** How long "nobody has a pusher" is believed before it is asked again (a pusher set in this process says so at once). */
const NO_PUSHERS_TTL_MS = 1_000;
/** How often the position reached is written down while events flow. */
const RECORD_EVERY_MS = 2_000;
/** How long "someone has a pusher" is believed: pushers are rarely all removed. */
const SOME_PUSHERS_TTL_MS = 60_000;
/** A failed delivery is tried again after 1, 2, 4, 8 and 16 seconds, then given up (and logged). */
const RETRY_DELAYS_MS = [1_000, 2_000, 4_000, 8_000, 16_000];

function serverOf(userId: string): string {
  return userId.slice(userId.indexOf(':') + 1);
}

export type PushSender = ReturnType<typeof createPushSender>;

export function createPushSender(deps: PushSenderDeps) {
  const { store, serverName } = deps;
  const log = deps.log.child({ component: 'push-sender' });
  let active = false;
  let followed: number | undefined;
  let heard = -1;
  let running: Promise<void> | undefined;
  let again = false;
  /** Per user, the rooms pushed since the user's receipt there moved (the badge). */
  const unreadRooms = new Map<string, Set<string>>();
  const cancels = new Set<() => void>();
  let anyPushers: { readonly value: boolean; readonly at: number } | undefined;
  let recorded = 0;
  let recordedAt = 0;

  /** Whether any pusher exists, asked at most every few seconds: a server without any judges nothing. */
  async function pushersExist(): Promise<boolean> {
    const now = deps.clock.now();
    const ttl = anyPushers?.value === true ? SOME_PUSHERS_TTL_MS : NO_PUSHERS_TTL_MS;
    if (anyPushers === undefined || now - anyPushers.at >= ttl) anyPushers = { value: await store.anyPushers(), at: now };
    return anyPushers.value;
  }

  function badge(userId: string): number {
    return unreadRooms.get(userId)?.size ?? 0;
  }

  /** Sends one body to one pusher's gateway, trying again a few times; a rejected pushkey removes the pusher. */
  function deliver(pusher: PusherRecord, body: Record<string, unknown>, attempt = 0): void {
    const url = pusher.data.url;
    if (typeof url !== 'string') return;
    deps.post(url, body).then(
      async (answer) => {
        if (answer.status >= 200 && answer.status < 300) {
          if (answer.rejected.includes(pusher.pushkey)) {
            log.info({ userId: pusher.userId, appId: pusher.appId }, 'the push gateway rejected a pushkey: its pusher is removed');
            await store.deletePusher(pusher.userId, pusher.appId, pusher.pushkey);
          }
          return;
        }
        throw new Error(`the push gateway answered HTTP ${answer.status}`);
      },
    ).catch((err: unknown) => {
      const delay = RETRY_DELAYS_MS[attempt];
      if (delay === undefined || !active) {
        log.warn({ err, userId: pusher.userId, appId: pusher.appId }, 'a push notification could not be delivered');
        return;
      }
      const cancel = deps.scheduler.after(delay, () => {
        cancels.delete(cancel);
        deliver(pusher, body, attempt + 1);
      });
      cancels.add(cancel);
    });
  }

  async function pushEvent(stored: TimelineEvent): Promise<void> {
    const { event } = stored;
    const recipients = new Map(await store.roomPushers(event.roomId));
    // An invite notifies its invitee, who is not in the room yet.
    if (event.type === 'm.room.member' && event.content.membership === 'invite' && event.stateKey !== undefined && serverOf(event.stateKey) === serverName) {
      const pushers = await store.userPushers(event.stateKey);
      if (pushers.length > 0) recipients.set(event.stateKey, pushers);
    }
    recipients.delete(event.sender);
    if (recipients.size === 0) return;
    const json = {
      event_id: event.eventId,
      room_id: event.roomId,
      type: event.type,
      sender: event.sender,
      content: event.content,
      origin_server_ts: event.originServerTs,
      ...(event.stateKey === undefined ? {} : { state_key: event.stateKey }),
    };
    // The room's facts and every recipient's rules: two reads per event, whatever the number of recipients.
    const [facts, ownRules] = await Promise.all([
      store.roomFacts(event.roomId, [...recipients.keys()], event.sender),
      store.pushRules([...recipients.keys()]),
    ]);
    const notifications = facts.powerLevels?.notifications;
    const users = facts.powerLevels?.users as Record<string, unknown> | undefined;
    const senderLevel = typeof users?.[event.sender] === 'number' ? users[event.sender] as number
      : typeof facts.powerLevels?.users_default === 'number' ? facts.powerLevels.users_default : 0;
    for (const [userId, pushers] of recipients) {
      const actions = evaluatePushRules(effectiveRuleset(userPushRules(userId, ownRules.get(userId))), json, {
        memberCount: facts.memberCount,
        displayName: facts.displayNames.get(userId) ?? null,
        senderPowerLevel: senderLevel,
        notificationPowerLevels: typeof notifications === 'object' && notifications !== null ? (notifications as Record<string, unknown>) : undefined,
      });
      if (!actionsNotify(actions)) continue;
      let rooms = unreadRooms.get(userId);
      if (!rooms) unreadRooms.set(userId, (rooms = new Set()));
      rooms.add(event.roomId);
      const pushed: PushedEvent = {
        eventId: event.eventId,
        roomId: event.roomId,
        type: event.type,
        sender: event.sender,
        stateKey: event.stateKey,
        content: event.content,
        senderDisplayName: facts.senderDisplayName,
        // What a client would call the room: its name, else its canonical alias.
        roomName: facts.roomName ?? facts.roomAlias,
        roomAlias: facts.roomAlias,
      };
      for (const pusher of pushers) deliver(pusher, notificationBody(pushed, pusher, userId, actions, badge(userId)));
    }
  }

  /**
   * Keeps the position reached, at most every RECORD_EVERY_MS (and when standing down): a crash pushes the
   * last moments' events again rather than the database taking a write for every event.
   */
  async function record(force = false): Promise<void> {
    if (followed === undefined || followed <= recorded) return;
    const now = deps.clock.now();
    if (!force && now - recordedAt < RECORD_EVERY_MS) return;
    await store.setPosition(followed);
    recorded = followed;
    recordedAt = now;
  }

  async function follow(): Promise<void> {
    if (followed === undefined) {
      followed = await store.position();
      recorded = followed;
      recordedAt = deps.clock.now();
    }
    for (;;) {
      if (!active) return;
      // Nobody to push to: the events are passed over unread, up to where the stream is known to be.
      if (!(await pushersExist()) && heard >= followed) {
        followed = heard;
        await record();
        return;
      }
      const events = await store.eventsAfter(followed, EVENTS_PER_STEP);
      if (events.length === 0) return;
      for (const stored of events) {
        try {
          await pushEvent(stored);
        } catch (err) {
          log.warn({ err, eventId: stored.event.eventId }, 'could not work out the push notifications of an event');
        }
      }
      followed = events[events.length - 1]!.streamPosition;
      await record();
      if (events.length < EVENTS_PER_STEP) return;
    }
  }

  function run(): void {
    if (!active) return;
    if (running) {
      again = true;
      return;
    }
    running = follow()
      .catch((err: unknown) => log.warn({ err }, 'push notifications stalled; the next event tries again'))
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          run();
        }
      });
  }

  return {
    /** A pusher was set in this process: the next events are judged whatever was believed. */
    pusherAdded(): void {
      anyPushers = { value: true, at: deps.clock.now() };
    },

    /** The events stream reached `position` (undefined: somewhere new). */
    eventsAdvanced(position?: number): void {
      if (position !== undefined) heard = Math.max(heard, position);
      run();
    },

    /** A local user's read receipt moved in a room: a room no longer unread lowers their badge, which their gateways are told. */
    async receiptMoved(userId: string, roomId: string): Promise<void> {
      const rooms = unreadRooms.get(userId);
      if (!active || !rooms?.delete(roomId)) return;
      try {
        for (const pusher of await store.userPushers(userId)) deliver(pusher, badgeBody(pusher, rooms.size));
      } catch (err) {
        log.warn({ err }, 'could not send a badge update');
      }
    },

    /** This process holds the push sender role: catch up, then follow the events stream. */
    async start(): Promise<void> {
      active = true;
      run();
      await running;
    },

    /** Another process holds the role now (or this one stops). */
    async standDown(): Promise<void> {
      active = false;
      for (const cancel of cancels) cancel();
      cancels.clear();
      await running;
      try {
        await record(true);
      } catch (err) {
        log.warn({ err }, 'could not record how far push notifications went');
      }
      followed = undefined;
    },
  };
}
