import type postgres from 'postgres';
import { encodeCanonicalJson } from '../crypto/index.js';
import type { ClaimedKey, KeysUpload, KeyStore, PublishedDevice, StoredCrossSigningKey, StoredSignature, UploadedKey } from '../e2ee/index.js';
import { recordDeviceListChanges } from './device-list-changes.js';

/** E2EE keys (src/e2ee/ports.ts KeyStore) on migrations/0015_e2ee_keys.sql. */

type Tx = postgres.TransactionSql | postgres.Sql;

/** Key JSON is kept canonical, so two uploads of the same key compare equal as text. */
const stored = (value: unknown): string => encodeCanonicalJson(value);

interface KeyCountRow {
  readonly kind: string;
  readonly algorithm: string;
  readonly count: number;
}

/**
 * The rows a device's key counts are made of (a fragment: sync's standing read embeds it, naming the user and
 * device by columns of its own).
 */
export function keyCountRows(tx: Tx, userId: string | postgres.Fragment, deviceId: string | postgres.Fragment) {
  return tx<KeyCountRow[]>`
    select 'otk' as kind, algorithm, count(*)::int as count from one_time_keys
    where user_id = ${userId} and device_id = ${deviceId} group by algorithm
    union all
    select 'fallback' as kind, algorithm, 0 as count from fallback_keys
    where user_id = ${userId} and device_id = ${deviceId} and not used`;
}

/** The counts from those rows. */
export function keyCountsFrom(rows: readonly KeyCountRow[]): { counts: Record<string, number>; unusedFallbackTypes: string[] } {
  // signed_curve25519 is always there, 0 when none is left: the spec lets a missing algorithm mean zero,
  // but the Rust crypto SDK (Element) only reads the count when it is present, so without it a device
  // whose keys were all claimed never learns it should upload more.
  const counts: Record<string, number> = { signed_curve25519: 0 };
  const unusedFallbackTypes: string[] = [];
  for (const row of rows) {
    if (row.kind === 'otk') counts[row.algorithm] = row.count;
    else unusedFallbackTypes.push(row.algorithm);
  }
  return { counts, unusedFallbackTypes: unusedFallbackTypes.sort() };
}

async function keyCounts(tx: Tx, userId: string, deviceId: string) {
  return keyCountsFrom(await keyCountRows(tx, userId, deviceId));
}

/**
 * Writes an upload's keys inside the caller's transaction (POST /keys/upload's own, or a dehydrated
 * device's creation). Throws UploadConflict, rolling the transaction back, when a one-time key id exists
 * with other content. Returns the device's one-time key counts and the device-list position, if recorded.
 */
