import type postgres from 'postgres';
import type { DehydratedDeviceRecord, DehydratedDeviceStore } from '../e2ee/index.js';
import { devicesRemoved, recordDeviceListChanges } from './device-list-changes.js';
import { writeKeys } from './keys-store.js';

/** Dehydrated devices (src/e2ee/ports.ts DehydratedDeviceStore) on migrations/0017_dehydrated_devices.sql. */

type Tx = postgres.TransactionSql;

/** Aborts a replacement's transaction: the new id is one of the user's devices already. */
class DeviceIdInUse extends Error {}

/**
 * Takes the user's row lock for the rest of the transaction, so that two uploads for one user run one
 * after the other. `for no key update` leaves inserts that reference the user (new devices) unblocked.
 */
async function lockUser(tx: Tx, userId: string): Promise<void> {
  await tx`select 1 from users where user_id = ${userId} for no key update`;
}

/** Removes the device (its keys, messages and dehydrated record go with it); returns the device-list position. */
async function removeDevice(tx: Tx, userId: string, deviceId: string): Promise<number | null> {
  const position = await devicesRemoved(tx, userId, [deviceId]);
  await tx`delete from devices where user_id = ${userId} and device_id = ${deviceId}`;
  return position;
}

export function createDehydratedDevicesStore(sql: postgres.Sql): DehydratedDeviceStore {
  return {
    async dehydratedDevice(userId): Promise<DehydratedDeviceRecord | undefined> {
      const [row] = await sql<{ device_id: string; device_data: string }[]>`
        select device_id, device_data from dehydrated_devices where user_id = ${userId}`;
      return row === undefined ? undefined : { deviceId: row.device_id, deviceData: JSON.parse(row.device_data) as Record<string, unknown> };
    },

    async replaceDehydratedDevice(userId, device, keys, nowMs) {
      return (await sql.begin(async (tx) => {
        await lockUser(tx, userId);
        const [old] = await tx<{ device_id: string }[]>`select device_id from dehydrated_devices where user_id = ${userId}`;
        if (old !== undefined) await removeDevice(tx, userId, old.device_id);
        // No access token is ever made for it; POST /login refuses its id (accounts-store startSession).
        const created = await tx`
          insert into devices (user_id, device_id, display_name, created_ts)
          values (${userId}, ${device.deviceId}, ${device.displayName}, ${nowMs})
          on conflict (user_id, device_id) do nothing`;
        // Throwing rolls back the old device's removal too: a refused upload changes nothing.
        if (created.count === 0) throw new DeviceIdInUse();
        await tx`
          insert into dehydrated_devices (user_id, device_id, device_data)
          values (${userId}, ${device.deviceId}, ${JSON.stringify(device.deviceData)})`;
        // The device is new: none of its one-time keys can clash, and its keys are published with it.
        const published = await writeKeys(tx, { userId, deviceId: device.deviceId, ...keys });
        return { position: published.position ?? (await recordDeviceListChanges(tx, [{ userId }])) };
      }).catch((err: unknown) => {
        if (err instanceof DeviceIdInUse) return 'in-use';
        throw err;
      })) as { position: number } | 'in-use';
    },

    async deleteDehydratedDevice(userId, deviceId) {
      return (await sql.begin(async (tx) => {
        await lockUser(tx, userId);
        const [row] = await tx<{ device_id: string }[]>`select device_id from dehydrated_devices where user_id = ${userId}`;
        if (row === undefined || (deviceId !== undefined && row.device_id !== deviceId)) return undefined;
        const position = await removeDevice(tx, userId, row.device_id);
        return { deviceId: row.device_id, position: position ?? (await recordDeviceListChanges(tx, [{ userId }])) };
      })) as { deviceId: string; position: number } | undefined;
    },
  };
}
