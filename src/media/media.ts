/**
 * The media repository (client-server API, "Content repository"): uploads, asynchronous uploads
 * (POST /create, then PUT the bytes), downloads of this server's content and of other servers' (fetched
 * once over federation and kept), and thumbnails made on demand and kept.
 */
import { Readable } from 'node:stream';
import type { Clock, Random } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { MatrixError, isServerName } from '../protocol/index.js';
import { checkMediaId, DEFAULT_CONTENT_TYPE, mediaType, normaliseContentType, normaliseFileName } from './content.js';
import { BlobTooLargeError, type BlobStore, type MediaRecord, type MediaStore, type StoredContent, type ThumbnailRecord } from './ports.js';
import type { RemoteMedia } from './remote.js';
import { makeThumbnail, NotAnImageError, THUMBNAIL_TYPES, thumbnailSizeFor, TooManyPixelsError, type ThumbnailMethod } from './thumbnails.js';

export interface MediaOptions {
  /** The largest upload, and the largest remote content fetched (m.upload.size). */
  readonly maxUploadBytes: number;
  /** Asynchronous uploads a user may have waiting for their bytes at once. */
  readonly maxPendingUploads: number;
  /** How long an asynchronous upload's id stays reserved for its bytes. */
  readonly pendingLifetimeMs: number;
  /** The longest a download waits for an asynchronous upload's bytes, whatever timeout_ms asks. */
  readonly maxWaitMs: number;
}

export interface MediaDeps {
  readonly store: MediaStore;
  readonly blobs: BlobStore;
  readonly serverName: string;
  readonly clock: Clock;
  readonly random: Random;
  readonly options: MediaOptions;
  /** Fetches other servers' content; absent: only this server's content is served. */
  readonly remote?: RemoteMedia;
  readonly log: Logger;
}

/** What an upload says about its bytes besides the bytes. */
export interface UploadDescription {
  /** The Content-Type header. */
  readonly contentType: string | undefined;
  /** The `filename` query parameter. */
  readonly fileName: string | undefined;
  /** The Content-Length header, when given: refused at once when larger than the limit. */
  readonly contentLength: number | undefined;
}

/** Content ready to be served. */
export interface ServedContent {
  readonly contentType: string;
  readonly fileName: string | null;
  readonly sizeBytes: number;
  readonly stream: Readable;
}

export interface DownloadOptions {
  /** How long to wait for an asynchronous upload's bytes (the request's timeout_ms, default 20 s). */
  readonly timeoutMs?: number;
  /** false: only what this server has (the deprecated endpoints' allow_remote). */
  readonly allowRemote?: boolean;
}

export interface ThumbnailRequest extends DownloadOptions {
  readonly width: number;
  readonly height: number;
  readonly method: ThumbnailMethod;
  readonly animated: boolean;
}

export interface Uploader {
  readonly userId: string;
}

/** The spec's default wait for content not uploaded yet. */
export const DEFAULT_WAIT_MS = 20_000;
/** While waiting for an upload made through another process, how often the database is asked again. */
const RECHECK_MS = 1_000;

export type MediaService = ReturnType<typeof createMediaService>;

