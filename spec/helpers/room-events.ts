/**
 * Room events for storage tests: RoomEvent views built straight from a PDU object, unsigned (storage never
 * checks signatures), so tests can lay out any DAG and state they need in a few lines.
 */
import { stateKey, type RoomEvent, type StateKey, type StateMap } from '../../src/events/event.js';
import type { PduJson } from '../../src/events/pdu.js';
import type { NewEvent, StateInput } from '../../src/rooms/ports.js';
import { createRoomStore, type Database } from '../../src/storage/index.js';

export interface FakeEventOptions {
  readonly id: string;
  readonly roomId: string;
  readonly type?: string;
  readonly stateKey?: string;
  readonly sender?: string;
  readonly content?: Record<string, unknown>;
  readonly prev?: readonly string[];
  readonly auth?: readonly string[];
  readonly depth?: number;
  readonly ts?: number;
  /** Replaces the generated PDU (keys kept in the given order). */
  readonly pdu?: Record<string, unknown>;
}

export function fakeEvent(options: FakeEventOptions): RoomEvent {
  const type = options.type ?? 'm.room.message';
  const sender = options.sender ?? '@alice:example.org';
  const content = options.content ?? { msgtype: 'm.text', body: `hello from ${options.id}` };
  const prev = options.prev ?? [];
  const auth = options.auth ?? [];
  const depth = options.depth ?? 1;
  const ts = options.ts ?? 1_700_000_000_000;
  const pdu: PduJson = options.pdu ?? {
    auth_events: auth,
    content,
    depth,
    hashes: { sha256: 'aGFzaA' },
    origin_server_ts: ts,
    prev_events: prev,
    room_id: options.roomId,
    sender,
    ...(options.stateKey === undefined ? {} : { state_key: options.stateKey }),
    type,
    signatures: { 'example.org': { 'ed25519:1': 'c2ln' } },
  };
  return {
    eventId: options.id,
    roomId: options.roomId,
    type,
    stateKey: options.stateKey,
    sender,
    origin: undefined,
    content,
    originServerTs: ts,
    depth,
    prevEvents: prev,
    authEvents: auth,
    redacts: undefined,
    pdu,
  };
}

/** A timeline event persisted with the given state before it. */
export function accepted(event: RoomEvent, stateBefore: StateInput): NewEvent {
  return { event, outlier: false, rejectedReason: null, softFailed: false, stateBefore };
}

export function outlier(event: RoomEvent): NewEvent {
  return { event, outlier: true, rejectedReason: null, softFailed: false, stateBefore: null };
}

export const after = (eventId: string, changes: StateMap = new Map()): StateInput => ({
  kind: 'after-event',
  eventId,
  changes,
});

export const full = (state: StateMap): StateInput => ({ kind: 'full', state });

export function stateOf(entries: ReadonlyArray<readonly [type: string, key: string, eventId: string]>): Map<StateKey, string> {
  return new Map(entries.map(([type, key, eventId]) => [stateKey(type, key), eventId]));
}

/**
 * A room `!room:example.org` (version 10) with a create event and `count` messages, persisted in order;
 * their stream positions, the create event's first.
 */
export async function roomWithMessages(db: Database, count: number): Promise<number[]> {
  const roomId = '!room:example.org';
  const rooms = createRoomStore(db.sql);
  const create = fakeEvent({ id: '$create', roomId, type: 'm.room.create', stateKey: '', content: { creator: '@alice:example.org' } });
  const events = [accepted(create, full(new Map()))];
  for (let i = 1; i <= count; i++) {
    events.push(accepted(fakeEvent({ id: `$m${i}`, roomId, prev: [i === 1 ? '$create' : `$m${i - 1}`], depth: i + 1 }), after(i === 1 ? '$create' : `$m${i - 1}`)));
  }
  return rooms.withRoomWriteLock(roomId, async (tx) => {
    await tx.createRoom({ roomId, roomVersion: '10', creator: '@alice:example.org' });
    return (await tx.persistEvents(roomId, events)) as number[];
  });
}
