/**
 * The storage the media repository needs: rows describing content (src/storage/media-store.ts) and the
 * bytes themselves (src/storage/media-files.ts keeps them on local disk).
 */
import type { Readable } from 'node:stream';

/** A row of the media table. `uploadedTs` is null while an asynchronous upload waits for its bytes. */
export interface MediaRecord {
  readonly origin: string;
  readonly mediaId: string;
  /** The local user who created it; null for other servers' content. */
  readonly uploader: string | null;
  readonly createdTs: number;
  /** An asynchronous upload not made by then is forgotten; null once uploaded. */
  readonly expiresTs: number | null;
  readonly uploadedTs: number | null;
  readonly contentType: string | null;
  readonly uploadName: string | null;
  readonly sizeBytes: number | null;
  /** Hex SHA-256 of the bytes: their name in the blob store. */
  readonly sha256: string | null;
}

export interface StoredContent {
  readonly contentType: string;
  readonly uploadName: string | null;
  readonly sizeBytes: number;
  readonly sha256: string;
}

export interface ThumbnailKey {
  readonly width: number;
  readonly height: number;
  readonly method: 'crop' | 'scale';
  readonly animated: boolean;
}

export interface ThumbnailRecord extends ThumbnailKey {
  readonly contentType: string;
  readonly sizeBytes: number;
  readonly sha256: string;
}

export interface MediaStore {
  media(origin: string, mediaId: string): Promise<MediaRecord | undefined>;
  /** Stores a complete upload (or a fetched copy of remote content); false when the id is taken. */
  insertContent(origin: string, mediaId: string, uploader: string | null, nowTs: number, content: StoredContent): Promise<boolean>;
  /** Reserves an id for an asynchronous upload; false when the id is taken. */
  insertPending(origin: string, mediaId: string, uploader: string, nowTs: number, expiresTs: number): Promise<boolean>;
  /**
   * Fills a pending upload with its bytes. 'done' when it was pending and unexpired; otherwise why not:
   * it is unknown or expired ('missing'), or already has its bytes ('uploaded').
   */
  completePending(origin: string, mediaId: string, nowTs: number, content: StoredContent): Promise<'done' | 'missing' | 'uploaded'>;
  /** How many of the user's asynchronous uploads still wait for bytes at `nowTs`, and when the first of them expires. */
  pending(uploader: string, nowTs: number): Promise<{ readonly count: number; readonly firstExpiresTs: number | null }>;
  thumbnail(origin: string, mediaId: string, key: ThumbnailKey): Promise<ThumbnailRecord | undefined>;
  /** Keeps a made thumbnail (a second one made meanwhile for the same key is dropped). */
  insertThumbnail(origin: string, mediaId: string, thumbnail: ThumbnailRecord): Promise<void>;
  /** Whether a server admin quarantined the content. */
  quarantined(origin: string, mediaId: string): Promise<boolean>;
  /** Quarantines the content named; returns how many were not quarantined before. */
  quarantine(items: ReadonlyArray<MediaRef>, by: string, nowTs: number): Promise<number>;
  /** Lifts a quarantine; false when there was none. */
  unquarantine(origin: string, mediaId: string): Promise<boolean>;
  /** This server's content a user uploaded. */
  uploadsOf(userId: string): Promise<MediaRef[]>;
  /** The mxc URIs the room's events carry (in their content, anywhere), as origin and media id. */
  mediaInRoom(roomId: string): Promise<MediaRef[]>;
}

/** One piece of content: its server and id (an mxc URI's two parts). */
export interface MediaRef {
  readonly origin: string;
  readonly mediaId: string;
}

/** What a blob write produced: the bytes' name and size. */
export interface WrittenBlob {
  readonly sha256: string;
  readonly sizeBytes: number;
}

/** Thrown by BlobStore.write when the bytes run past the limit it was given; nothing is kept. */
export class BlobTooLargeError extends Error {
  constructor(readonly limitBytes: number) {
    super(`more than ${limitBytes} bytes`);
    this.name = 'BlobTooLargeError';
  }
}

/** Content-addressed bytes: a blob is named by its SHA-256, so writing the same bytes twice keeps one copy. */
export interface BlobStore {
  /**
   * Reads `source` to its end into the store and names it. A blob appears whole or not at all: a failed or
   * oversized write (BlobTooLargeError) leaves nothing behind.
   */
  write(source: Readable | Uint8Array, maxBytes: number): Promise<WrittenBlob>;
  /** The blob's bytes as a stream; undefined when the store does not have it. */
  open(sha256: string): Promise<Readable | undefined>;
  /** The whole blob; undefined when the store does not have it. */
  read(sha256: string): Promise<Buffer | undefined>;
}
