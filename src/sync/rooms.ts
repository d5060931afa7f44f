import { parseStateKey, stateKey, type RoomEvent, type StateKey, type StateMap } from '../events/index.js';
import { formatPaginationToken } from '../protocol/index.js';
import type { ClientEvent, ClientEvents, StoredEvent } from '../rooms/index.js';
import type { SyncFilter } from './filter.js';
import type { SyncReads } from './ports.js';
import type { DeviceSentMembers } from './sent-members.js';

/**
 * One room's part of a /sync response: its timeline, the state before the timeline, and the summary.
 * Joined and left rooms are built here; invites and knocks (stripped state) in stripped.ts.
 */

export interface RoomTimelineJson {
  readonly events: ClientEvent[];
  readonly limited: boolean;
  readonly prev_batch: string;
}

export interface RoomSummaryJson {
  'm.heroes'?: string[];
  'm.joined_member_count'?: number;
  'm.invited_member_count'?: number;
}

export interface TimelineRoomJson {
  timeline: RoomTimelineJson;
  /** The state before the timeline; or, with use_state_after, `state_after`: the state at its end. */
  state?: { events: ClientEvent[] };
  state_after?: { events: ClientEvent[] };
  'org.matrix.msc4222.state_after'?: { events: ClientEvent[] };
  summary?: RoomSummaryJson;
}

/** The key use_state_after's state goes under: the spec's, or MSC4222's unstable one. */
export type StateAfterKey = 'state_after' | 'org.matrix.msc4222.state_after';

export interface RoomSyncContext {
  readonly userId: string;
  readonly deviceId: string;
  readonly filter: SyncFilter;
  /** Serves events in the client format, redacted where a redaction applies. */
  readonly clientEvents: ClientEvents;
  /** use_state_after (spec 1.16): send the state at the end of the timeline instead of its start, under this key. */
  readonly useStateAfter: StateAfterKey | false;
  /** Drops events the user may not see (history visibility); identity when nothing is hidden. */
  readonly visible: (userId: string, roomId: string, events: readonly StoredEvent[]) => Promise<readonly StoredEvent[]>;
  /** The users in the user's m.ignored_user_list: their messages stay out of timelines (state events do not). */
  readonly ignoredUsers?: ReadonlySet<string>;
  /**
   * With lazy-loaded members and no include_redundant_members: the member events this device was already
   * sent, so a sender's membership is sent once, not with every sync.
   */
  readonly sentMembers?: DeviceSentMembers;
}

export interface TimelineRoomPlan {
  readonly roomId: string;
  /** The position of the client's since-token; 0 on an initial sync. */
  readonly after: number;
  /** The last position this sync covers for the room (its leave event for a left room). */
  readonly upTo: number;
  /** Everything from scratch: a first sync, full_state, or a room joined since the token. */
  readonly initial: boolean;
  /**
   * The user joined (or left and rejoined) since the token: the timeline is `limited` even when it reaches
   * the room's start through a filter, as Synapse answers, so a client does not take it for all history.
   */
  readonly newlyJoined?: boolean;
  /**
   * The user was joined at the token and has been since (an incremental sync, no member event of theirs
   * in the range). Their own server's events in the range were built on its current state, where they
   * are joined, so those pass history visibility without a check; other servers' events are checked.
   */
  readonly steadyMember?: boolean;
  readonly summary: boolean;
}

/** The server part of a user id (after the first colon). */
function serverOf(userId: string): string {
  return userId.slice(userId.indexOf(':') + 1);
}

/** Pages read backwards to fill a filtered timeline before giving up and answering `limited`. */
const MAX_TIMELINE_PAGES = 5;

interface Timeline {
  readonly events: readonly StoredEvent[];
  readonly limited: boolean;
}

/**
 * The newest `limit` events of (after, upTo] that pass the timeline filter, the ignore list and history
 * visibility. The first page is the limit; later ones twice it (at least 10), as Synapse reads them, so a
 * filter that lets few events through still finds them. Events in the room's state at `upTo` are kept whatever the history
 * visibility (Synapse does too): a client must see the member events behind the members it shows.
 */
