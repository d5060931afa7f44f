import type postgres from 'postgres';
import type { RemoteDeviceListRow, RemoteDeviceListStore } from '../e2ee/ports.js';
import type { RemoteDevice, RemoteDeviceList } from '../e2ee/remote-device-lists.js';

interface Row {
  user_id: string;
  shared: boolean;
  continuous: boolean;
  stream_id: number | null;
  known_ids: number[] | null;
  stale: boolean | null;
  devices: Record<string, { keys: Record<string, unknown>; display_name?: string }> | null;
  master_key: Record<string, unknown> | null;
  self_signing_key: Record<string, unknown> | null;
}

/** Remote users' kept device lists (src/e2ee/ports.ts) on migrations/0022_remote_device_lists.sql. */
export function createRemoteDeviceListStore(sql: postgres.Sql): RemoteDeviceListStore {
  const devicesJson = (list: RemoteDeviceList) =>
    Object.fromEntries(Object.entries(list.devices).map(([deviceId, device]) => [deviceId, { keys: device.keys, ...(device.displayName === undefined ? {} : { display_name: device.displayName }) }]));

  async function put(userId: string, list: RemoteDeviceList, nowTs: number, fetched: boolean): Promise<void> {
    const devices = sql.json(devicesJson(list) as postgres.JSONValue);
    const master = list.master === undefined ? null : sql.json(list.master as postgres.JSONValue);
    const selfSigning = list.selfSigning === undefined ? null : sql.json(list.selfSigning as postgres.JSONValue);
    // A fetched list is current as of now: the events stream's position now is where continuity is measured from.
    await sql`
      insert into remote_device_lists (user_id, stream_id, known_ids, stale, devices, master_key, self_signing_key, synced_position, updated_ts)
      values (${userId}, ${list.streamId}, ${list.knownIds as number[]}, false, ${devices}, ${master}, ${selfSigning},
              (select coalesce(max(stream_position), 0) from events), ${nowTs})
      on conflict (user_id) do update set
        stream_id = excluded.stream_id, known_ids = excluded.known_ids, devices = excluded.devices,
        master_key = excluded.master_key, self_signing_key = excluded.self_signing_key, updated_ts = excluded.updated_ts,
        stale = case when ${fetched} then false else remote_device_lists.stale end,
        synced_position = case when ${fetched} then excluded.synced_position else remote_device_lists.synced_position end`;
  }

  return {
    async remoteDeviceLists(userIds, localServer) {
      const suffix = `:${localServer}`;
      // For each room the user is joined to: the position of their join, and of the earliest join of a
      // local user still joined (none: we share nothing there). The membership is read from the member
      // events the partial index current_state_members finds.
      const rows = await sql<Row[]>`
        with asked as (select unnest(${userIds as string[]}::text[]) as user_id),
        remote_joins as (
          select a.user_id, c.room_id, e.stream_position as remote_pos
          from asked a
          join current_state c on c.type = 'm.room.member' and c.state_key = a.user_id
          join events e on e.event_id = c.event_id
          where (e.json::jsonb -> 'content' ->> 'membership') = 'join'
        ),
        shared as (
          select r.user_id, r.remote_pos, (
            select min(le.stream_position)
            from current_state l join events le on le.event_id = l.event_id
            where l.room_id = r.room_id and l.type = 'm.room.member'
              and right(l.state_key, ${suffix.length}) = ${suffix}
              and (le.json::jsonb -> 'content' ->> 'membership') = 'join'
          ) as local_pos
          from remote_joins r
        )
        select a.user_id, d.stream_id, d.known_ids, d.stale, d.devices, d.master_key, d.self_signing_key,
          exists (select 1 from shared s where s.user_id = a.user_id and s.local_pos is not null) as shared,
          coalesce(exists (
            select 1 from shared s
            where s.user_id = a.user_id and s.local_pos <= d.synced_position
              and (s.remote_pos is null or s.remote_pos <= d.synced_position)
          ), false) as continuous
        from asked a left join remote_device_lists d on d.user_id = a.user_id`;
      const result = new Map<string, RemoteDeviceListRow>();
      for (const row of rows) {
        if (row.stream_id === null || row.devices === null) {
          result.set(row.user_id, { shared: row.shared });
          continue;
        }
        const devices: Record<string, RemoteDevice> = {};
        for (const [deviceId, device] of Object.entries(row.devices)) {
          devices[deviceId] = { keys: device.keys, ...(device.display_name === undefined ? {} : { displayName: device.display_name }) };
        }
        const list: RemoteDeviceList = {
          streamId: row.stream_id,
          knownIds: (row.known_ids ?? []).map(Number),
          devices,
          ...(row.master_key ? { master: row.master_key } : {}),
          ...(row.self_signing_key ? { selfSigning: row.self_signing_key } : {}),
        };
        result.set(row.user_id, { shared: row.shared, kept: { list, stale: row.stale === true, continuous: row.continuous } });
      }
      return result;
    },

    putFetched: (userId, list, nowTs) => put(userId, list, nowTs, true),
    putUpdated: (userId, list, nowTs) => put(userId, list, nowTs, false),

    async markStale(userId) {
      await sql`update remote_device_lists set stale = true where user_id = ${userId}`;
    },

    async forget(userId) {
      await sql`delete from remote_device_lists where user_id = ${userId}`;
    },
  };
}
