import type postgres from 'postgres';
import type { CheckedKeyResponse, ServerKeyEntry, ServerKeyStore, StoredKeyResponse } from '../federation/index.js';

/** Other servers' signing keys (src/federation/ports.ts) on migrations/0018_server_keys.sql and 0024. */
export function createServerKeysStore(sql: postgres.Sql): ServerKeyStore {
  return {
    async serverKeys(serverName: string): Promise<ServerKeyEntry[]> {
      const rows = await sql<{ key_id: string; verify_key: string; valid_until_ts: number; expired_ts: number | null }[]>`
        select key_id, verify_key, valid_until_ts, expired_ts from server_keys where server_name = ${serverName}`;
      return rows.map((row) => ({ keyId: row.key_id, key: row.verify_key, validUntilTs: row.valid_until_ts, expiredTs: row.expired_ts }));
    },

    async saveKeyResponse(response: CheckedKeyResponse, fetchedTs: number): Promise<void> {
      await sql.begin(async (tx) => {
        for (const key of response.keys) {
          // A later, shorter answer never shortens a validity already granted; a retired key's is its expired_ts.
          await tx`
            insert into server_keys (server_name, key_id, verify_key, valid_until_ts, expired_ts, fetched_ts)
            values (${response.serverName}, ${key.keyId}, ${key.key}, ${key.validUntilTs}, ${key.expiredTs}, ${fetchedTs})
            on conflict (server_name, key_id) do update set
              verify_key = excluded.verify_key,
              valid_until_ts = case when excluded.expired_ts is not null then excluded.expired_ts
                                    else greatest(server_keys.valid_until_ts, excluded.valid_until_ts) end,
              expired_ts = excluded.expired_ts,
              fetched_ts = excluded.fetched_ts`;
        }
        // Kept for each key the answer lists (current or old), unless that key's stored answer is valid longer.
        const listed = response.keys.map((key) => key.keyId);
        await tx`
          insert into server_key_responses_by_key (server_name, key_id, response_json, valid_until_ts, fetched_ts)
          select ${response.serverName}, k, ${JSON.stringify(response.json)}, ${response.validUntilTs}, ${fetchedTs}
          from unnest(${tx.array(listed)}::text[]) as k
          on conflict (server_name, key_id) do update set
            response_json = excluded.response_json,
            valid_until_ts = excluded.valid_until_ts,
            fetched_ts = excluded.fetched_ts
          where excluded.valid_until_ts >= server_key_responses_by_key.valid_until_ts`;
      });
    },

    async keyResponses(serverName: string): Promise<StoredKeyResponse[]> {
      const rows = await sql<{ key_id: string; response_json: string; valid_until_ts: number; fetched_ts: number }[]>`
        select key_id, response_json, valid_until_ts, fetched_ts from server_key_responses_by_key
        where server_name = ${serverName} order by key_id`;
      return rows.map((row) => ({
        keyId: row.key_id,
        json: JSON.parse(row.response_json) as Record<string, unknown>,
        validUntilTs: row.valid_until_ts,
        fetchedTs: row.fetched_ts,
      }));
    },
  };
}