async function readTimeline(reads: SyncReads, ctx: RoomSyncContext, plan: TimelineRoomPlan): Promise<Timeline> {
  const { filter } = ctx;
  const limit = filter.timelineLimit;
  const lower = plan.initial ? 0 : plan.after;
  if (limit <= 0) return { events: [], limited: (await reads.timeline(plan.roomId, lower, plan.upTo, 0)).more };
  const ignored = ctx.ignoredUsers ?? new Set<string>();
  const ownServer = serverOf(ctx.userId);
  let currentState: Set<string> | undefined;
  let kept: StoredEvent[] = [];
  let cursor = plan.upTo;
  for (let page = 0; page < MAX_TIMELINE_PAGES; page++) {
    const { events, more } = await reads.timeline(plan.roomId, lower, cursor, page === 0 ? limit : Math.max(limit * 2, 10));
    const passing = events.filter(
      ({ event }) => filter.timeline.matches(event.type, event.sender, event.content) && (isStateEvent(event) || !ignored.has(event.sender)),
    );
    const seenAsMember = plan.steadyMember ? passing.filter(({ event }) => serverOf(event.sender) === ownServer) : [];
    const toCheck = seenAsMember.length === 0 ? passing : passing.filter(({ event }) => serverOf(event.sender) !== ownServer);
    const visible = new Set([...seenAsMember, ...(await ctx.visible(ctx.userId, plan.roomId, toCheck))].map(({ event }) => event.eventId));
    if (passing.some(({ event }) => !visible.has(event.eventId) && isStateEvent(event))) {
      currentState ??= new Set((await reads.stateAtPosition(plan.roomId, plan.upTo)).values());
    }
    kept = [...passing.filter(({ event }) => visible.has(event.eventId) || currentState?.has(event.eventId)), ...kept];
    if (kept.length > limit) return { events: kept.slice(-limit), limited: true };
    const oldest = events[0]?.streamPosition;
    if (!more || oldest === undefined || oldest === null) return { events: kept, limited: false };
    if (kept.length === limit) return { events: kept, limited: true };
    cursor = oldest - 1;
  }
  return { events: kept, limited: true };
}

/** The events as the filter's event_format asks: the client format, or the PDU with what the server adds. */
async function clientEvents(stored: readonly StoredEvent[], ctx: RoomSyncContext, transactionIds: ReadonlyMap<string, string>, prevContent = true): Promise<ClientEvent[]> {
  const served = await ctx.clientEvents.serve(stored, { transactionIds, viewer: ctx.userId, prevContent });
  if (ctx.filter.eventFormat !== 'federation') return served;
  // Content and unsigned come from the client form: it holds a redaction's pruning and the server's additions.
  return served.map((event, i) => ({ ...(stored[i]?.event.pdu ?? {}), event_id: event.event_id, content: event.content, unsigned: event.unsigned }) as ClientEvent);
}

/** The entries of `state` not in `base` (or holding another event there). */
function stateDelta(state: StateMap, base: StateMap): Map<StateKey, string> {
  return new Map([...state].filter(([key, eventId]) => base.get(key) !== eventId));
}

/** The member a state entry is about, for m.room.member entries. */
function memberOf(key: StateKey): string | undefined {
  const [type, member] = parseStateKey(key);
  return type === 'm.room.member' ? member : undefined;
}

/**
 * Lazy loading: whose member events a client needs for this timeline. Its senders, except one whose member
 * event the timeline already showed before their first event; on a full-state sync also the user (so the
 * client knows it is in the room). Undefined without lazy loading: every member.
 */
function membersToLoad(ctx: RoomSyncContext, plan: TimelineRoomPlan, timeline: readonly StoredEvent[]): Set<string> | undefined {
  if (!ctx.filter.lazyLoadMembers) return undefined;
  const members = new Set<string>();
  const shown = new Set<string>();
  for (const { event } of timeline) {
    if (!shown.has(event.sender)) members.add(event.sender);
    if (event.type === 'm.room.member' && event.stateKey !== undefined) shown.add(event.stateKey);
  }
  if (plan.initial) members.add(ctx.userId);
  return members;
}

