import { stateKey } from '../events/index.js';
import { formatPaginationToken, formatStreamToken, parseStreamToken, ZERO_STREAM_TOKEN, type StreamName, type StreamToken } from '../protocol/index.js';
import type { Clock } from '../platform/clock.js';
import { createClientEvents, createVisibility, type ErasedUsers, type StoredEvent } from '../rooms/index.js';
import { blocksInvites, INVITE_PERMISSION_CONFIG, type Requester } from '../users/index.js';
import { parseInlineFilter, syncFilter, type SyncFilter } from './filter.js';
import type { SyncNotifier } from './notifier.js';
import type { DeviceKeyCounts, HangUpWatch, MembershipRow, ReadMarks, SnapshotPositions, Standing, SyncReads, SyncStore, SyncStreams } from './ports.js';
import { timelineRoom, type RoomSyncContext, type StateAfterKey, type TimelineRoomJson } from './rooms.js';
import { strippedState, type StrippedEvent } from './stripped.js';
import { SentMembers, type DeviceSentMembers } from './sent-members.js';
import { IGNORED_USER_LIST, ignoredUsersOf } from './ignored-users.js';
import { addCounts, notificationCounts, NOTHING_READ, sameMarks, type NotificationCounts, type PushJudge, type RoomCounts } from './notifications.js';
import { deviceListDelta, type DeviceLists } from './device-lists.js';

/**
 * GET /sync: everything that changed for the user since their token. The rooms, their timelines and
 * account data are read in one database snapshot; the streams kept elsewhere (typing in memory, receipts,
 * to-device, presence) are read after it, each up to the position it reports. With nothing new, the
 * request waits (long-poll) until a notice names the user or one of their rooms, or the timeout passes.
 */

export interface SyncRequest {
  readonly since?: string;
  readonly timeoutMs: number;
  readonly fullState: boolean;
  /** A filter id or an inline JSON filter, as the query parameter gives it. */
  readonly filter?: string;
  /** set_presence: 'online' (the default) and 'unavailable' mark the user so; 'offline' leaves presence alone. */
  readonly setPresence?: 'online' | 'offline' | 'unavailable';
  /**
   * use_state_after (spec 1.16), named by the key the state goes under: `state_after`, or MSC4222's
   * `org.matrix.msc4222.state_after` for a client that asked by the unstable name (matrix-js-sdk).
   */
  readonly useStateAfter?: StateAfterKey | false;
  /** A waiting long-poll stops waiting when the client goes away. */
  readonly hangUp?: HangUpWatch;
}

interface AccountDataEvent {
  readonly type: string;
  readonly content: Readonly<Record<string, unknown>>;
}

interface EphemeralEvent {
  readonly type: string;
  readonly content: object;
}

export interface JoinedRoomJson extends TimelineRoomJson {
  account_data: { events: AccountDataEvent[] };
  ephemeral: { events: EphemeralEvent[] };
  unread_notifications: Record<string, number>;
  /** With the filter's unread_thread_notifications: per thread root, the counts of threads with any. */
  unread_thread_notifications?: Record<string, NotificationCounts>;
}

export interface SyncResponse {
  next_batch: string;
  rooms: {
    join: Record<string, JoinedRoomJson>;
    invite: Record<string, { invite_state: { events: StrippedEvent[] } }>;
    knock: Record<string, { knock_state: { events: StrippedEvent[] } }>;
    leave: Record<string, TimelineRoomJson & { account_data: { events: AccountDataEvent[] } }>;
    /** Rooms the device peeks into (MSC2753); present only when one has news. */
    peek?: Record<string, TimelineRoomJson>;
  };
  account_data: { events: AccountDataEvent[] };
  presence: { events: object[] };
  to_device: { events: object[] };
  device_lists: { changed: string[]; left: string[] };
  /** Left out only without the keys service (some unit tests wire none); clients then keep what they had. */
  device_one_time_keys_count?: Record<string, number>;
  device_unused_fallback_key_types?: string[];
}

export interface SyncDeps {
  readonly store: SyncStore;
  readonly notifier: SyncNotifier;
  readonly clock: Clock;
  /** A stored filter's JSON (the filter service's get). */
  readonly storedFilter: (requester: Requester, filterId: string) => Promise<Readonly<Record<string, unknown>>>;
  /** The streams outside the rooms tables; without them (some unit tests) those sections stay empty. */
  readonly streams?: SyncStreams;
  /** Erased accounts, whose events are served redacted to who was not in the room then (src/rooms/erasure.ts). */
  readonly erased?: ErasedUsers;
}

/** The account data type push rules are kept under (src/push). */
const PUSH_RULES = 'm.push_rules';

