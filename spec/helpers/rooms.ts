import type { Test } from 'tap';
import { signingKeyFromSeed, type SigningKey } from '../../src/crypto/index.js';
import { fixedClock, systemRandom, type Clock, type Random } from '../../src/platform/clock.js';
import { silentLogger } from '../../src/platform/logger.js';
import { createRoomServer, type RoomServerDeps } from '../../src/rooms/room-server.js';
import { createReceivePipeline } from '../../src/rooms/receive.js';
import { createGuestAccess } from '../../src/rooms/guest-access.js';
import type { KeyLookup, RoomStore } from '../../src/rooms/ports.js';
import type { PolicySigner } from '../../src/rooms/policy-servers.js';
import { createDirectoryStore, createRoomStore } from '../../src/storage/index.js';
import { createClientRooms } from '../../src/rooms/index.js';
import { createUpgradeCarry, type UpgradeCarryDeps } from '../../src/rooms/upgrade-carry.js';
import { buildEvent, type EventDraft } from '../../src/events/builder.js';
import { authEventsSelection, getRoomVersion, type RoomEvent } from '../../src/events/index.js';
import type { Database, StreamWindow } from '../../src/storage/index.js';

export const LOCAL = 'hearth.test';
export const REMOTE = 'remote.test';
export const localKey = signingKeyFromSeed('local', new Uint8Array(32).fill(1));
export const remoteKey = signingKeyFromSeed('remote', new Uint8Array(32).fill(2));

/** Deterministic randomness, so room and event ids differ per call but tests replay. */
export function counterRandom(): Random {
  let n = 0;
  return {
    bytes: (length) => Uint8Array.from({ length }, (_, i) => (n * 31 + i * 7 + 13) & 0xff).map((b, i) => (i === 0 ? (n++, b) : b)),
    token: () => `t${n++}`,
  };
}

/** The keyring both test servers share: each one's key, valid forever. */
export const keyring: KeyLookup = {
  async verifyKey(server, keyId) {
    for (const [name, key] of [[LOCAL, localKey], [REMOTE, remoteKey]] as Array<[string, SigningKey]>) {
      if (server === name && keyId === key.keyId) return { key: key.publicKey, validUntilTs: Infinity };
    }
    return undefined;
  },
};

export function roomWorld(t: Test, db: Database, options: { readonly streamWindow?: StreamWindow; readonly policySigner?: PolicySigner } = {}) {
  const store: RoomStore = createRoomStore(db.sql, options.streamWindow === undefined ? {} : { streamWindow: options.streamWindow });
  const clock = fixedClock(1_700_000_000_000);
  const positions: number[] = [];
  const notifier = { eventsPersisted: (_roomId: string, position: number) => void positions.push(position) };
  const log = silentLogger();
  const policySigner = options.policySigner;
  const rooms = createRoomServer({ store, notifier, log, clock, random: counterRandom(), serverName: LOCAL, signingKey: localKey, ...(policySigner ? { policySigner } : {}) });
  const receive = createReceivePipeline({ store, keys: keyring, notifier, log, ...(policySigner ? { policySigner } : {}) });
  t.teardown(() => undefined);
  return { store, rooms, receive, clock, positions };
}

/**
 * A member event of a remote.test user (join by default), signed by remote.test on top of the room's head
 * and received through the pipeline as if it came over federation. Throws unless it is accepted.
 * `extraContent` adds to the content (a displayname, say).
 */
export async function remoteMembership(
  world: ReturnType<typeof roomWorld>,
  roomId: string,
  userId: string,
  membership = 'join',
  now = 1_700_000_100_000,
  extraContent: Record<string, unknown> = {},
): Promise<RoomEvent> {
  const room = await world.store.room(roomId);
  const rules = getRoomVersion(room!.roomVersion)!;
  const draft: EventDraft = { type: 'm.room.member', stateKey: userId, sender: userId, content: { ...extraContent, membership } };
  const head = (await world.store.forwardExtremities(roomId))[0]!;
  const state = await world.store.currentState(roomId);
  const authIds = authEventsSelection(draft, rules).map((key) => state.get(key)).filter((id): id is string => id !== undefined);
  const known = await world.store.events([head, ...authIds]);
  const event = buildEvent(draft, {
    rules, roomId, origin: REMOTE, key: remoteKey, now,
    prevEvents: [known.get(head)!.event], authEvents: authIds.map((id) => known.get(id)!.event),
  });
  const outcome = await world.receive.receivePdu(roomId, event.pdu, REMOTE);
  if (outcome.status !== 'accepted') throw new Error(`${userId}'s ${membership} was not accepted: ${JSON.stringify(outcome)}`);
  return event;
}

/** The client rooms service on a test database, wired as server.ts does (for app.inject() tests). */
export function clientRooms(
  db: Database,
  clock: Clock = fixedClock(1_700_000_000_000),
  memberProfile?: RoomServerDeps['memberProfile'],
  notifier: RoomServerDeps['notifier'] = { eventsPersisted: () => undefined },
  isLocalGuest?: (userId: string) => Promise<boolean>,
  ignoredUsers?: (userId: string) => Promise<ReadonlySet<string>>,
  streamWindow?: StreamWindow,
  /** Account data and push rules, to carry settings into upgraded rooms as server.ts does; absent: nothing is carried. */
  carry?: Pick<UpgradeCarryDeps, 'accountData' | 'pushRules'>,
) {
  const store = createRoomStore(db.sql, streamWindow ? { streamWindow } : {});
  const rooms = createRoomServer({
    store, notifier, log: silentLogger(), clock, random: systemRandom, serverName: LOCAL, signingKey: localKey,
    ...(memberProfile ? { memberProfile } : {}),
  });
  const directory = createDirectoryStore(db.sql);
  const guestAccess = isLocalGuest && createGuestAccess({ store, isLocalGuest, leave: (roomId, userId) => rooms.leave(roomId, userId) });
  const upgradeCarry = carry && createUpgradeCarry({ ...carry, store, aliases: directory, directory, clock, log: silentLogger() });
  return createClientRooms({
    rooms, store, clock, serverName: LOCAL, aliases: directory, directory,
    ...(guestAccess ? { guestAccess } : {}),
    ...(ignoredUsers ? { ignoredUsers } : {}),
    ...(upgradeCarry ? { upgradeCarry } : {}),
  });
}
