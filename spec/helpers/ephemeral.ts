import type { Test } from 'tap';
import type { FastifyInstance } from 'fastify';
import { createMemoryBus, type Bus, type BusMessage } from '../../src/platform/bus.js';
import { fixedClock, systemRandom, type Clock } from '../../src/platform/clock.js';
import { silentLogger } from '../../src/platform/logger.js';
import { streamNotifierOnBus, typingRelayOnBus } from '../../src/platform/stream-notices.js';
import { createPresenceService, createReceiptService, createTypingService, type Scheduler } from '../../src/ephemeral/index.js';
import { createToDeviceService } from '../../src/e2ee/index.js';
import {
  createPresenceStore,
  createReceiptsStore,
  createRoomStore,
  createToDeviceStore,
  createUserDataStore,
  type Database,
} from '../../src/storage/index.js';
import { LOCAL } from './rooms.js';

/** Timers that fire only when the test says so. */
export function manualScheduler(): Scheduler & { fireAll(): number; pending(): number } {
  const timers = new Set<{ fn: () => void }>();
  return {
    after(_ms, fn) {
      const timer = { fn };
      timers.add(timer);
      return () => void timers.delete(timer);
    },
    fireAll() {
      const due = [...timers];
      timers.clear();
      for (const timer of due) timer.fn();
      return due.length;
    },
    pending: () => timers.size,
  };
}

/** Every message published on the bus's stream channels, in order, as [channel, message]. */
export function busRecorder(bus: Bus, channels: readonly string[]): Array<[string, BusMessage]> {
  const heard: Array<[string, BusMessage]> = [];
  for (const channel of channels) bus.subscribe(channel, (message) => heard.push([channel, message]));
  return heard;
}

export interface EphemeralOptions {
  readonly clock?: Clock;
  readonly bus?: Bus;
  readonly presenceEnabled?: boolean;
  /** The user-data store read markers go to (a whole app passes its announcing one). */
  readonly userData?: ReturnType<typeof createUserDataStore>;
}

/**
 * Typing, receipts, to-device and presence on a test database, wired as server.ts does (on an in-process bus
 * and timers the test fires by hand); spread `deps` into buildApp's deps.
 */
export function ephemeralServices(t: Test, db: Database, options: EphemeralOptions = {}) {
  const clock = options.clock ?? fixedClock(1_700_000_000_000);
  const bus = options.bus ?? createMemoryBus();
  if (options.bus === undefined) t.teardown(() => bus.close());
  const log = silentLogger();
  const roomStore = createRoomStore(db.sql);
  const scheduler = manualScheduler();
  const typing = createTypingService({ rooms: roomStore, clock, relay: typingRelayOnBus(bus, log, systemRandom.token(8)), scheduler });
  t.teardown(() => typing.close());
  const userData = options.userData ?? createUserDataStore(db.sql);
  const deps = {
    typing,
    receipts: createReceiptService({
      store: createReceiptsStore(db.sql),
      readMarkers: userData,
      rooms: roomStore,
      clock,
      notify: streamNotifierOnBus(bus, log, 'receipts'),
    }),
    toDevice: createToDeviceService({
      store: createToDeviceStore(db.sql),
      clock,
      log,
      serverName: LOCAL,
      notify: streamNotifierOnBus(bus, log, 'toDevice'),
    }),
    presence: createPresenceService({
      store: createPresenceStore(db.sql),
      rooms: roomStore,
      clock,
      notify: streamNotifierOnBus(bus, log, 'presence'),
      enabled: options.presenceEnabled ?? true,
    }),
  };
  return { deps, bus, scheduler, userData, ...deps };
}

/** A registered user's calls through app.inject(), for API tests: status and parsed body. */
export function clientOf(app: FastifyInstance, session: { user_id: string; access_token: string; device_id: string }) {
  const call = async (method: 'GET' | 'PUT' | 'POST' | 'DELETE', path: string, payload?: unknown) => {
    const res = await app.inject({
      method,
      url: path.startsWith('/_matrix') ? path : `/_matrix/client/v3${path}`,
      headers: { authorization: `Bearer ${session.access_token}` },
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    });
    return { status: res.statusCode, body: res.json() as Record<string, unknown> };
  };
  return {
    userId: session.user_id,
    deviceId: session.device_id,
    call,
    async createRoom(body: Record<string, unknown> = { preset: 'public_chat' }): Promise<string> {
      const res = await call('POST', '/createRoom', body);
      if (res.status !== 200) throw new Error(`createRoom failed: ${JSON.stringify(res.body)}`);
      return res.body.room_id as string;
    },
    async join(roomId: string): Promise<void> {
      const res = await call('POST', `/rooms/${encodeURIComponent(roomId)}/join`, {});
      if (res.status !== 200) throw new Error(`join failed: ${JSON.stringify(res.body)}`);
    },
    async send(roomId: string, body = 'hello'): Promise<string> {
      const txn = `t${Math.random().toString(36).slice(2)}`;
      const res = await call('PUT', `/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txn}`, { msgtype: 'm.text', body });
      if (res.status !== 200) throw new Error(`send failed: ${JSON.stringify(res.body)}`);
      return res.body.event_id as string;
    },
  };
}

/** Lets the in-process bus deliver what was published. */
export const busSettled = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));