/** The longest a client may make one long-poll wait. */
export const MAX_SYNC_TIMEOUT_MS = 10 * 60_000;

/** Clients whose resume point a process keeps (see `resumable`). */
const MAX_RESUMABLE = 100_000;

/** Filters a process keeps normalised. */
const MAX_FILTERS = 10_000;

/** Where a client's last sync left off. */
interface Resumable {
  readonly token: string;
  /** The filter parameter it used: the rooms it covered depend on it. */
  readonly filter: string | undefined;
  readonly rooms: readonly string[];
  readonly sequence: number;
}

/** What the snapshot phase found: the response so far and what the second phase needs. */
interface RoomsPhase {
  readonly response: SyncResponse;
  readonly token: StreamToken;
  readonly empty: boolean;
  /** Rooms the user is joined to now: ephemeral events go to these. */
  readonly joined: readonly string[];
  /**
   * Users sharing a joined room with the user (and the user): whose presence the user sees. Only the user if
   * the presence stream did not move past the token, when no presence is read.
   */
  readonly presenceOf: readonly string[];
  /** Users the user newly shares a room with: their presence is sent even if it did not change. */
  readonly newlyMet: readonly string[];
  /** Every room in the response or the user's membership: their notices wake the next wait. */
  readonly rooms: readonly string[];
  readonly eventsPosition: number;
  /** The database streams' positions the snapshot read: the later reads go up to these. */
  readonly positions: SnapshotPositions;
  readonly keyCounts: DeviceKeyCounts;
  /** What the phase learned for later syncs (members sent, unread counts), to keep once it is the result. */
  readonly effects: ReadonlyArray<() => void>;
}

const NOTHING_COUNTED: RoomCounts = Object.freeze({ main: Object.freeze({ notification_count: 0, highlight_count: 0 }), threads: new Map() });

/** The room's counts as one, threads and main timeline together (clients that do not ask for them apart). */
function totalCounts(counts: RoomCounts): NotificationCounts {
  let notifications = counts.main.notification_count;
  let highlights = counts.main.highlight_count;
  for (const thread of counts.threads.values()) {
    notifications += thread.notification_count;
    highlights += thread.highlight_count;
  }
  return { notification_count: notifications, highlight_count: highlights };
}

/** A user's unread counts in a room as last worked out. */
interface CountsMemo {
  /** Where the user's read receipts stood, as read then. */
  readonly receipt: ReadMarks;
  /** The receipts-stream position that receipt was read at: it holds until an own receipt moves after it. */
  readonly receiptsAt: number;
  /** Where counting started: the unthreaded receipt, or the user's join if later. */
  readonly readUpTo: number;
  /** The events position counted up to. */
  readonly upTo: number;
  readonly counts: RoomCounts;
}

/** A room's place in this sync, from the user's membership now and at the since-token. */
interface Plan {
  readonly membership: MembershipRow;
  readonly section: 'join' | 'invite' | 'knock' | 'leave';
  readonly initial: boolean;
  /** For a room left after only an invite or knock: show the leave event and nothing before it. */
  readonly onlyOwnLeave?: boolean;
  /** The user joined (or left and rejoined, or joined and left) since the token. */
  readonly newlyJoined?: boolean;
  /** Joined at the token and ever since: no member event of the user's in between. */
  readonly steadyMember?: boolean;
}


/**
 * The device a sync reads to-device messages, key counts and sent members for. An application service
 * syncing for a user without naming a device reads none of them: no device has the empty id.
 */
function syncDevice(requester: Requester): string {
  return requester.deviceId ?? '';
}

