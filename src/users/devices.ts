import { isDeviceId, MatrixError, type DeviceId } from '../protocol/index.js';
import type { Clock } from '../platform/clock.js';
import type { PasswordHasher } from './passwords.js';
import { passwordStage } from './password-stage.js';
import type { AccountStore, DeviceRecord, Requester } from './ports.js';
import type { AuthDict, Flow, Uia } from './uia.js';

/**
 * Device management: a user lists, names and deletes their own devices. Deleting one logs it out (its
 * tokens go with it) and is confirmed with the password, so that a stolen token cannot lock the owner out.
 */

/** Synapse's limit, so names that work there work here. */
export const MAX_DEVICE_DISPLAY_NAME_LENGTH = 100;

export const DELETE_DEVICE_FLOWS: readonly Flow[] = [['m.login.password']];

export interface DeviceDeps {
  readonly store: Pick<AccountStore, 'user' | 'devices' | 'device' | 'setDeviceDisplayName' | 'deleteDevices' | 'createDevice'>;
  readonly uia: Uia;
  readonly passwords: PasswordHasher;
  readonly clock: Clock;
}

/** A string that is no device id names none of the caller's devices. */
function deviceIdOf(value: string): DeviceId {
  if (!isDeviceId(value)) throw new MatrixError('M_NOT_FOUND', `You have no device ${value}`);
  return value;
}

export function createDeviceService(deps: DeviceDeps) {
  const { store, uia } = deps;

  async function deleteConfirmed(requester: Requester, operation: string, deviceIds: readonly DeviceId[], auth: AuthDict | undefined) {
    // An application service manages its users' devices without their passwords (Matrix 1.17).
    if (requester.appservice === undefined) {
      await uia.check(operation, DELETE_DEVICE_FLOWS, auth, { 'm.login.password': passwordStage(deps, requester.userId) });
    }
    await store.deleteDevices(requester.userId, deviceIds);
  }

  return {
    /** GET /devices. */
    async list(requester: Requester): Promise<DeviceRecord[]> {
      return store.devices(requester.userId);
    },

    /** GET /devices/{deviceId}: M_NOT_FOUND for a device the caller does not have. */
    async get(requester: Requester, deviceId: string): Promise<DeviceRecord> {
      const device = await store.device(requester.userId, deviceIdOf(deviceId));
      if (device === undefined) throw new MatrixError('M_NOT_FOUND', `You have no device ${deviceId}`);
      return device;
    },

    /**
     * PUT /devices/{deviceId}: renames the device; a missing name changes nothing. An application service
     * creates the device when its user has none of that id (Matrix 1.17: it manages its users' encryption
     * without logging them in).
     */
    async update(requester: Requester, deviceId: string, displayName: string | undefined): Promise<void> {
      if (requester.appservice !== undefined && !isDeviceId(deviceId)) throw new MatrixError('M_INVALID_PARAM', `${deviceId} is not a valid device id`);
      const id = deviceIdOf(deviceId);
      if (displayName !== undefined && displayName.length > MAX_DEVICE_DISPLAY_NAME_LENGTH) {
        throw new MatrixError('M_TOO_LARGE', `The device name is too long: at most ${MAX_DEVICE_DISPLAY_NAME_LENGTH} characters`, { status: 400 });
      }
      const found = displayName === undefined
        ? (await store.device(requester.userId, id)) !== undefined
        : (await store.setDeviceDisplayName(requester.userId, id, displayName)).found;
      if (found) return;
      if (requester.appservice === undefined) throw new MatrixError('M_NOT_FOUND', `You have no device ${deviceId}`);
      await store.createDevice(requester.userId, id, displayName ?? null, deps.clock.now());
    },

    /** DELETE /devices/{deviceId}, behind the password. M_NOT_FOUND first, so no password is asked for nothing. */
    async delete(requester: Requester, deviceId: string, auth: AuthDict | undefined): Promise<void> {
      const id = deviceIdOf(deviceId);
      if ((await store.device(requester.userId, id)) === undefined) {
        throw new MatrixError('M_NOT_FOUND', `You have no device ${deviceId}`);
      }
      // The device is part of the operation: a session confirmed for one device cannot delete another.
      await deleteConfirmed(requester, `DELETE /devices/${id}`, [id], auth);
    },

    /** POST /delete_devices, behind the password; ids the caller does not have are ignored (as Synapse). */
    async deleteMany(requester: Requester, deviceIds: readonly string[], auth: AuthDict | undefined): Promise<void> {
      // A string that is no device id is none of the caller's devices: nothing to delete.
      const sorted = [...new Set(deviceIds.filter((id) => isDeviceId(id)))].sort();
      await deleteConfirmed(requester, `POST /delete_devices ${JSON.stringify(sorted)}`, sorted, auth);
    },
  };
}

export type DeviceService = ReturnType<typeof createDeviceService>;
