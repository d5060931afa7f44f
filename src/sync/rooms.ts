import { parseStateKey, stateKey, type RoomEvent, type StateKey, type StateMap } from '../events/index.js';
import { formatPaginationToken } from '../protocol/index.js';
import type { ClientEvent, ClientEvents, StoredEvent } from '../rooms/index.js';
import type { SyncFilter } from './filter.js';
import type { SyncReads } from './ports.js';

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
  summary?: RoomSummaryJson;
}

export interface RoomSyncContext {
  readonly userId: string;
  readonly deviceId: string;
  readonly filter: SyncFilter;
  /** Serves events in the client format, redacted where a redaction applies. */
  readonly clientEvents: ClientEvents;
  /** use_state_after (spec 1.16): send the state at the end of the timeline instead of its start. */
  readonly useStateAfter: boolean;
  /** Drops events the user may not see (history visibility); identity when nothing is hidden. */
  readonly visible: (userId: string, roomId: string, events: readonly StoredEvent[]) => Promise<readonly StoredEvent[]>;
}

export interface TimelineRoomPlan {
  readonly roomId: string;
  /** The position of the client's since-token; 0 on an initial sync. */
  readonly after: number;
  /** The last position this sync covers for the room (its leave event for a left room). */
  readonly upTo: number;
  /** Everything from scratch: a first sync, full_state, or a room joined since the token. */
  readonly initial: boolean;
  readonly summary: boolean;
}

/** Pages read backwards to fill a filtered timeline before giving up and answering `limited`. */
const MAX_TIMELINE_PAGES = 5;

interface Timeline {
  readonly events: readonly StoredEvent[];
  readonly limited: boolean;
}

/** The newest `limit` events of (after, upTo] that pass the timeline filter and history visibility. */
async function readTimeline(reads: SyncReads, ctx: RoomSyncContext, plan: TimelineRoomPlan): Promise<Timeline> {
  const { filter } = ctx;
  const limit = filter.timelineLimit;
  const lower = plan.initial ? 0 : plan.after;
  let kept: StoredEvent[] = [];
  let cursor = plan.upTo;
  for (let page = 0; page < MAX_TIMELINE_PAGES; page++) {
    const { events, more } = await reads.timeline(plan.roomId, lower, cursor, limit - kept.length);
    const passing = events.filter(({ event }) => filter.timeline.matches(event.type, event.sender, event.content));
    kept = [...(await ctx.visible(ctx.userId, plan.roomId, passing)), ...kept];
    const oldest = events[0]?.streamPosition;
    if (!more || oldest === undefined || oldest === null) return { events: kept, limited: false };
    if (kept.length >= limit) return { events: kept, limited: true };
    cursor = oldest - 1;
  }
  return { events: kept, limited: true };
}

function clientEvents(stored: readonly StoredEvent[], ctx: RoomSyncContext, transactionIds: ReadonlyMap<string, string>): Promise<ClientEvent[]> {
  return ctx.clientEvents.serve(stored, { transactionIds, viewer: ctx.userId });
}

/** The entries of `state` not in `base` (or holding another event there). */
function stateDelta(state: StateMap, base: StateMap): Map<StateKey, string> {
  return new Map([...state].filter(([key, eventId]) => base.get(key) !== eventId));
}

/**
 * Which state entries to send. Lazy loading keeps only the members who sent something in the timeline,
 * plus the user's own membership (clients need it to know they are in the room).
 */
function selectState(entries: Map<StateKey, string>, ctx: RoomSyncContext, timeline: readonly StoredEvent[]): string[] {
  const senders = new Set(timeline.map(({ event }) => event.sender));
  senders.add(ctx.userId);
  const ids: string[] = [];
  for (const [key, eventId] of entries) {
    const [type, stateKeyValue] = parseStateKey(key);
    if (ctx.filter.lazyLoadMembers && type === 'm.room.member' && !senders.has(stateKeyValue)) continue;
    ids.push(eventId);
  }
  return ids;
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
  const timeline = await readTimeline(reads, ctx, plan);
  const first = timeline.events[0];
  const entries = ctx.useStateAfter ? await stateAfterEntries(reads, ctx, plan, timeline) : await stateBeforeEntries(reads, ctx, plan, timeline);
  const stateIds = selectState(entries, ctx, timeline.events);
  const stored = await reads.events(stateIds);
  const state = stateIds
    .map((id) => stored.get(id))
    .filter((event): event is StoredEvent => event !== undefined && ctx.filter.state.matches(event.event.type, event.event.sender, event.event.content));
  const txnIds = await reads.transactionIds(ctx.userId, ctx.deviceId, timeline.events.map(({ event }) => event.eventId));

  const stateJson = { events: await clientEvents(state, ctx, new Map()) };
  const json: TimelineRoomJson = {
    timeline: {
      events: await clientEvents(timeline.events, ctx, txnIds),
      limited: timeline.limited,
      prev_batch: formatPaginationToken(first?.streamPosition != null ? first.streamPosition - 1 : plan.upTo),
    },
    ...(ctx.useStateAfter ? { state_after: stateJson } : { state: stateJson }),
  };
  const membersChanged = plan.initial || [...timeline.events, ...state].some(({ event }) => isStateEvent(event) && event.type === 'm.room.member');
  if (plan.summary && membersChanged) json.summary = await summaryOf(reads, await reads.stateAtPosition(plan.roomId, plan.upTo), ctx.userId);
  return { json, changed: plan.initial || timeline.events.length > 0 || state.length > 0 };
}

/** The spec's `state`: the state at the start of the timeline (whole, or what changed since the token). */
async function stateBeforeEntries(reads: SyncReads, ctx: RoomSyncContext, plan: TimelineRoomPlan, timeline: Timeline): Promise<Map<StateKey, string>> {
  const first = timeline.events[0];
  const atStart = first ? await reads.stateBefore(first.event.eventId) : await reads.stateAtPosition(plan.roomId, plan.upTo);
  if (plan.initial) return new Map(atStart ?? []);
  if (timeline.limited) return stateDelta(atStart ?? new Map(), await reads.stateAtPosition(plan.roomId, plan.after));
  if (ctx.filter.lazyLoadMembers && atStart && timeline.events.length > 0) {
    // Members of this timeline's senders, which a lazy-loading client may not have been sent yet.
    return new Map([...atStart].filter(([key]) => parseStateKey(key)[0] === 'm.room.member'));
  }
  return new Map();
}

/** use_state_after's `state_after`: the state at the end of the timeline (whole, or what changed since the token). */
async function stateAfterEntries(reads: SyncReads, ctx: RoomSyncContext, plan: TimelineRoomPlan, timeline: Timeline): Promise<Map<StateKey, string>> {
  const atEnd = await reads.stateAtPosition(plan.roomId, plan.upTo);
  if (plan.initial) return new Map(atEnd);
  const delta = stateDelta(atEnd, await reads.stateAtPosition(plan.roomId, plan.after));
  if (ctx.filter.lazyLoadMembers && timeline.events.length > 0) {
    for (const [key, eventId] of atEnd) if (parseStateKey(key)[0] === 'm.room.member') delta.set(key, eventId);
  }
  return delta;
}