export function createSyncService(deps: SyncDeps) {
  const { store, notifier, clock, streams } = deps;
  const sentMembers = new SentMembers();

  /**
   * Filters as normalised before: inline ones by their text, stored ones by user and id (a stored filter
   * never changes). A client sends the same filter with every long-poll.
   */
  const filters = new Map<string, SyncFilter>();
  const noFilter = syncFilter(undefined);

  async function filterFor(requester: Requester, param: string | undefined): Promise<SyncFilter> {
    if (param === undefined) return noFilter;
    const inline = param.trimStart().startsWith('{');
    const key = inline ? param : `${requester.userId}\n${param}`;
    const known = filters.get(key);
    if (known !== undefined) return known;
    const filter = syncFilter(inline ? parseInlineFilter(param) : await deps.storedFilter(requester, param));
    if (filters.size >= MAX_FILTERS) filters.clear();
    filters.set(key, filter);
    return filter;
  }

  /** The membership of the user in each room at the since-token, for the rooms whose membership changed. */
  async function membershipAt(reads: SyncReads, userId: string, rooms: Iterable<string>, position: number): Promise<Map<string, string>> {
    const result = new Map<string, string>();
    for (const roomId of rooms) {
      const eventId = (await reads.stateAtPosition(roomId, position)).get(stateKey('m.room.member', userId));
      const event = eventId === undefined ? undefined : (await reads.events([eventId])).get(eventId);
      result.set(roomId, membershipValue(event));
    }
    return result;
  }

  async function plans(reads: SyncReads, userId: string, standing: Standing, since: StreamToken | undefined, to: number, fullState: boolean, filter: SyncFilter): Promise<Plan[]> {
    const forgotten = new Set(standing.forgotten);
    const memberships = standing.memberships.filter(
      (row) => filter.room(row.roomId) && !(sectionOf(row.membership) === 'leave' && forgotten.has(row.roomId)),
    );
    if (since === undefined) {
      return memberships
        .filter((row) => sectionOf(row.membership) !== 'leave' || filter.includeLeave)
        .map((row) => ({ membership: row, section: sectionOf(row.membership), initial: true }));
    }
    const changes = await reads.membershipChanges(userId, since.events, to);
    const changed = new Set(changes.map((row) => row.roomId));
    const before = await membershipAt(reads, userId, changed, since.events);
    const joinedInBatch = new Set(changes.filter((row) => row.membership === 'join').map((row) => row.roomId));
    const notJoinedInBatch = new Set(changes.filter((row) => row.membership !== 'join').map((row) => row.roomId));
    const result: Plan[] = [];
    for (const row of memberships) {
      const section = sectionOf(row.membership);
      const was = before.get(row.roomId);
      if (!changed.has(row.roomId) || was === undefined) {
        // Unchanged: joined rooms sync incrementally; invites, knocks and departures were sent already.
        if (section === 'join') result.push({ membership: row, section, initial: fullState, steadyMember: true });
        continue;
      }
      // A room joined and left between two syncs is sent whole, like one joined (as Synapse does).
      const joinedThenLeft = section === 'leave' && was !== 'join' && joinedInBatch.has(row.roomId);
      if (section === 'leave' && (was === 'leave' || was === 'ban') && !joinedThenLeft) continue;
      const newlyJoined = (section === 'join' && (was !== 'join' || notJoinedInBatch.has(row.roomId))) || joinedThenLeft;
      result.push({
        membership: row,
        section,
        initial: fullState || newlyJoined,
        newlyJoined,
        onlyOwnLeave: section === 'leave' && was !== 'join' && !joinedThenLeft,
      });
    }
    return result;
  }

  function accountDataSections(changes: Awaited<ReturnType<SyncReads['accountDataSince']>>, userId: string, filter: SyncFilter) {
    const rooms = new Map<string, AccountDataEvent[]>();
    const global: AccountDataEvent[] = [];
    for (const change of changes) {
      const entry = { type: change.type, content: change.content };
      if (change.roomId === null) {
        if (filter.accountData.matches(change.type, userId)) global.push(entry);
      } else if (filter.roomAccountData.matches(change.type, userId)) {
        rooms.set(change.roomId, [...(rooms.get(change.roomId) ?? []), entry]);
      }
    }
    return { global, rooms };
  }

  /** Phase one, in the snapshot: rooms, timelines, state, account data. */
  async function roomsPhase(
    reads: SyncReads,
    requester: Requester,
    request: SyncRequest,
    since: StreamToken | undefined,
    filter: SyncFilter,
  ): Promise<RoomsPhase> {
    const userId = requester.userId;
    // What this phase learns for later syncs, kept once the snapshot has given its result.
    const effects: Array<() => void> = [];
    const held = standingData.get(userId);
    const standing = await reads.standing(userId, syncDevice(requester), STANDING_ACCOUNT_DATA, held?.at ?? 0);
    const own = standingDataFrom(userId, held, standing);
    const { positions } = standing;
    const judge = own.judge();
    const eventsPosition = positions.events;
    // Object.assign, not a spread followed by new keys (V8's slow path, see below): once per sync.
    const token: StreamToken = Object.assign({}, since ?? ZERO_STREAM_TOKEN, {
      events: eventsPosition,
      accountData: positions.accountData,
      deviceLists: positions.deviceLists,
      peeks: positions.peeks,
    });
    const visibility = createVisibility({ store: reads });
    const ctx: RoomSyncContext = {
      userId,
      deviceId: syncDevice(requester),
      filter,
      useStateAfter: request.useStateAfter ?? false,
      visible: async (user, roomId, events) => {
        const ids = await visibility.visibleIds(user, roomId, events.map(({ event }) => event));
        return events.filter(({ event }) => ids.has(event.eventId));
      },
      clientEvents: createClientEvents({ store: reads, relations: reads, clock, ...(deps.erased ? { erased: deps.erased } : {}) }),
      ignoredUsers: own.ignoredUsers(),
      sentMembers: filter.lazyLoadMembers && !filter.includeRedundantMembers ? deferred(sentMembers.forDevice(userId, syncDevice(requester), since === undefined), effects) : undefined,
    };
    const accountDataNews = since !== undefined && positions.accountData <= since.accountData ? [] : await reads.accountDataSince(userId, since?.accountData ?? 0);
    const accountData = accountDataSections(accountDataNews, userId, filter);
    // Whose presence the user sees is worth working out only if the filter lets presence through, and only
    // if the presence stream moved past the token: else the streams phase reads none (members of a room newly
    // joined are still met, and their presence sent as it is).
    const wantsPresence = filter.presence.matches('m.presence', userId);
    const presenceMoved = since === undefined || positions.presence > since.presence;

    const response: SyncResponse = {
      next_batch: '',
      rooms: { join: {}, invite: {}, knock: {}, leave: {} },
      account_data: { events: accountData.global },
      presence: { events: [] },
      to_device: { events: [] },
      device_lists: { changed: [], left: [] },
    };
    let empty = accountData.global.length === 0;
    const rooms: string[] = [];
    const joined: string[] = [];
    const presenceOf = new Set<string>([userId]);
    const newlyMet = new Set<string>();
    const joinedAt = new Map<string, number>();
    const newlyJoined: string[] = [];
    const left: string[] = [];
    /** Per room in the leave section, the position its timeline there ends at. */
    const leftPositions = new Map<string, number>();
    for (const plan of await plans(reads, userId, standing, since, eventsPosition, request.fullState, filter)) {
      const { roomId } = plan.membership;
      if (plan.section === 'join' && plan.newlyJoined === true) newlyJoined.push(roomId);
      if (plan.section === 'leave' && plan.onlyOwnLeave !== true) left.push(roomId);
      rooms.push(roomId);
      if (plan.section === 'invite' || plan.section === 'knock') {
        // A user who blocks invites is shown none (client-server API, "Invite permission").
        if (plan.section === 'invite' && own.blocksInvites()) continue;
        const stateEvents = await strippedState(reads, plan.membership);
        // Its last event is the invite itself: an invite from an ignored user is left out.
        const invite = stateEvents.at(-1);
        if (plan.section === 'invite' && invite?.type === 'm.room.member' && invite.state_key === userId && ctx.ignoredUsers?.has(invite.sender)) continue;
        if (plan.section === 'invite') response.rooms.invite[roomId] = { invite_state: { events: stateEvents } };
        else response.rooms.knock[roomId] = { knock_state: { events: stateEvents } };
        empty = false;
        continue;
      }
      if (plan.section === 'join') {
        joined.push(roomId);
        joinedAt.set(roomId, plan.membership.position ?? 0);
        const meets = plan.newlyJoined === true && since !== undefined;
        if (wantsPresence && (presenceMoved || meets)) {
          for (const member of await reads.joinedMembers(roomId, eventsPosition)) {
            if (presenceMoved) presenceOf.add(member);
            if (meets) newlyMet.add(member);
          }
        }
      }
      const upTo = plan.section === 'leave' ? (plan.membership.position ?? eventsPosition) : eventsPosition;
      if (plan.section === 'leave') leftPositions.set(roomId, upTo);
      const { json, changed } = await timelineRoom(reads, ctx, {
        roomId,
        after: plan.onlyOwnLeave ? upTo - 1 : (since?.events ?? 0),
        upTo,
        initial: plan.initial && !plan.onlyOwnLeave,
        newlyJoined: plan.newlyJoined === true && since !== undefined,
        steadyMember: plan.steadyMember === true && since !== undefined && !plan.initial,
        summary: plan.section === 'join',
      });
      if (wantsPresence && plan.section === 'join' && since !== undefined) for (const member of joinsIn(json)) newlyMet.add(member);
      const ownAccountData = accountData.rooms.get(roomId) ?? [];
      if (!changed && ownAccountData.length === 0) continue;
      empty = false;
      // Object.assign, not a spread followed by new keys: V8 (Node 20) builds such a literal in its slow
      // path, about a microsecond per key added. These run for every room of every sync; the README's
      // sync-latency section has the figures.
      if (plan.section === 'join') {
        response.rooms.join[roomId] = Object.assign({}, json, { account_data: { events: ownAccountData }, ephemeral: { events: [] }, unread_notifications: {} });
      } else {
        response.rooms.leave[roomId] = Object.assign({}, json, { account_data: { events: ownAccountData } });
      }
    }
    // Rooms the device peeks into (MSC2753) that pass the filter, but not those the user has joined since:
    // they are under join. A peek made after the token shows the room from scratch, as a room joined since
    // the token does. A room whose leave this sync shows is under leave up to the leave, and under peek only
    // for what follows it.
    if (standing.peeks.length > 0) {
      const joinedNow = new Set(standing.memberships.filter((row) => row.membership === 'join').map((row) => row.roomId));
      for (const peek of standing.peeks) {
        if (joinedNow.has(peek.roomId) || !filter.room(peek.roomId)) continue;
        rooms.push(peek.roomId);
        const leftAt = response.rooms.leave[peek.roomId] === undefined ? undefined : leftPositions.get(peek.roomId);
        const fresh = leftAt === undefined && (since === undefined || request.fullState || peek.position > since.peeks);
        const { json, changed } = await timelineRoom(reads, ctx, {
          roomId: peek.roomId,
          after: leftAt ?? (fresh || since === undefined ? 0 : since.events),
          upTo: eventsPosition,
          initial: fresh,
          summary: false,
        });
        if (!changed) continue;
        (response.rooms.peek ??= {})[peek.roomId] = json;
        empty = false;
      }
    }
    if (judge) {
      // Counts change with new events (rooms in the response) and with the user's own receipts.
      const ownReceipts = new Set(since === undefined || positions.receipts <= since.receipts ? [] : await reads.ownReceiptRooms(userId, since.receipts));
      const counted = joined.filter((roomId) => response.rooms.join[roomId] !== undefined || ownReceipts.has(roomId));
      // A receipt read before still holds if none of the user's own receipts in the room moved since.
      const receiptHolds = (memo: CountsMemo | undefined): memo is CountsMemo =>
        memo !== undefined && (positions.receipts <= memo.receiptsAt || (since !== undefined && memo.receiptsAt >= since.receipts));
      const memoOf = (roomId: string) => countsMemo.get(`${userId}\n${roomId}`);
      const unknown = new Set(counted.filter((roomId) => ownReceipts.has(roomId) || !receiptHolds(memoOf(roomId))));
      const readUpTo = await reads.readUpTo(userId, [...unknown]);
      for (const roomId of counted) {
        const key = `${userId}\n${roomId}`;
        const known = countsMemo.get(key);
        const receipt = unknown.has(roomId) || !receiptHolds(known) ? (readUpTo.get(roomId) ?? NOTHING_READ) : known.receipt;
        const receiptsAt = unknown.has(roomId) ? positions.receipts : Math.max(known?.receiptsAt ?? 0, positions.receipts);
        const from = Math.max(receipt.room, joinedAt.get(roomId) ?? 0);
        // Counted before from the same receipts: only the events since then are judged.
        const resumeAt = known !== undefined && known.readUpTo === from && sameMarks(known.receipt, receipt) && known.upTo <= eventsPosition ? known : undefined;
        const fresh = resumeAt?.upTo === eventsPosition ? NOTHING_COUNTED : await notificationCounts(reads, judge, (events) => ctx.clientEvents.serve(events, { viewer: userId, bundle: false }), {
          roomId,
          userId,
          after: resumeAt?.upTo ?? from,
          marks: receipt,
          upTo: eventsPosition,
        });
        const counts = resumeAt === undefined ? fresh : addCounts(resumeAt.counts, fresh);
        effects.push(() => {
          if (countsMemo.size >= MAX_RESUMABLE && !countsMemo.has(key)) countsMemo.clear();
          countsMemo.set(key, { receipt, receiptsAt, readUpTo: from, upTo: eventsPosition, counts });
        });
        const entry = response.rooms.join[roomId] ?? emptyJoinedRoom(eventsPosition);
        if (ctx.filter.unreadThreadNotifications) {
          entry.unread_notifications = { ...counts.main };
          if (counts.threads.size > 0) entry.unread_thread_notifications = Object.fromEntries([...counts.threads].map(([thread, c]) => [thread, { ...c }]));
        } else {
          entry.unread_notifications = { ...totalCounts(counts) };
        }
        if (response.rooms.join[roomId] === undefined) {
          response.rooms.join[roomId] = entry;
          empty = false;
        }
      }
    }
    if (since !== undefined) {
      // Only incremental syncs carry device_lists: after an initial sync clients ask /keys/query.
      const lists = await deviceListDelta(reads, userId, since, positions, { joined, newlyJoined, left });
      if (lists.changed.length > 0 || lists.left.length > 0) {
        response.device_lists = lists;
        empty = false;
      }
    }
    newlyMet.delete(userId);
    return { response, token, empty, joined, presenceOf: [...presenceOf], newlyMet: [...newlyMet], rooms, eventsPosition, positions, keyCounts: standing.keyCounts, effects };
  }

  /** An entry for a joined room that only has ephemeral news. */
  function joinedRoomEntry(phase: RoomsPhase, roomId: string): JoinedRoomJson {
    let room = phase.response.rooms.join[roomId];
    if (room === undefined) {
      room = emptyJoinedRoom(phase.eventsPosition);
      phase.response.rooms.join[roomId] = room;
    }
    return room;
  }

  /** Phase two, after the snapshot: the streams kept outside the rooms tables. Returns whether it added anything. */
  async function streamsPhase(phase: RoomsPhase, requester: Requester, since: StreamToken | undefined, filter: SyncFilter): Promise<{ token: StreamToken; added: boolean }> {
    const token: Record<StreamName, number> = { ...phase.token };
    if (!streams) return { token, added: false };
    const userId = requester.userId;
    let added = false;

    if (since === undefined) {
      const rules = await streams.pushRules.pushRulesAccountData(userId);
      const events = phase.response.account_data.events.filter((event) => event.type !== rules.type);
      if (filter.accountData.matches(rules.type, userId)) events.push(rules);
      phase.response.account_data.events = events;
    }

    const typing = streams.typing.typingSince(phase.joined, since?.typing ?? 0);
    token.typing = typing.position;
    for (const [roomId, userIds] of typing.rooms) {
      if (!filter.ephemeral.matches('m.typing', userId)) break;
      joinedRoomEntry(phase, roomId).ephemeral.events.push({ type: 'm.typing', content: { user_ids: [...userIds] } });
      added = true;
    }

    const receipts = await streams.receipts.receiptsSince(userId, phase.joined, since?.receipts ?? 0, phase.positions.receipts);
    token.receipts = Math.max(receipts.position, since?.receipts ?? 0);
    for (const [roomId, content] of receipts.rooms) {
      if (!filter.ephemeral.matches('m.receipt', userId)) break;
      joinedRoomEntry(phase, roomId).ephemeral.events.push({ type: 'm.receipt', content });
      added = true;
    }

    // The client's since-token acknowledges the to-device messages it was sent: they can go now.
    // Once per acknowledged position and device: most syncs acknowledge nothing new.
    const deviceKey = `${userId}\n${syncDevice(requester)}`;
    if (since !== undefined && since.toDevice > (toDeviceAcknowledged.get(deviceKey) ?? 0)) {
      await streams.toDevice.deleteUpTo(userId, syncDevice(requester), since.toDevice);
      if (toDeviceAcknowledged.size >= MAX_RESUMABLE) toDeviceAcknowledged.clear();
      toDeviceAcknowledged.set(deviceKey, since.toDevice);
    }
    const toDevice = await streams.toDevice.toDeviceFor(userId, syncDevice(requester), since?.toDevice ?? 0, undefined, phase.positions.toDevice);
    token.toDevice = toDevice.position;
    if (toDevice.events.length > 0) {
      phase.response.to_device.events = [...toDevice.events];
      added = true;
    }

    if (filter.presence.matches('m.presence', userId)) {
      const presence = await streams.presence.presenceSince(phase.presenceOf, since?.presence ?? 0, phase.positions.presence);
      token.presence = Math.max(presence.position, since?.presence ?? 0);
      // Users newly sharing a room are sent as they are, changed or not (Synapse does): one per user.
      const met = phase.newlyMet.length === 0 ? [] : await streams.presence.presenceOf(phase.newlyMet);
      const events = [...new Map([...presence.events, ...met].map((event) => [(event as { sender?: string }).sender, event])).values()];
      if (events.length > 0) {
        phase.response.presence.events = events;
        added = true;
      }
    }
    return { token, added };
  }

  /**
   * Where each client's last sync left off: the token it was given, the rooms it covered and the notice
   * sequence number when its read began. A client coming back with that token, before any notice for it
   * or those rooms, has nothing new: it waits without reading (most long-polls of an idle client).
   */
  const resumable = new Map<string, Resumable>();
  /**
   * Per user and room, the unread counts last worked out: from which read position, up to which events
   * position. The next sync judges only the events after that (each event is judged once, by the rules
   * of that time, as Synapse does when it stores push actions as events arrive).
   */
  const countsMemo = new Map<string, CountsMemo>();
  /** Per device, the to-device position its messages were last deleted up to (by this process). */
  const toDeviceAcknowledged = new Map<string, number>();

  /**
   * The device's key counts, read even when nothing else is: other users' claims announce nothing, and a
   * client learns that its one-time keys run low only from these.
   */
  async function withKeyCounts(requester: Requester, response: SyncResponse, read?: DeviceKeyCounts): Promise<SyncResponse> {
    if (!streams?.keys) return response;
    const keys = read ?? (await streams.keys.deviceKeyCounts(requester.userId, syncDevice(requester)));
    // Object.assign, not a spread followed by new keys (see roomsPhase): this runs for every sync.
    return Object.assign({}, response, { device_one_time_keys_count: keys.counts, device_unused_fallback_key_types: keys.unusedFallbackTypes });
  }

  /**
   * Per user, the global account data every sync needs (push rules, ignored users) as of an account-data
   * position, with what is made of it: a woken sync's standing read asks only for what was written since,
   * nearly always nothing, and the push judge is built again only when the rules changed.
   */
  const standingData = new Map<string, StandingAccountData>();
  function standingDataFrom(userId: string, held: StandingAccountData | undefined, standing: Standing): StandingAccountData {
    // The same position: nothing written since. Behind it: a sync whose snapshot is older than the one
    // held; the rules held are the newer, and no older ones are at hand.
    if (held !== undefined && standing.accountDataAt <= held.at) return held;
    const contents = new Map(held?.contents);
    for (const [type, content] of standing.accountData) contents.set(type, content);
    const fresh = new StandingAccountData(standing.accountDataAt, contents, (content) => streams?.pushRules.judgeFrom(userId, content));
    if (standingData.size >= MAX_RESUMABLE && !standingData.has(userId)) standingData.clear();
    const current = standingData.get(userId);
    if (current === undefined || current.at < fresh.at) standingData.set(userId, fresh);
    return fresh;
  }

  function remember(key: string, memo: Resumable): void {
    // A plain bound: forgetting every client costs each one read.
    if (resumable.size >= MAX_RESUMABLE && !resumable.has(key)) resumable.clear();
    resumable.set(key, memo);
  }

  return {
    /**
     * GET /keys/changes: device_lists between two sync tokens, as the syncs between them would have
     * carried them (in one snapshot; a `to` beyond what this server has reached reads as now). Whether a
     * changed user shares a room is judged on the rooms as they are now, as Synapse does: clients ask
     * from their last token up to their newest.
     */
    async keyChanges(requester: Requester, fromToken: string, toToken: string): Promise<DeviceLists> {
      const from = parseStreamToken(fromToken);
      const to = parseStreamToken(toToken);
      const userId = requester.userId;
      return store.snapshot(async (reads) => {
        const positions = await reads.positions();
        const upTo = { events: Math.min(to.events, positions.events), deviceLists: Math.min(to.deviceLists, positions.deviceLists) };
        if (upTo.events <= from.events && upTo.deviceLists <= from.deviceLists) return { changed: [], left: [] };
        const changedRooms = new Set((await reads.membershipChanges(userId, from.events, upTo.events)).map((row) => row.roomId));
        const before = await membershipAt(reads, userId, changedRooms, from.events);
        const after = await membershipAt(reads, userId, changedRooms, upTo.events);
        const joinedNow = (await reads.currentMemberships(userId)).filter((row) => row.membership === 'join' && !changedRooms.has(row.roomId)).map((row) => row.roomId);
        const moved = [...changedRooms];
        return deviceListDelta(reads, userId, from, upTo, {
          joined: [...joinedNow, ...moved.filter((roomId) => after.get(roomId) === 'join')],
          newlyJoined: moved.filter((roomId) => after.get(roomId) === 'join' && before.get(roomId) !== 'join'),
          left: moved.filter((roomId) => before.get(roomId) === 'join' && after.get(roomId) !== 'join'),
        });
      });
    },

    async sync(requester: Requester, request: SyncRequest): Promise<SyncResponse> {
      const since = request.since === undefined ? undefined : parseStreamToken(request.since);
      const filter = await filterFor(requester, request.filter);
      const timeoutMs = Math.min(Math.max(request.timeoutMs, 0), MAX_SYNC_TIMEOUT_MS);
      const deadline = clock.now() + timeoutMs;
      if (streams && request.setPresence !== undefined && request.setPresence !== 'offline') {
        await streams.presence.setFromSync(requester.userId, request.setPresence);
      } else if (streams && request.setPresence === undefined) {
        await streams.presence.setFromSync(requester.userId, 'online');
      }
      const key = `${requester.userId}\n${syncDevice(requester)}`;
      const listener = notifier.listen(requester.userId);
      const unwatch = request.hangUp?.(() => listener.close());
      try {
        const memo = resumable.get(key);
        if (memo !== undefined && since !== undefined && !request.fullState && memo.token === request.since && memo.filter === request.filter) {
          listener.resume(memo.sequence, memo.rooms);
          if (!(await listener.wait(deadline - clock.now()))) return withKeyCounts(requester, nothingNew(memo.token));
        }
        for (;;) {
          listener.reset();
          const sequence = listener.readSequence;
          const phase = await store.snapshot((reads) => roomsPhase(reads, requester, request, since, filter));
          for (const effect of phase.effects) effect();
          listener.addRooms(phase.rooms);
          const { token, added } = await streamsPhase(phase, requester, since, filter);
          phase.response.next_batch = formatStreamToken(token);
          const remaining = deadline - clock.now();
          if (since === undefined || !phase.empty || added || remaining <= 0 || !(await listener.wait(remaining))) {
            remember(key, { token: phase.response.next_batch, filter: request.filter, rooms: phase.rooms, sequence });
            return withKeyCounts(requester, phase.response, phase.keyCounts);
          }
        }
      } finally {
        unwatch?.();
        listener.close();
      }
    },
  };
}

