import type postgres from 'postgres';
import type { OpenGraph, UrlPreviewStore } from '../media/index.js';

/** Kept URL previews (src/media/preview/service.ts) on migrations/0032_url_previews.sql. */
export function createUrlPreviewStore(sql: postgres.Sql): UrlPreviewStore {
  return {
    async preview(url, nowTs, atOrBeforeTs) {
      // The newest unexpired preview fetched at or before the time asked for, else the newest unexpired one.
      const [row] = await sql<{ og: string }[]>`
        select og from url_previews
        where url = ${url} and expires_ts > ${nowTs}
        order by (fetched_ts <= ${atOrBeforeTs}) desc, fetched_ts desc
        limit 1`;
      return row === undefined ? undefined : (JSON.parse(row.og) as OpenGraph);
    },

    async keep(url, fetchedTs, expiresTs, og) {
      await sql`
        insert into url_previews (url, fetched_ts, expires_ts, og)
        values (${url}, ${fetchedTs}, ${expiresTs}, ${JSON.stringify(og)})
        on conflict (url, fetched_ts) do update set expires_ts = excluded.expires_ts, og = excluded.og`;
    },

    async forgetExpired(nowTs) {
      const rows = await sql`delete from url_previews where expires_ts <= ${nowTs}`;
      return rows.count;
    },
  };
}