/** The entries of the state map the lazy-loading members select (all non-member state, and those members). */
function lazyFiltered(state: StateMap, members: Set<string> | undefined): Map<StateKey, string> {
  if (members === undefined) return new Map(state);
  return new Map([...state].filter(([key]) => {
    const member = memberOf(key);
    return member === undefined || members.has(member);
  }));
}

/** Heroes, joined and invited counts from the room's state (the spec's room summary). */
async function summaryOf(reads: SyncReads, state: StateMap, userId: string): Promise<RoomSummaryJson> {
  const memberIds = [...state].filter(([key]) => parseStateKey(key)[0] === 'm.room.member').map(([, id]) => id);
  const members = [...(await reads.events(memberIds)).values()];
  const joined: StoredEvent[] = [];
  const invited: StoredEvent[] = [];
  const others: StoredEvent[] = [];
  for (const member of members) {
    const membership = member.event.content.membership;
    if (membership === 'join') joined.push(member);
    else if (membership === 'invite') invited.push(member);
    else others.push(member);
  }
  const byPosition = (a: StoredEvent, b: StoredEvent) => (a.streamPosition ?? 0) - (b.streamPosition ?? 0);
  const summary: RoomSummaryJson = {
    'm.joined_member_count': joined.length,
    'm.invited_member_count': invited.length,
  };
  if (!state.has(stateKey('m.room.name', '')) && !state.has(stateKey('m.room.canonical_alias', ''))) {
    const candidates = [...joined, ...invited].sort(byPosition);
    const fallback = others.sort(byPosition);
    summary['m.heroes'] = [...candidates, ...fallback]
      .map(({ event }) => event.stateKey)
      .filter((id): id is string => id !== undefined && id !== userId)
      .slice(0, 5);
  }
  return summary;
}

function isStateEvent(event: RoomEvent): boolean {
  return event.stateKey !== undefined;
}

/** A joined or left room's section; `changed` is false when an incremental sync has nothing new for it. */
export async function timelineRoom(
  reads: SyncReads,
  ctx: RoomSyncContext,
  plan: TimelineRoomPlan,
): Promise<{ json: TimelineRoomJson; changed: boolean }> {
  const read = await readTimeline(reads, ctx, plan);
  const timeline = plan.newlyJoined && read.events.length > 0 ? { ...read, limited: true } : read;
  const first = timeline.events[0];
  const members = membersToLoad(ctx, plan, timeline.events);
  const entries = ctx.useStateAfter
    ? await stateAfterEntries(reads, plan, timeline, members)
    : await stateBeforeEntries(reads, plan, timeline, members);
  const unsent = [...entries].filter(([key, eventId]) => {
    const member = memberOf(key);
    return member === undefined || ctx.sentMembers === undefined || !ctx.sentMembers.has(plan.roomId, member, eventId);
  });
  const stored = await reads.events(unsent.map(([, id]) => id));
  const state = unsent
    .map(([, id]) => stored.get(id))
    .filter((event): event is StoredEvent => event !== undefined && ctx.filter.state.matches(event.event.type, event.event.sender, event.event.content));
  if (ctx.sentMembers) {
    for (const { event } of [...state, ...timeline.events]) {
      if (event.type === 'm.room.member' && event.stateKey !== undefined) ctx.sentMembers.remember(plan.roomId, event.stateKey, event.eventId);
    }
  }
  // Only the user's own events can carry their device's transaction ids.
  const own = timeline.events.filter(({ event }) => event.sender === ctx.userId).map(({ event }) => event.eventId);
  const txnIds = own.length === 0 ? new Map<string, string>() : await reads.transactionIds(ctx.userId, ctx.deviceId, own);

  // The state section is the room as a whole: what each event replaced is for the timeline's changes.
  const stateJson = { events: await clientEvents(state, ctx, new Map(), false) };
  const json: TimelineRoomJson = {
    timeline: {
      events: await clientEvents(timeline.events, ctx, txnIds),
      limited: timeline.limited,
      prev_batch: formatPaginationToken(first?.streamPosition != null ? first.streamPosition - 1 : plan.upTo),
    },
    ...(ctx.useStateAfter ? { [ctx.useStateAfter]: stateJson } : { state: stateJson }),
  };
  const membersChanged = plan.initial || [...timeline.events, ...state].some(({ event }) => isStateEvent(event) && event.type === 'm.room.member');
  if (plan.summary && membersChanged) json.summary = await summaryOf(reads, await reads.stateAtPosition(plan.roomId, plan.upTo), ctx.userId);
  return { json, changed: plan.initial || timeline.events.length > 0 || state.length > 0 };
}

