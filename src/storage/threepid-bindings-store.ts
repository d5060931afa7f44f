import type postgres from 'postgres';
import type { ThreepidBinding, ThreepidBindingStore } from '../users/index.js';

/** Identity-server bindings made through this server (src/users/threepid-bindings.ts), on migrations/0033. */
export function createThreepidBindingStore(sql: postgres.Sql): ThreepidBindingStore {
  return {
    async bindings(userId, threepid) {
      const rows = await sql<{ medium: string; address: string; id_server: string }[]>`
        select medium, address, id_server from threepid_bindings
        where user_id = ${userId}
          ${threepid === undefined ? sql`` : sql`and medium = ${threepid.medium} and address = ${threepid.address}`}
        order by medium, address, id_server`;
      return rows.map((row): ThreepidBinding => ({ medium: row.medium, address: row.address, idServer: row.id_server }));
    },

    async add(userId, binding) {
      await sql`
        insert into threepid_bindings (user_id, medium, address, id_server)
        values (${userId}, ${binding.medium}, ${binding.address}, ${binding.idServer})
        on conflict do nothing`;
    },

    async remove(userId, binding) {
      await sql`
        delete from threepid_bindings
        where user_id = ${userId} and medium = ${binding.medium} and address = ${binding.address} and id_server = ${binding.idServer}`;
    },
  };
}
