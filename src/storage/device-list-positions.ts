import type postgres from 'postgres';
import type { DeviceListPositions } from '../e2ee/index.js';

/**
 * Where each user's device list stands on the device-list stream (migrations/0015_e2ee_keys.sql): the
 * stream_id federation's /user/devices gives, which m.device_list_update EDUs then count up from.
 */
export function createDeviceListPositions(sql: postgres.Sql): DeviceListPositions {
  return {
    async deviceListPosition(userId: string): Promise<number> {
      // Changes only one reader sees (only_for) are that reader's signatures, not the device list itself.
      const [row] = await sql<{ position: number | null }[]>`
        select max(position) as position from device_list_changes where user_id = ${userId} and only_for is null`;
      return Number(row?.position ?? 0);
    },
  };
}

/**
 * The user's last device-list position before `before` (own changes only), 0 when there is none: the
 * prev_id of an outbound m.device_list_update at `before`.
 */
export function previousDeviceListPosition(sql: postgres.Sql): (userId: string, before: number) => Promise<number> {
  return async (userId, before) => {
    const [row] = await sql<{ position: number | null }[]>`
      select max(position) as position from device_list_changes
      where user_id = ${userId} and only_for is null and position < ${before}`;
    return Number(row?.position ?? 0);
  };
}