export async function writeKeys(tx: Tx, upload: KeysUpload): Promise<{ counts: Record<string, number>; position: number | null }> {
  const { userId, deviceId } = upload;
  let position: number | null = null;
  if (upload.deviceKeys !== undefined) {
    const json = stored(upload.deviceKeys);
    const [before] = await tx<{ key_json: string }[]>`
      select key_json from device_keys where user_id = ${userId} and device_id = ${deviceId} for update`;
    if (before?.key_json !== json) {
      await tx`
        insert into device_keys (user_id, device_id, key_json) values (${userId}, ${deviceId}, ${json})
        on conflict (user_id, device_id) do update set key_json = excluded.key_json`;
      // Signatures over the old keys sign something else now.
      if (before !== undefined) await tx`delete from key_signatures where target_user_id = ${userId} and target_key_id = ${deviceId}`;
      position = await recordDeviceListChanges(tx, [{ userId }]);
    }
  }
  if (upload.oneTimeKeys.length > 0) {
    const keys = upload.oneTimeKeys.map((key) => ({ ...key, json: stored(key.key) }));
    const existing = await tx<{ algorithm: string; key_id: string; key_json: string }[]>`
      select algorithm, key_id, key_json from one_time_keys
      where user_id = ${userId} and device_id = ${deviceId}
        and (algorithm, key_id) in (select * from unnest(${tx.array(keys.map((key) => key.algorithm))}::text[], ${tx.array(keys.map((key) => key.keyId))}::text[]))`;
    const known = new Map(existing.map((row) => [`${row.algorithm}:${row.key_id}`, row.key_json]));
    const conflict = keys.find((key) => known.has(`${key.algorithm}:${key.keyId}`) && known.get(`${key.algorithm}:${key.keyId}`) !== key.json);
    // Throwing rolls the device keys back too: nothing of a refused upload is kept.
    if (conflict !== undefined) throw new UploadConflict({ algorithm: conflict.algorithm, keyId: conflict.keyId, key: conflict.key });
    const fresh = keys.filter((key) => !known.has(`${key.algorithm}:${key.keyId}`));
    if (fresh.length > 0) {
      await tx`
        insert into one_time_keys (user_id, device_id, algorithm, key_id, key_json, upload_order)
        select ${userId}::text, ${deviceId}::text, k.algorithm, k.key_id, k.key_json, o.upload_order
        from unnest(${tx.array(fresh.map((key) => key.algorithm))}::text[], ${tx.array(fresh.map((key) => key.keyId))}::text[],
          ${tx.array(fresh.map((key) => key.json))}::text[]) as k (algorithm, key_id, key_json)
        cross join (select nextval('one_time_key_upload_seq') as upload_order) o
        on conflict do nothing`;
    }
  }
  for (const key of upload.fallbackKeys) {
    const json = stored(key.key);
    // The same key again keeps its used flag; a new one starts unused.
    await tx`
      insert into fallback_keys (user_id, device_id, algorithm, key_id, key_json, used)
      values (${userId}, ${deviceId}, ${key.algorithm}, ${key.keyId}, ${json}, false)
      on conflict (user_id, device_id, algorithm) do update
        set key_id = excluded.key_id, key_json = excluded.key_json, used = false
        where fallback_keys.key_id <> excluded.key_id or fallback_keys.key_json <> excluded.key_json`;
  }
  return { counts: (await keyCounts(tx, userId, deviceId)).counts, position };
}