export function createMediaService(deps: MediaDeps) {
  const { store, blobs, serverName, clock, options } = deps;
  const log = deps.log.child({ component: 'media' });
  /** Downloads waiting for an asynchronous upload made in this process, by media id. */
  const waiting = new Map<string, Set<() => void>>();
  /** Remote content being fetched, by `origin/mediaId`: one fetch however many ask at once. */
  const fetching = new Map<string, Promise<MediaRecord & { sha256: string }>>();
  /** Thumbnails being made, by their key: one made however many ask at once. */
  const making = new Map<string, Promise<ThumbnailRecord>>();

  function tooLarge(): MatrixError {
    return new MatrixError('M_TOO_LARGE', `Uploads are limited to ${options.maxUploadBytes} bytes`);
  }

  /** Writes an upload's bytes to the blob store and describes them. */
  async function receive(source: Readable | Uint8Array, description: UploadDescription): Promise<StoredContent> {
    if (description.contentLength !== undefined && description.contentLength > options.maxUploadBytes) {
      if (source instanceof Readable) source.resume();
      throw tooLarge();
    }
    let written;
    try {
      written = await blobs.write(source, options.maxUploadBytes);
    } catch (err) {
      if (err instanceof BlobTooLargeError) throw tooLarge();
      throw err;
    }
    return {
      contentType: normaliseContentType(description.contentType),
      uploadName: normaliseFileName(description.fileName),
      sizeBytes: written.sizeBytes,
      sha256: written.sha256,
    };
  }

  function newMediaId(): string {
    return deps.random.token(18);
  }

  function contentUri(mediaId: string): string {
    return `mxc://${serverName}/${mediaId}`;
  }

  function checkOrigin(origin: string): string {
    if (!isServerName(origin)) throw new MatrixError('M_INVALID_PARAM', 'The server name of the media is not a valid server name');
    return origin;
  }

  async function serve(record: MediaRecord & { sha256: string }): Promise<ServedContent> {
    const stream = await blobs.open(record.sha256);
    if (!stream) {
      log.error({ origin: record.origin, mediaId: record.mediaId }, 'media row without its bytes in the blob store');
      throw new MatrixError('M_NOT_FOUND', 'The content is missing from this server');
    }
    return {
      contentType: record.contentType ?? DEFAULT_CONTENT_TYPE,
      fileName: record.uploadName,
      sizeBytes: record.sizeBytes ?? 0,
      stream,
    };
  }

  /** Wakes the downloads waiting for `mediaId` in this process. */
  function uploaded(mediaId: string): void {
    const wakers = waiting.get(mediaId);
    if (!wakers) return;
    waiting.delete(mediaId);
    for (const wake of wakers) wake();
  }

  /** Resolves after `ms`, or sooner when `mediaId`'s bytes arrive in this process. */
  function pause(mediaId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let wakers = waiting.get(mediaId);
      if (!wakers) waiting.set(mediaId, (wakers = new Set()));
      const wake = (): void => {
        clearTimeout(timer);
        wakers.delete(wake);
        if (wakers.size === 0 && waiting.get(mediaId) === wakers) waiting.delete(mediaId);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      wakers.add(wake);
    });
  }

  /** This server's content with its bytes, waiting up to `timeoutMs` for an asynchronous upload's. */
  async function localContent(mediaId: string, timeoutMs: number | undefined): Promise<MediaRecord & { sha256: string }> {
    const deadline = clock.now() + Math.max(0, Math.min(timeoutMs ?? DEFAULT_WAIT_MS, options.maxWaitMs));
    for (;;) {
      const record = await store.media(serverName, mediaId);
      if (!record) throw new MatrixError('M_NOT_FOUND', 'No content has this id');
      if (record.uploadedTs !== null && record.sha256 !== null) return { ...record, sha256: record.sha256 };
      const now = clock.now();
      if (record.expiresTs !== null && record.expiresTs <= now) throw new MatrixError('M_NOT_FOUND', 'No content has this id');
      if (now >= deadline) throw new MatrixError('M_NOT_YET_UPLOADED', 'The content has not been uploaded yet');
      await pause(mediaId, Math.min(RECHECK_MS, deadline - now));
    }
  }

  /** Another server's content, from the kept copy or fetched from its server now. */
  async function remoteContent(origin: string, mediaId: string, request: DownloadOptions): Promise<MediaRecord & { sha256: string }> {
    const kept = await store.media(origin, mediaId);
    if (kept !== undefined && kept.sha256 !== null && kept.uploadedTs !== null) return { ...kept, sha256: kept.sha256 };
    if (request.allowRemote === false || !deps.remote) throw new MatrixError('M_NOT_FOUND', 'This server does not have that content');
    const key = `${origin}/${mediaId}`;
    let pending = fetching.get(key);
    if (!pending) {
      pending = fetchRemote(deps.remote, origin, mediaId, request.timeoutMs).finally(() => fetching.delete(key));
      fetching.set(key, pending);
    }
    return pending;
  }

  async function fetchRemote(remote: RemoteMedia, origin: string, mediaId: string, timeoutMs: number | undefined): Promise<MediaRecord & { sha256: string }> {
    const wait = Math.max(0, Math.min(timeoutMs ?? DEFAULT_WAIT_MS, options.maxWaitMs));
    const fetched = await remote.fetch(origin, mediaId, { timeoutMs: wait, maxBytes: options.maxUploadBytes });
    let written;
    try {
      written = await blobs.write(fetched.bytes, options.maxUploadBytes);
    } catch (err) {
      if (err instanceof BlobTooLargeError) throw new MatrixError('M_TOO_LARGE', 'The remote content is too large to serve', { status: 502 });
      throw err;
    }
    const content: StoredContent = {
      contentType: normaliseContentType(fetched.contentType),
      uploadName: normaliseFileName(fetched.fileName ?? undefined),
      sizeBytes: written.sizeBytes,
      sha256: written.sha256,
    };
    const now = clock.now();
    // Another process may have kept it meanwhile: then its row stands, and describes the same bytes.
    await store.insertContent(origin, mediaId, null, now, content);
    const record = await store.media(origin, mediaId);
    if (!record?.sha256) throw new Error('remote content was kept but cannot be read back');
    return { ...record, sha256: record.sha256 };
  }

  async function content(origin: string, mediaId: string, request: DownloadOptions): Promise<MediaRecord & { sha256: string }> {
    checkOrigin(origin);
    checkMediaId(mediaId);
    await notQuarantined(origin, mediaId);
    return origin === serverName ? localContent(mediaId, request.timeoutMs) : remoteContent(origin, mediaId, request);
  }

  /** Quarantined content (quarantine.ts) is served to no one: not found, as Synapse answers. */
  async function notQuarantined(origin: string, mediaId: string): Promise<void> {
    if (await store.quarantined(origin, mediaId)) throw new MatrixError('M_NOT_FOUND', 'This content was quarantined by a server admin');
  }

  return {
    /** GET /media/config. */
    config(): { 'm.upload.size': number } {
      return { 'm.upload.size': options.maxUploadBytes };
    },

    /** POST /_matrix/media/v3/upload: stores the bytes under a new id. */
    async upload(uploader: Uploader, source: Readable | Uint8Array, description: UploadDescription): Promise<{ content_uri: string }> {
      const stored = await receive(source, description);
      for (;;) {
        const mediaId = newMediaId();
        if (await store.insertContent(serverName, mediaId, uploader.userId, clock.now(), stored)) {
          log.info({ mediaId, bytes: stored.sizeBytes }, 'media uploaded');
          return { content_uri: contentUri(mediaId) };
        }
      }
    },

    /**
     * Keeps bytes this server fetched itself (a URL preview's picture) as its own content, uploaded by
     * no user; returns the mxc URI.
     */
    async keepFetched(bytes: Uint8Array, contentType: string, fileName: string | null): Promise<string> {
      const stored = await receive(bytes, { contentType, fileName: fileName ?? undefined, contentLength: bytes.length });
      for (;;) {
        const mediaId = newMediaId();
        if (await store.insertContent(serverName, mediaId, null, clock.now(), stored)) return contentUri(mediaId);
      }
    },

    /** POST /_matrix/media/v1/create: reserves an id whose bytes come later. */
    async create(uploader: Uploader): Promise<{ content_uri: string; unused_expires_at: number }> {
      const now = clock.now();
      const pending = await store.pending(uploader.userId, now);
      if (pending.count >= options.maxPendingUploads) {
        // A slot frees when the first of them is uploaded or expires.
        const retryAfterMs = Math.max(0, (pending.firstExpiresTs ?? now) - now);
        throw new MatrixError(
          'M_LIMIT_EXCEEDED',
          `You have ${options.maxPendingUploads} uploads waiting for their content; upload those first`,
          { extra: { retry_after_ms: retryAfterMs } },
        );
      }
      const expiresTs = now + options.pendingLifetimeMs;
      for (;;) {
        const mediaId = newMediaId();
        if (await store.insertPending(serverName, mediaId, uploader.userId, now, expiresTs)) {
          return { content_uri: contentUri(mediaId), unused_expires_at: expiresTs };
        }
      }
    },

    /** PUT /_matrix/media/v3/upload/{serverName}/{mediaId}: the bytes of an id from POST /create. */
    async uploadTo(uploader: Uploader, origin: string, mediaId: string, source: Readable | Uint8Array, description: UploadDescription): Promise<Record<string, never>> {
      checkOrigin(origin);
      checkMediaId(mediaId);
      const record = origin === serverName ? await store.media(origin, mediaId) : undefined;
      const notFound = (): MatrixError => new MatrixError('M_NOT_FOUND', 'No upload is waiting under this id (it may have expired)');
      const drain = (): void => void (source instanceof Readable && source.resume());
      if (!record || (record.uploadedTs === null && record.expiresTs !== null && record.expiresTs <= clock.now())) {
        drain();
        throw notFound();
      }
      if (record.uploader !== uploader.userId) {
        drain();
        throw new MatrixError('M_FORBIDDEN', 'Only the user who created this media id can upload its content');
      }
      if (record.uploadedTs !== null) {
        drain();
        throw new MatrixError('M_CANNOT_OVERWRITE_MEDIA', 'This media id already has its content');
      }
      const stored = await receive(source, description);
      const outcome = await store.completePending(origin, mediaId, clock.now(), stored);
      if (outcome === 'uploaded') throw new MatrixError('M_CANNOT_OVERWRITE_MEDIA', 'This media id already has its content');
      if (outcome === 'missing') throw notFound();
      uploaded(mediaId);
      log.info({ mediaId, bytes: stored.sizeBytes }, 'media uploaded');
      return {};
    },

    /** GET /download/{serverName}/{mediaId}: the content, this server's or fetched from its origin. */
    async download(origin: string, mediaId: string, request: DownloadOptions = {}): Promise<ServedContent> {
      return serve(await content(origin, mediaId, request));
    },

    /** The federation /media/download/{mediaId}: this server's content only. */
    async downloadForServer(mediaId: string, timeoutMs: number | undefined): Promise<ServedContent> {
      checkMediaId(mediaId);
      await notQuarantined(serverName, mediaId);
      return serve(await localContent(mediaId, timeoutMs));
    },

    /** GET /thumbnail/{serverName}/{mediaId}: a thumbnail made once per size, or the original when it is small. */
    async thumbnail(origin: string, mediaId: string, request: ThumbnailRequest, localOnly = false): Promise<ServedContent> {
      if (!(request.width > 0 && request.height > 0)) {
        throw new MatrixError('M_INVALID_PARAM', 'width and height must be positive integers');
      }
      if (localOnly && origin !== serverName) throw new MatrixError('M_NOT_FOUND', 'This server has no such content');
      const source = await content(origin, mediaId, request);
      const size = thumbnailSizeFor(request.width, request.height, request.method);
      const key = { width: size.width, height: size.height, method: size.method, animated: request.animated };
      const kept = await store.thumbnail(source.origin, source.mediaId, key);
      if (kept) {
        const stream = await blobs.open(kept.sha256);
        if (stream) return { contentType: kept.contentType, fileName: `thumbnail.${extension(kept.contentType)}`, sizeBytes: kept.sizeBytes, stream };
      }
      const makingKey = `${source.origin}/${source.mediaId}/${key.width}x${key.height}/${key.method}/${key.animated}`;
      let pending = making.get(makingKey);
      if (!pending) {
        pending = (async () => {
          const bytes = await blobs.read(source.sha256);
          if (!bytes) throw new MatrixError('M_NOT_FOUND', 'The content is missing from this server');
          let made;
          try {
            made = await makeThumbnail(bytes, size, request.animated, THUMBNAIL_TYPES.has(mediaType(source.contentType ?? '')));
          } catch (err) {
            if (err instanceof TooManyPixelsError) {
              throw new MatrixError('M_TOO_LARGE', 'The picture is too large to thumbnail', { status: origin === serverName ? 413 : 502 });
            }
            if (err instanceof NotAnImageError) throw new MatrixError('M_UNKNOWN', 'Cannot generate thumbnails for this content', { status: 400 });
            throw err;
          }
          // A picture no larger than the thumbnail is its own thumbnail: the row names the original's bytes.
          const written = made === 'original' ? { sha256: source.sha256, sizeBytes: source.sizeBytes ?? bytes.length } : await blobs.write(made.bytes, made.bytes.length);
          const contentType = made === 'original' ? (source.contentType ?? DEFAULT_CONTENT_TYPE) : made.contentType;
          const record: ThumbnailRecord = { ...key, contentType, sizeBytes: written.sizeBytes, sha256: written.sha256 };
          await store.insertThumbnail(source.origin, source.mediaId, record);
          return record;
        })().finally(() => making.delete(makingKey));
        making.set(makingKey, pending);
      }
      const thumbnail = await pending;
      const stream = await blobs.open(thumbnail.sha256);
      if (!stream) throw new MatrixError('M_NOT_FOUND', 'The thumbnail is missing from this server');
      return { contentType: thumbnail.contentType, fileName: `thumbnail.${extension(thumbnail.contentType)}`, sizeBytes: thumbnail.sizeBytes, stream };
    },
  };
}

function extension(contentType: string): string {
  const type = mediaType(contentType);
  return type === 'image/jpeg' ? 'jpg' : type.replace(/^image\//, '');
}