/**
 * The spec's `state`: the state at the start of the timeline, whole on a full-state sync, otherwise what
 * the client lacks. After a gap that is every entry changed between the token and the timeline (and any
 * the timeline's end holds that the token's state did not: state resolution can bring back older events),
 * less what the timeline itself carries. Lazy loading adds the members of the timeline's senders, even
 * unchanged, since the client may never have been sent them; it does not thin out the gap's changes
 * (Synapse stopped doing so: clients lost track of who had left).
 */
async function stateBeforeEntries(reads: SyncReads, plan: TimelineRoomPlan, timeline: Timeline, members: Set<string> | undefined): Promise<Map<StateKey, string>> {
  // No gap and nothing to load: the client has every entry already (the common woken sync reads nothing).
  if (!plan.initial && !timeline.limited && (members === undefined || members.size === 0)) return new Map();
  const atStart = timeline.events.length > 0 ? await stateAtTimelineStart(reads, timeline) : await reads.stateAtPosition(plan.roomId, plan.upTo);
  if (plan.initial) return lazyFiltered(atStart ?? new Map(), members);
  if (timeline.limited) {
    const start = lazyFiltered(atStart ?? new Map(), members);
    const end = await reads.stateAtPosition(plan.roomId, plan.upTo);
    const previous = new Set((await reads.stateAtPosition(plan.roomId, plan.after)).values());
    if (members !== undefined) for (const [key, eventId] of start) if (memberOf(key) !== undefined) previous.delete(eventId);
    const inTimeline = new Set(timeline.events.map(({ event }) => event.eventId));
    const result = new Map<StateKey, string>();
    for (const [key, eventId] of [...end, ...start]) {
      if (!previous.has(eventId) && !inTimeline.has(eventId)) result.set(key, eventId);
    }
    return result;
  }
  // No gap, so nothing changed the client has not seen; but it may lack the senders' member events.
  return new Map([...(atStart ?? new Map<StateKey, string>())].filter(([key]) => members?.has(memberOf(key) ?? '') === true));
}

/**
 * The state before the timeline's first event. An invite (or knock) received while this server was outside the
 * room has a place on the stream but no state before it (empty: any other event but the create has at least
 * that); the state then comes from before the first event whose state is known (the join made over federation),
 * less the events the timeline shows before it.
 */
async function stateAtTimelineStart(reads: SyncReads, timeline: Timeline): Promise<StateMap | undefined> {
  const skipped = new Set<string>();
  let first: StateMap | undefined;
  for (const { event } of timeline.events) {
    const before = await reads.stateBefore(event.eventId);
    first ??= before;
    if (before === undefined || before.size > 0 || event.type === 'm.room.create') {
      return skipped.size === 0 || before === undefined ? before : new Map([...before].filter(([, eventId]) => !skipped.has(eventId)));
    }
    skipped.add(event.eventId);
  }
  return first;
}

/** use_state_after's `state_after`: the state at the end of the timeline (whole, or what changed since the token). */
async function stateAfterEntries(reads: SyncReads, plan: TimelineRoomPlan, timeline: Timeline, members: Set<string> | undefined): Promise<Map<StateKey, string>> {
  const atEnd = await reads.stateAtPosition(plan.roomId, plan.upTo);
  if (plan.initial) return lazyFiltered(atEnd, members);
  const delta = stateDelta(atEnd, await reads.stateAtPosition(plan.roomId, plan.after));
  if (members !== undefined && timeline.events.length > 0) {
    for (const [key, eventId] of atEnd) if (members.has(memberOf(key) ?? '')) delta.set(key, eventId);
  }
  return delta;
}
