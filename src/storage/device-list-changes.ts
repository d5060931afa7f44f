import type postgres from 'postgres';
import { ADVISORY_LOCK_NAMESPACE, DEVICE_LIST_STREAM_LOCK_ID } from './migrate.js';

/**
 * Writing the device-list stream (migrations/0015_e2ee_keys.sql) inside the caller's transaction, so that
 * a change to devices or keys and its place on the stream commit together or not at all.
 */

type Tx = postgres.TransactionSql | postgres.Sql;

/**
 * Records that the users' devices or keys changed (for `onlyFor` alone, when given), all at one new
 * position, and returns it. The advisory lock, held to commit, makes positions commit in drawing order; one
 * statement takes it, draws the position and writes the rows, so it is held for no round trip but the commit.
 */
export async function recordDeviceListChanges(tx: Tx, changes: ReadonlyArray<{ readonly userId: string; readonly onlyFor?: string }>): Promise<number> {
  // One row per user: a change everyone sees covers one only its signer sees.
  const byUser = new Map<string, { readonly userId: string; readonly onlyFor?: string }>();
  for (const change of changes) {
    const known = byUser.get(change.userId);
    if (known === undefined || (known.onlyFor !== undefined && known.onlyFor !== change.onlyFor)) {
      byUser.set(change.userId, known === undefined ? change : { userId: change.userId });
    }
  }
  const unique = [...byUser.values()];
  // nextval is volatile: the CTE is evaluated once, and the lock in its condition is taken before it draws.
  const [drawn] = await tx<{ position: number }[]>`
    with drawn as (
      select nextval('device_list_stream_seq') as position
      where (select true from pg_advisory_xact_lock(${ADVISORY_LOCK_NAMESPACE}, ${DEVICE_LIST_STREAM_LOCK_ID}))),
    written as (
      insert into device_list_changes (position, user_id, only_for)
      select drawn.position, u.user_id, nullif(u.only_for, '')
      from drawn, unnest(${tx.array(unique.map((change) => change.userId))}::text[], ${tx.array(unique.map((change) => change.onlyFor ?? ''))}::text[])
        as u (user_id, only_for))
    select position from drawn`;
  if (drawn === undefined) throw new Error('no device-list stream position was drawn');
  return drawn.position;
}

/**
 * Before the user's devices go (all of them when `deviceIds` is null): drops the signatures on them and
 * records the change (clients watching the user drop the devices). Returns the position, or null when the
 * user had none of the devices.
 */
export async function devicesRemoved(tx: Tx, userId: string, deviceIds: readonly string[] | null): Promise<number | null> {
  const rows = deviceIds === null
    ? await tx<{ device_id: string }[]>`select device_id from devices where user_id = ${userId}`
    : await tx<{ device_id: string }[]>`select device_id from devices where user_id = ${userId} and device_id = any(${tx.array([...deviceIds])}::text[])`;
  if (rows.length === 0) return null;
  await tx`
    delete from key_signatures
    where target_user_id = ${userId} and target_key_id = any(${tx.array(rows.map((row) => row.device_id))}::text[])`;
  return recordDeviceListChanges(tx, [{ userId }]);
}
