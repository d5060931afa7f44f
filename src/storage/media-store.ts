import type postgres from 'postgres';
import type { MediaRecord, MediaRef, MediaStore, StoredContent, ThumbnailKey, ThumbnailRecord } from '../media/index.js';

/** An mxc URI in event JSON: server name (host, IPv6 literal or port) and a media id. */
const MXC_URI = /mxc:\/\/([A-Za-z0-9.:[\]-]+)\/([A-Za-z0-9_-]+)/g;

interface MediaRow {
  readonly origin: string;
  readonly media_id: string;
  readonly uploader: string | null;
  readonly created_ts: number;
  readonly expires_ts: number | null;
  readonly uploaded_ts: number | null;
  readonly content_type: string | null;
  readonly upload_name: string | null;
  readonly size_bytes: number | null;
  readonly sha256: string | null;
}

function recordOf(row: MediaRow): MediaRecord {
  return {
    origin: row.origin,
    mediaId: row.media_id,
    uploader: row.uploader,
    createdTs: row.created_ts,
    expiresTs: row.expires_ts,
    uploadedTs: row.uploaded_ts,
    contentType: row.content_type,
    uploadName: row.upload_name,
    sizeBytes: row.size_bytes,
    sha256: row.sha256,
  };
}

/** The media repository's rows (src/media/ports.ts) on migrations/0026_media.sql. */
export function createMediaStore(sql: postgres.Sql): MediaStore {
  return {
    async media(origin: string, mediaId: string): Promise<MediaRecord | undefined> {
      const [row] = await sql<MediaRow[]>`
        select origin, media_id, uploader, created_ts, expires_ts, uploaded_ts, content_type, upload_name, size_bytes, sha256
        from media where origin = ${origin} and media_id = ${mediaId}`;
      return row && recordOf(row);
    },

    async insertContent(origin: string, mediaId: string, uploader: string | null, nowTs: number, content: StoredContent): Promise<boolean> {
      const rows = await sql`
        insert into media (origin, media_id, uploader, created_ts, uploaded_ts, content_type, upload_name, size_bytes, sha256)
        values (${origin}, ${mediaId}, ${uploader}, ${nowTs}, ${nowTs}, ${content.contentType}, ${content.uploadName},
          ${content.sizeBytes}, ${content.sha256})
        on conflict do nothing`;
      return rows.count === 1;
    },

    async insertPending(origin: string, mediaId: string, uploader: string, nowTs: number, expiresTs: number): Promise<boolean> {
      const rows = await sql`
        insert into media (origin, media_id, uploader, created_ts, expires_ts)
        values (${origin}, ${mediaId}, ${uploader}, ${nowTs}, ${expiresTs})
        on conflict do nothing`;
      return rows.count === 1;
    },

    async completePending(origin: string, mediaId: string, nowTs: number, content: StoredContent): Promise<'done' | 'missing' | 'uploaded'> {
      const rows = await sql`
        update media set uploaded_ts = ${nowTs}, expires_ts = null, content_type = ${content.contentType},
          upload_name = ${content.uploadName}, size_bytes = ${content.sizeBytes}, sha256 = ${content.sha256}
        where origin = ${origin} and media_id = ${mediaId} and uploaded_ts is null and expires_ts > ${nowTs}`;
      if (rows.count === 1) return 'done';
      const [row] = await sql<{ uploaded: boolean }[]>`
        select uploaded_ts is not null as uploaded from media where origin = ${origin} and media_id = ${mediaId}`;
      return row?.uploaded ? 'uploaded' : 'missing';
    },

    async pending(uploader: string, nowTs: number): Promise<{ count: number; firstExpiresTs: number | null }> {
      const [row] = await sql<{ count: number; first: number | null }[]>`
        select count(*)::int4 as count, min(expires_ts) as first from media
        where uploader = ${uploader} and uploaded_ts is null and expires_ts > ${nowTs}`;
      return { count: row?.count ?? 0, firstExpiresTs: row?.first ?? null };
    },

    async thumbnail(origin: string, mediaId: string, key: ThumbnailKey): Promise<ThumbnailRecord | undefined> {
      const [row] = await sql<{ content_type: string; size_bytes: number; sha256: string }[]>`
        select content_type, size_bytes, sha256 from media_thumbnails
        where origin = ${origin} and media_id = ${mediaId} and width = ${key.width} and height = ${key.height}
          and method = ${key.method} and animated = ${key.animated}`;
      return row && { ...key, contentType: row.content_type, sizeBytes: row.size_bytes, sha256: row.sha256 };
    },

    async insertThumbnail(origin: string, mediaId: string, thumbnail: ThumbnailRecord): Promise<void> {
      await sql`
        insert into media_thumbnails (origin, media_id, width, height, method, animated, content_type, size_bytes, sha256)
        values (${origin}, ${mediaId}, ${thumbnail.width}, ${thumbnail.height}, ${thumbnail.method}, ${thumbnail.animated},
          ${thumbnail.contentType}, ${thumbnail.sizeBytes}, ${thumbnail.sha256})
        on conflict do nothing`;
    },

    async quarantined(origin, mediaId) {
      const [row] = await sql`select 1 from media_quarantine where origin = ${origin} and media_id = ${mediaId}`;
      return row !== undefined;
    },

    async quarantine(items, by, nowTs) {
      if (items.length === 0) return 0;
      const rows = await sql`
        insert into media_quarantine (origin, media_id, quarantined_by, quarantined_ts)
        select origin, media_id, ${by}, ${nowTs} from unnest(${sql.array(items.map((i) => i.origin))}::text[], ${sql.array(items.map((i) => i.mediaId))}::text[]) as t (origin, media_id)
        on conflict do nothing`;
      return rows.count;
    },

    async unquarantine(origin, mediaId) {
      const rows = await sql`delete from media_quarantine where origin = ${origin} and media_id = ${mediaId}`;
      return rows.count > 0;
    },

    async uploadsOf(userId) {
      const rows = await sql<{ origin: string; media_id: string }[]>`select origin, media_id from media where uploader = ${userId}`;
      return rows.map((row): MediaRef => ({ origin: row.origin, mediaId: row.media_id }));
    },

    async mediaInRoom(roomId) {
      // The JSON of every event of the room that names an mxc URI; the URIs are picked out here.
      const rows = await sql<{ json: string }[]>`select json from events where room_id = ${roomId} and json like '%mxc://%'`;
      const found = new Map<string, MediaRef>();
      for (const { json } of rows) {
        for (const match of json.matchAll(MXC_URI)) found.set(`${match[1]}/${match[2]}`, { origin: match[1]!, mediaId: match[2]! });
      }
      return [...found.values()];
    },
  };
}
