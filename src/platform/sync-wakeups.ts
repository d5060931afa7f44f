import type { StreamNotice, SyncNotifier } from '../sync/index.js';
import type { PeekStore } from '../rooms/index.js';
import type { AccountDataStore, AccountStore } from '../users/index.js';
import type { Bus, BusMessage } from './bus.js';
import type { Logger } from './logger.js';
import { EVENTS_CHANNEL } from './stream-notices.js';

/** The bus channel on which "a user's account data changed" travels ({ users: [userId] }). */
export const ACCOUNT_DATA_CHANNEL = 'stream.accountData';

/** The bus channel on which "a device started or stopped peeking into a room" travels ({ users: [userId] }). */
export const PEEKS_CHANNEL = 'stream.peeks';

/** Channels whose messages are plain stream notices ({ rooms?, users? }); others may add theirs. */
const NOTICE_CHANNELS = [ACCOUNT_DATA_CHANNEL, PEEKS_CHANNEL, 'stream.receipts', 'stream.typing', 'stream.toDevice', 'stream.presence', 'stream.deviceLists'];

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/** What a bus message names: the events stream's { roomId, users } or any stream's { rooms, users }. */
function noticeOf(message: BusMessage): StreamNotice {
  const rooms = strings(message.rooms);
  if (typeof message.roomId === 'string') rooms.push(message.roomId);
  return { rooms, users: strings(message.users) };
}

/**
 * Wakes waiting /sync requests of this process when any process announces a stream change on the bus.
 * Returns the function that stops listening.
 */
export function wakeSyncOnBus(bus: Bus, notifier: SyncNotifier, channels: readonly string[] = []): () => void {
  const stops = [EVENTS_CHANNEL, ...NOTICE_CHANNELS, ...channels].map((channel) =>
    bus.subscribe(channel, (message) => notifier.notify(noticeOf(message))));
  return () => {
    for (const stop of stops) stop();
  };
}

/** The account-data store, announcing each write on the bus once it has committed. */
export function accountDataAnnounced<S extends AccountDataStore>(store: S, bus: Bus, log: Logger): S {
  return {
    ...store,
    async putAccountData(userId, roomId, type, content) {
      const position = await store.putAccountData(userId, roomId, type, content);
      bus.publish(ACCOUNT_DATA_CHANNEL, { users: [userId], position: String(position) })
        .catch((err: unknown) => log.warn({ err }, 'could not publish account-data position'));
      return position;
    },
  };
}

/** The peeks store, announcing each peek and unpeek on the bus once it has committed: the user's syncs wake. */
export function peeksAnnounced(store: PeekStore, bus: Bus, log: Logger): PeekStore {
  const announce = (userId: string, position: number | null) => {
    if (position === null) return;
    bus.publish(PEEKS_CHANNEL, { users: [userId], position: String(position) })
      .catch((err: unknown) => log.warn({ err }, 'could not publish peeks position'));
  };
  return {
    async peek(userId, deviceId, roomId) {
      const position = await store.peek(userId, deviceId, roomId);
      announce(userId, position);
      return position;
    },
    async unpeek(userId, deviceId, roomId) {
      const position = await store.unpeek(userId, deviceId, roomId);
      announce(userId, position);
      return position;
    },
  };
}

type DeviceWrites = Pick<AccountStore, 'startDeviceSession' | 'createDevice' | 'setDeviceDisplayName' | 'deleteDevice' | 'deleteDevices' | 'deleteAllDevices' | 'setPassword' | 'deactivateUser' | 'devices'>;

/**
 * The accounts store, announcing each device-list change its device writes recorded (a device logged in,
 * renamed or removed) once it has committed, with the devices it touched (for federation's
 * m.device_list_update). `announce` is the E2EE keys service's.
 */
export function deviceChangesAnnounced<S extends DeviceWrites>(
  store: S,
  announce: (userId: string, position: number, deviceIds?: readonly string[]) => Promise<void>,
  log: Logger,
): S {
  // Awaited before the write returns: a sync the client starts after its request sees the notice (a
  // long-poll resuming from its last token would otherwise wait past the change). A failure is logged;
  // the change is recorded, and readers catch up at their next read.
  const told = (userId: string, deviceIds: readonly string[]) => async (position: number | null) => {
    if (position !== null) await announce(userId, position, deviceIds).catch((err: unknown) => log.warn({ err }, 'could not announce a device-list change'));
    return position;
  };
  /** The user's device ids before a write that removes an unnamed set of them. */
  const deviceIdsOf = async (userId: Parameters<S['devices']>[0]) => (await store.devices(userId)).map((device) => device.deviceId);
  return {
    ...store,
    startDeviceSession: async (userId, session, nowMs) => told(userId, [session.deviceId])(await store.startDeviceSession(userId, session, nowMs)),
    createDevice: async (userId, deviceId, name, nowMs) => told(userId, [deviceId])(await store.createDevice(userId, deviceId, name, nowMs)),
    setDeviceDisplayName: async (userId, deviceId, name) => {
      const result = await store.setDeviceDisplayName(userId, deviceId, name);
      await told(userId, [deviceId])(result.position);
      return result;
    },
    deleteDevice: async (userId, deviceId) => told(userId, [deviceId])(await store.deleteDevice(userId, deviceId)),
    deleteDevices: async (userId, deviceIds) => told(userId, deviceIds)(await store.deleteDevices(userId, deviceIds)),
    deleteAllDevices: async (userId) => {
      const before = await deviceIdsOf(userId);
      return told(userId, before)(await store.deleteAllDevices(userId));
    },
    setPassword: async (userId, hash, logoutExcept) => {
      const before = await deviceIdsOf(userId);
      return told(userId, before)(await store.setPassword(userId, hash, logoutExcept));
    },
    deactivateUser: async (userId, erase) => {
      const before = await deviceIdsOf(userId);
      return told(userId, before)(await store.deactivateUser(userId, erase));
    },
  };
}
