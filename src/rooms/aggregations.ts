import type { RoomEvent } from '../events/index.js';
import type { RoomReads, StoredEvent, TimelineEvent } from './ports.js';
import { createVisibility } from './visibility.js';

/**
 * Bundled aggregations (client-server API, "Aggregations of child events"): what the server summarises of
 * an event's children under unsigned["m.relations"]. Hearth bundles m.thread, m.replace (the latest valid
 * edit itself, v1.7+: the original's content is left alone) and m.reference. Only children the viewer may
 * see, that are in the parent's room and that no applied redaction broke away, count.
 */

export const THREAD = 'm.thread';
export const REPLACE = 'm.replace';
export const REFERENCE = 'm.reference';
const BUNDLED = [THREAD, REPLACE, REFERENCE] as const;

/** The relation a child declares in its cleartext content, if it is well formed. Pure. */
export function relationOf(event: Pick<RoomEvent, 'content'>): { readonly relType: string; readonly eventId: string } | undefined {
  const relatesTo = event.content['m.relates_to'];
  if (typeof relatesTo !== 'object' || relatesTo === null || Array.isArray(relatesTo)) return undefined;
  const { rel_type: relType, event_id: eventId } = relatesTo as Record<string, unknown>;
  return typeof relType === 'string' && typeof eventId === 'string' ? { relType, eventId } : undefined;
}

/**
 * Whether `edit` may replace `original` ("Validity of replacement events"): same room, sender and type,
 * neither a state event, the original not itself an edit, and (unencrypted) an m.new_content object. Pure.
 */
export function isValidEdit(original: RoomEvent, edit: RoomEvent): boolean {
  if (edit.roomId !== original.roomId || edit.sender !== original.sender || edit.type !== original.type) return false;
  if (edit.stateKey !== undefined || original.stateKey !== undefined) return false;
  if (relationOf(original)?.relType === REPLACE) return false;
  if (edit.type === 'm.room.encrypted') return true;
  const newContent = edit.content['m.new_content'];
  return typeof newContent === 'object' && newContent !== null && !Array.isArray(newContent);
}

/** The most recent edit: by origin_server_ts, then the lexicographically largest event id. Pure. */
export function latestEdit<T extends { readonly event: RoomEvent }>(edits: readonly T[]): T | undefined {
  let latest: T | undefined;
  for (const edit of edits) {
    if (
      latest === undefined ||
      edit.event.originServerTs > latest.event.originServerTs ||
      (edit.event.originServerTs === latest.event.originServerTs && edit.event.eventId > latest.event.eventId)
    ) latest = edit;
  }
  return latest;
}

/** What one parent's children add up to, before serving. */
export interface Aggregation {
  readonly thread?: { readonly latest: TimelineEvent; readonly count: number; readonly participated: boolean };
  readonly replace?: TimelineEvent;
  readonly references?: readonly string[];
}

export type AggregationReads = Pick<RoomReads, 'childrenOf' | 'statesAround' | 'membershipHistory' | 'events'>;

export interface AggregationsDeps {
  readonly store: AggregationReads;
  /** The ids of the events a redaction applies to (src/rooms/redactions.ts decides). */
  readonly redactedIds: (events: readonly StoredEvent[]) => Promise<Set<string>>;
}

/** Keeps the children the viewer may see and that no redaction broke away; one visibility pass per room. */
export function createChildFilter(deps: AggregationsDeps) {
  const visibility = createVisibility({ store: deps.store });
  return async function usable<T extends StoredEvent>(viewer: string, children: readonly T[]): Promise<T[]> {
    if (children.length === 0) return [];
    const redacted = await deps.redactedIds(children);
    const byRoom = new Map<string, T[]>();
    for (const child of children) {
      if (redacted.has(child.event.eventId)) continue;
      const list = byRoom.get(child.event.roomId);
      if (list === undefined) byRoom.set(child.event.roomId, [child]);
      else list.push(child);
    }
    const visible = new Set<string>();
    for (const [roomId, list] of byRoom) {
      for (const id of await visibility.visibleIds(viewer, roomId, list.map((c) => c.event))) visible.add(id);
    }
    return children.filter((child) => visible.has(child.event.eventId));
  };
}

/**
 * The aggregations of a batch of parents for a viewer: one read of their children, one of the children's
 * redactions, one visibility pass per room. Parents without children are absent.
 */
export function createAggregations(deps: AggregationsDeps) {
  const usable = createChildFilter(deps);

  return async function aggregate(viewer: string, parents: ReadonlyArray<Pick<StoredEvent, 'event'>>): Promise<Map<string, Aggregation>> {
    const found = new Map<string, Aggregation>();
    if (parents.length === 0) return found;
    const byId = new Map(parents.map((p) => [p.event.eventId, p]));
    const related = (await deps.store.childrenOf([...byId.keys()], BUNDLED)).filter((child) => {
      const relation = relationOf(child.event);
      const parent = relation && byId.get(relation.eventId);
      return parent !== undefined && parent.event.roomId === child.event.roomId;
    });
    const children = await usable(viewer, related);
    const grouped = new Map<string, TimelineEvent[]>();
    for (const child of children) {
      const parentId = relationOf(child.event)!.eventId;
      const list = grouped.get(parentId);
      if (list === undefined) grouped.set(parentId, [child]);
      else list.push(child);
    }
    for (const [parentId, list] of grouped) {
      const parent = byId.get(parentId)!.event;
      const of = (relType: string) => list.filter((c) => relationOf(c.event)!.relType === relType);
      const thread = of(THREAD);
      const edit = latestEdit(of(REPLACE).filter((c) => isValidEdit(parent, c.event)));
      const references = of(REFERENCE).map((c) => c.event.eventId);
      const aggregation: Aggregation = {
        ...(thread.length === 0 ? {} : {
          thread: {
            // Children come oldest first: the latest reply is the last (topological order, as the spec asks).
            latest: thread[thread.length - 1]!,
            count: thread.length,
            participated: parent.sender === viewer || thread.some((c) => c.event.sender === viewer),
          },
        }),
        ...(edit === undefined ? {} : { replace: edit }),
        ...(references.length === 0 ? {} : { references }),
      };
      if (Object.keys(aggregation).length > 0) found.set(parentId, aggregation);
    }
    return found;
  };
}
