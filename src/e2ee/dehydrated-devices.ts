import { MatrixError, parseDeviceId } from '../protocol/index.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { Requester } from '../users/index.js';
import { checkDeviceKeys, parseUploadedKeys } from './key-json.js';
import type { DehydratedDeviceStore, UploadedKey } from './ports.js';
import { TO_DEVICE_SYNC_LIMIT, type ToDeviceEvent, type ToDeviceService } from './to-device.js';

/**
 * Dehydrated devices (MSC3814, unstable v1): a client uploads a device of the user's that no client runs,
 * with its public keys and its private state encrypted (device_data, opaque to Hearth). Other devices
 * encrypt room keys to it like to any device; a later client of the user's decrypts device_data and reads
 * the to-device messages queued for it. At most one per user; a new one replaces (deletes) the old one.
 *
 * The messages are not deleted as they are paged through: the MSC asks that another client can restart an
 * interrupted rehydration. They go with the device, when the client replaces or deletes it.
 */

export interface DehydratedDevicesDeps {
  readonly store: DehydratedDeviceStore;
  readonly toDevice: Pick<ToDeviceService, 'toDeviceFor'>;
  /** Wakes the syncs that watch the user's devices, and tells federation of those named (the keys service's announce). */
  readonly announce: (userId: string, position: number, deviceIds?: readonly string[]) => Promise<void>;
  readonly clock: Clock;
  readonly log: Logger;
  /** As for POST /keys/upload (config e2ee.verify_device_keys). Default true. */
  readonly verifyDeviceKeys?: boolean;
}

/** PUT /dehydrated_device's body, as the wire names it. */
export interface DehydratedDeviceUpload {
  readonly device_id: string;
  readonly device_data: Readonly<Record<string, unknown>>;
  readonly initial_device_display_name?: string | undefined;
  readonly device_keys: Readonly<Record<string, unknown>>;
  readonly one_time_keys?: Readonly<Record<string, unknown>> | undefined;
  readonly fallback_keys?: Readonly<Record<string, unknown>> | undefined;
}

export interface DehydratedEventsPage {
  readonly events: ToDeviceEvent[];
  /** Asks for the page after this one; with it, a call after the last page returns no events. */
  readonly nextBatch: string;
  /** Whether more events may follow (the page is full). */
  readonly limited: boolean;
}

/** A next_batch token is a toDevice-stream position: the page after it starts above it. */
function parseBatchToken(token: string): number {
  const position = /^\d{1,15}$/.test(token) ? Number(token) : Number.NaN;
  if (!Number.isSafeInteger(position)) throw new MatrixError('M_INVALID_PARAM', `next_batch '${token.slice(0, 40)}' is not a token this server gave out`);
  return position;
}

function uploadedKeys(keys: Readonly<Record<string, unknown>> | undefined, field: string): UploadedKey[] {
  return keys === undefined ? [] : parseUploadedKeys(keys, field);
}

export function createDehydratedDevices(deps: DehydratedDevicesDeps) {
  const { store, toDevice, announce, clock, log } = deps;

  async function current(userId: string) {
    const device = await store.dehydratedDevice(userId);
    if (device === undefined) throw new MatrixError('M_NOT_FOUND', 'You have no dehydrated device');
    return device;
  }

  return {
    /**
     * PUT /dehydrated_device: checks everything first (the device keys as /keys/upload does), then
     * replaces the user's dehydrated device and publishes the new one's keys.
     */
    async upload(requester: Requester, body: DehydratedDeviceUpload): Promise<{ device_id: string }> {
      const { userId } = requester;
      const deviceId = parseDeviceId(body.device_id);
      if (body.device_keys.device_id !== deviceId) {
        throw new MatrixError('M_INVALID_PARAM', `device_keys.device_id must be the dehydrated device's id, device_id (${deviceId})`);
      }
      const deviceKeys = checkDeviceKeys({ ...body.device_keys }, userId, deviceId, deps.verifyDeviceKeys !== false);
      const oneTimeKeys = uploadedKeys(body.one_time_keys, 'one_time_keys');
      const fallbackKeys = uploadedKeys(body.fallback_keys, 'fallback_keys');
      const algorithms = fallbackKeys.map((key) => key.algorithm);
      if (new Set(algorithms).size !== algorithms.length) throw new MatrixError('M_INVALID_PARAM', 'fallback_keys may hold one key per algorithm');

      const previous = await store.dehydratedDevice(userId);
      // One transaction: the old device goes, the new one comes with its keys, or nothing changes.
      const replaced = await store.replaceDehydratedDevice(
        userId,
        { deviceId, deviceData: body.device_data, displayName: body.initial_device_display_name ?? null },
        { deviceKeys, oneTimeKeys, fallbackKeys },
        clock.now(),
      );
      if (replaced === 'in-use') {
        throw new MatrixError('M_INVALID_PARAM', `device_id ${deviceId} is already one of your devices; a dehydrated device needs an id of its own (its curve25519 key)`);
      }
      log.info({ userId, deviceId }, 'dehydrated device stored');
      await announce(userId, replaced.position, previous === undefined || previous.deviceId === deviceId ? [deviceId] : [previous.deviceId, deviceId]);
      return { device_id: deviceId };
    },

    /** GET /dehydrated_device. */
    async get(userId: string): Promise<{ device_id: string; device_data: Record<string, unknown> }> {
      const device = await current(userId);
      return { device_id: device.deviceId, device_data: { ...device.deviceData } };
    },

    /** DELETE /dehydrated_device: the device goes with its keys and messages. */
    async delete(userId: string): Promise<{ device_id: string }> {
      const deleted = await store.deleteDehydratedDevice(userId);
      if (deleted === undefined) throw new MatrixError('M_NOT_FOUND', 'You have no dehydrated device');
      log.info({ userId, deviceId: deleted.deviceId }, 'dehydrated device deleted');
      await announce(userId, deleted.position, [deleted.deviceId]);
      return { device_id: deleted.deviceId };
    },

    /**
     * POST (or GET) /dehydrated_device/{deviceId}/events: the to-device messages queued for the user's
     * current dehydrated device, oldest first, `limit` at a time, from after `from` (a next_batch).
     */
    async events(requester: Requester, deviceId: string, from: string | undefined, limit: number = TO_DEVICE_SYNC_LIMIT): Promise<DehydratedEventsPage> {
      const device = await current(requester.userId);
      if (device.deviceId !== deviceId) throw new MatrixError('M_FORBIDDEN', 'You may only fetch the messages of your current dehydrated device');
      const since = from === undefined ? 0 : parseBatchToken(from);
      const page = await toDevice.toDeviceFor(requester.userId, deviceId, since, limit);
      return { events: page.events, nextBatch: String(page.position), limited: page.events.length === limit };
    },
  };
}

export type DehydratedDevices = ReturnType<typeof createDehydratedDevices>;
