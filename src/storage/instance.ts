import type postgres from 'postgres';
import { StorageError } from './errors.js';

export interface InstanceInfo {
  readonly serverName: string;
  readonly createdTs: number;
}

/** The database's birth certificate: which server_name it was created for (migrations/0001_instance.sql). */
export function createInstanceRepository(sql: postgres.Sql) {
  return {
    /**
     * Records the server name on the first start; on later starts checks it is unchanged. A changed name is
     * refused because every stored user id, alias and signed event embeds the old one.
     */
    async claimServerName(serverName: string, nowMs: number): Promise<void> {
      await sql`
        insert into instance (id, server_name, created_ts) values (true, ${serverName}, ${nowMs})
        on conflict (id) do nothing`;
      const [row] = await sql<{ server_name: string }[]>`select server_name from instance`;
      if (row === undefined) throw new StorageError('the instance row vanished while claiming the server name');
      if (row.server_name !== serverName) {
        throw new StorageError(
          `this database belongs to server_name ${row.server_name}; it cannot be served as ${serverName}`,
        );
      }
    },

    /** null before the first start has claimed a name. */
    async instance(): Promise<InstanceInfo | null> {
      const [row] = await sql<{ server_name: string; created_ts: number }[]>`
        select server_name, created_ts from instance`;
      return row === undefined ? null : { serverName: row.server_name, createdTs: row.created_ts };
    },
  };
}

export type InstanceRepository = ReturnType<typeof createInstanceRepository>;
