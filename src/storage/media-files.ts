/**
 * The media repository's blob store (src/media/ports.ts) on local disk: a blob is the file
 * DIR/ab/cd/abcd… named by its SHA-256. A write goes to DIR/tmp first, is flushed to disk, and is renamed
 * into place only once whole, so a crash or an oversized upload never leaves a partial blob.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { BlobTooLargeError, type BlobStore, type WrittenBlob } from '../media/index.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;

function ignore(): void {}

export function createFileBlobStore(dir: string): BlobStore {
  const tmp = path.join(dir, 'tmp');
  let ready: Promise<unknown> | undefined;

  function pathOf(sha256: string): string | undefined {
    return SHA256_HEX.test(sha256) ? path.join(dir, sha256.slice(0, 2), sha256.slice(2, 4), sha256) : undefined;
  }

  async function exists(file: string): Promise<boolean> {
    try {
      return (await stat(file)).isFile();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  return {
    async write(source: Readable | Uint8Array, maxBytes: number): Promise<WrittenBlob> {
      // Until drain() listens, an error of the stream (a client hanging up) must not go unhandled: that
      // would end the process. drain() finds it in `source.errored`.
      if (source instanceof Readable) source.on('error', ignore);
      ready ??= mkdir(tmp, { recursive: true, mode: 0o700 });
      await ready;
      const scratch = path.join(tmp, randomBytes(12).toString('hex'));
      const file = await open(scratch, 'wx', 0o600);
      const hash = createHash('sha256');
      let size = 0;
      let kept = false;
      try {
        const take = async (chunk: Uint8Array): Promise<void> => {
          size += chunk.byteLength;
          if (size > maxBytes) throw new BlobTooLargeError(maxBytes);
          hash.update(chunk);
          await file.write(chunk);
        };
        if (source instanceof Readable) await drain(source, take);
        else await take(source);
        await file.sync();
        await file.close();
        const sha256 = hash.digest('hex');
        const target = pathOf(sha256)!;
        await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
        // The same bytes written twice: the second rename replaces the file with an identical one.
        await rename(scratch, target);
        kept = true;
        return { sha256, sizeBytes: size };
      } finally {
        if (!kept) {
          await file.close().catch(() => undefined);
          await unlink(scratch).catch(() => undefined);
        }
      }
    },

    async open(sha256: string): Promise<Readable | undefined> {
      const file = pathOf(sha256);
      if (file === undefined || !(await exists(file))) return undefined;
      return createReadStream(file);
    },

    async read(sha256: string): Promise<Buffer | undefined> {
      const file = pathOf(sha256);
      if (file === undefined) return undefined;
      try {
        return await readFile(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    },
  };
}

/**
 * Feeds every chunk of `source` to `take`, one at a time. When `take` fails, the rest of the stream is
 * still read (and dropped) before the failure is reported: a request body is consumed whole, so the
 * connection stays usable for the error answer, where destroying the stream would reset it.
 */
function drain(source: Readable, take: (chunk: Uint8Array) => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    if (source.errored) return reject(source.errored);
    if (source.destroyed) return reject(new Error('the stream closed before its end'));
    let failure: unknown;
    let queue = Promise.resolve();
    source.on('data', (chunk: Uint8Array) => {
      if (failure !== undefined) return;
      source.pause();
      queue = queue.then(
        () => take(chunk),
      ).then(
        () => void source.resume(),
        (err: unknown) => {
          failure ??= err;
          source.resume();
        },
      );
    });
    let ended = false;
    source.once('end', () => {
      ended = true;
      void queue.then(() => (failure === undefined ? resolve() : reject(failure)));
    });
    source.once('error', (err) => reject(failure ?? err));
    // A client that hangs up mid-upload: the stream closes without an end.
    source.once('close', () => {
      if (!ended) void queue.then(() => reject(failure ?? new Error('the stream closed before its end')));
    });
  });
}