export function createKeysStore(sql: postgres.Sql): KeyStore {
  return {
    async uploadKeys(upload) {
      return (await sql.begin((tx) => writeKeys(tx, upload)).catch((err: unknown) => {
        if (err instanceof UploadConflict) return { conflict: err.key };
        throw err;
      })) as { counts: Record<string, number>; position: number | null } | { conflict: UploadedKey };
    },

    async deviceKeys(userId, deviceId) {
      const [row] = await sql<{ key_json: string }[]>`select key_json from device_keys where user_id = ${userId} and device_id = ${deviceId}`;
      return row === undefined ? undefined : (JSON.parse(row.key_json) as Record<string, unknown>);
    },

    keyCounts: (userId, deviceId) => keyCounts(sql, userId, deviceId),

    async publishedDevices(query): Promise<PublishedDevice[]> {
      const whole = [...query].filter(([, devices]) => devices === 'all').map(([userId]) => userId);
      const some = [...query].flatMap(([userId, devices]) => (devices === 'all' ? [] : devices.map((deviceId) => [userId, deviceId] as const)));
      const rows = await sql<{ user_id: string; device_id: string; display_name: string | null; key_json: string }[]>`
        select k.user_id, k.device_id, d.display_name, k.key_json
        from device_keys k join devices d on d.user_id = k.user_id and d.device_id = k.device_id
        where k.user_id = any(${sql.array(whole)}::text[])
          or (k.user_id, k.device_id) in (select * from unnest(${sql.array(some.map(([userId]) => userId))}::text[], ${sql.array(some.map(([, deviceId]) => deviceId))}::text[]))
        order by k.user_id, k.device_id`;
      return rows.map((row) => ({
        userId: row.user_id,
        deviceId: row.device_id,
        displayName: row.display_name,
        keys: JSON.parse(row.key_json) as Record<string, unknown>,
      }));
    },

    async claimKeys(requests): Promise<ClaimedKey[]> {
      if (requests.length === 0) return [];
      return (await sql.begin(async (tx) => {
        const claimed: ClaimedKey[] = [];
        for (const request of requests) {
          const { userId, deviceId, algorithm } = request;
          // skip locked: two claims at once never get the same key; each takes the next one.
          const [key] = await tx<{ key_id: string; key_json: string }[]>`
            delete from one_time_keys
            where (user_id, device_id, algorithm, key_id) = (
              select user_id, device_id, algorithm, key_id from one_time_keys
              where user_id = ${userId} and device_id = ${deviceId} and algorithm = ${algorithm}
              order by upload_order, key_id limit 1 for update skip locked)
            returning key_id, key_json`;
          if (key !== undefined) {
            claimed.push({ ...request, keyId: key.key_id, key: JSON.parse(key.key_json) });
            continue;
          }
          const [fallback] = await tx<{ key_id: string; key_json: string }[]>`
            update fallback_keys set used = true
            where user_id = ${userId} and device_id = ${deviceId} and algorithm = ${algorithm}
            returning key_id, key_json`;
          if (fallback !== undefined) claimed.push({ ...request, keyId: fallback.key_id, key: JSON.parse(fallback.key_json) });
        }
        return claimed;
      })) as ClaimedKey[];
    },

    async crossSigningKeys(userIds): Promise<StoredCrossSigningKey[]> {
      if (userIds.length === 0) return [];
      const rows = await sql<{ user_id: string; key_type: StoredCrossSigningKey['type']; public_key: string; key_json: string }[]>`
        select user_id, key_type, public_key, key_json from cross_signing_keys
        where user_id = any(${sql.array([...userIds])}::text[]) order by user_id, key_type`;
      return rows.map((row) => ({ userId: row.user_id, type: row.key_type, publicKey: row.public_key, json: JSON.parse(row.key_json) as Record<string, unknown> }));
    },

    async putCrossSigningKeys(userId, keys, change): Promise<number> {
      return (await sql.begin(async (tx) => {
        for (const key of keys) {
          await tx`
            insert into cross_signing_keys (user_id, key_type, public_key, key_json)
            values (${userId}, ${key.type}, ${key.publicKey}, ${stored(key.json)})
            on conflict (user_id, key_type) do update set public_key = excluded.public_key, key_json = excluded.key_json`;
        }
        return recordDeviceListChanges(tx, [change]);
      })) as number;
    },

    async signaturesOn(targets): Promise<StoredSignature[]> {
      if (targets.length === 0) return [];
      const rows = await sql<{ target_user_id: string; target_key_id: string; signer_user_id: string; signer_key_id: string; signature: string }[]>`
        select target_user_id, target_key_id, signer_user_id, signer_key_id, signature from key_signatures
        where (target_user_id, target_key_id) in (select * from unnest(${sql.array(targets.map(([userId]) => userId))}::text[], ${sql.array(targets.map(([, keyId]) => keyId))}::text[]))
        order by target_user_id, target_key_id, signer_user_id, signer_key_id`;
      return rows.map((row) => ({
        targetUserId: row.target_user_id,
        targetKeyId: row.target_key_id,
        signerUserId: row.signer_user_id,
        signerKeyId: row.signer_key_id,
        signature: row.signature,
      }));
    },

    async addSignatures(signatures, changes): Promise<number> {
      return (await sql.begin(async (tx) => {
        await tx`
          insert into key_signatures (target_user_id, target_key_id, signer_user_id, signer_key_id, signature)
          select * from unnest(${tx.array(signatures.map((s) => s.targetUserId))}::text[], ${tx.array(signatures.map((s) => s.targetKeyId))}::text[],
            ${tx.array(signatures.map((s) => s.signerUserId))}::text[], ${tx.array(signatures.map((s) => s.signerKeyId))}::text[],
            ${tx.array(signatures.map((s) => s.signature))}::text[])
          on conflict (target_user_id, target_key_id, signer_user_id, signer_key_id) do update set signature = excluded.signature`;
        return recordDeviceListChanges(tx, changes);
      })) as number;
    },

    async deviceIds(userId): Promise<string[]> {
      const rows = await sql<{ device_id: string }[]>`select device_id from devices where user_id = ${userId}`;
      return rows.map((row) => row.device_id);
    },
  };
}

/** Aborts an upload's transaction: one of its one-time keys exists with other content. */
export class UploadConflict extends Error {
  constructor(readonly key: UploadedKey) {
    super(`one-time key ${key.algorithm}:${key.keyId} exists with other content`);
  }
}