export type SyncService = ReturnType<typeof createSyncService>;

/** The global account data types every sync reads (StandingAccountData). */
const STANDING_ACCOUNT_DATA = [IGNORED_USER_LIST, PUSH_RULES, INVITE_PERMISSION_CONFIG];

/** A user's push rules, ignored users and invite blocking as of an account-data position, each worked out once, when first needed. */
class StandingAccountData {
  #judge: PushJudge | undefined | null = null;
  #ignored: ReadonlySet<string> | null = null;

  constructor(
    readonly at: number,
    readonly contents: ReadonlyMap<string, Readonly<Record<string, unknown>>>,
    private readonly judgeFrom: (content: Readonly<Record<string, unknown>> | undefined) => PushJudge | undefined,
  ) {}

  /** The user's push rules as a judge of events (none without the push service). */
  judge(): PushJudge | undefined {
    if (this.#judge === null) this.#judge = this.judgeFrom(this.contents.get(PUSH_RULES));
    return this.#judge;
  }

  ignoredUsers(): ReadonlySet<string> {
    if (this.#ignored === null) this.#ignored = ignoredUsersOf(this.contents.get(IGNORED_USER_LIST));
    return this.#ignored;
  }

  /** Whether the user blocks every invite (m.invite_permission_config): /sync then shows none. */
  blocksInvites(): boolean {
    return blocksInvites(this.contents.get(INVITE_PERMISSION_CONFIG));
  }
}

/** The device's record of members sent, its new entries held back as effects (kept once the phase is the result). */
function deferred(record: DeviceSentMembers, effects: Array<() => void>): DeviceSentMembers {
  const pending = new Map<string, string>();
  const key = (roomId: string, memberId: string) => `${roomId}\n${memberId}`;
  return {
    has: (roomId, memberId, eventId) => {
      const held = pending.get(key(roomId, memberId));
      return held === undefined ? record.has(roomId, memberId, eventId) : held === eventId;
    },
    remember: (roomId, memberId, eventId) => {
      pending.set(key(roomId, memberId), eventId);
      effects.push(() => record.remember(roomId, memberId, eventId));
    },
  };
}

/** The answer to a sync that had nothing new: the token it came with, unchanged. */
function nothingNew(token: string): SyncResponse {
  return {
    next_batch: token,
    rooms: { join: {}, invite: {}, knock: {}, leave: {} },
    account_data: { events: [] },
    presence: { events: [] },
    to_device: { events: [] },
    device_lists: { changed: [], left: [] },
  };
}

/** A joined room's entry with nothing in it yet (its news is ephemeral, or its counts changed). */
function emptyJoinedRoom(eventsPosition: number): JoinedRoomJson {
  return {
    timeline: { events: [], limited: false, prev_batch: formatPaginationToken(eventsPosition) },
    account_data: { events: [] },
    ephemeral: { events: [] },
    unread_notifications: {},
  };
}

/** The users a room's new timeline or state shows joining. */
function joinsIn(room: TimelineRoomJson): string[] {
  const events = [...room.timeline.events, ...(room.state?.events ?? []), ...(room.state_after?.events ?? []), ...(room['org.matrix.msc4222.state_after']?.events ?? [])];
  return events
    .filter((event) => event.type === 'm.room.member' && event.state_key !== undefined && event.content.membership === 'join')
    .map((event) => event.state_key as string);
}

function membershipValue(event: StoredEvent | undefined): string {
  const value = event?.event.content.membership;
  return typeof value === 'string' ? value : 'leave';
}

function sectionOf(membership: string): Plan['section'] {
  if (membership === 'join' || membership === 'invite' || membership === 'knock') return membership;
  return 'leave';
}
