import t from 'tap';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { BlobTooLargeError, type StoredContent } from '../../src/media/index.js';
import { createFileBlobStore, createMediaStore } from '../../src/storage/index.js';
import { eachEngine } from '../helpers/database.js';

const content = (sha256: string, sizeBytes = 5): StoredContent => ({ contentType: 'text/plain', uploadName: 'a.txt', sizeBytes, sha256 });
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

t.test('media rows', async (t) => {
  await eachEngine(t, 'uploads, asynchronous uploads and thumbnails', async (t, db) => {
    const store = createMediaStore(db.sql);
    t.equal(await store.insertContent('hearth.test', 'one', '@a:hearth.test', 1000, content(sha('x'))), true);
    t.equal(await store.insertContent('hearth.test', 'one', '@b:hearth.test', 2000, content(sha('y'))), false, 'an id is taken once');
    t.match(await store.media('hearth.test', 'one'), { uploader: '@a:hearth.test', uploadedTs: 1000, sha256: sha('x'), expiresTs: null });
    t.equal(await store.media('other.example', 'one'), undefined, 'ids are per origin');

    t.equal(await store.insertPending('hearth.test', 'later', '@a:hearth.test', 1000, 5000), true);
    t.equal(await store.insertPending('hearth.test', 'gone', '@a:hearth.test', 1000, 1500), true);
    t.same(await store.pending('@a:hearth.test', 2000), { count: 1, firstExpiresTs: 5000 }, 'expired ids are not counted');
    t.match(await store.media('hearth.test', 'later'), { uploadedTs: null, sha256: null, expiresTs: 5000 });
    t.equal(await store.completePending('hearth.test', 'gone', 2000, content(sha('z'))), 'missing', 'too late');
    t.equal(await store.completePending('hearth.test', 'nowhere', 2000, content(sha('z'))), 'missing');
    t.equal(await store.completePending('hearth.test', 'later', 2000, content(sha('z'))), 'done');
    t.equal(await store.completePending('hearth.test', 'later', 2100, content(sha('w'))), 'uploaded', 'filled once');
    t.match(await store.media('hearth.test', 'later'), { uploadedTs: 2000, sha256: sha('z'), expiresTs: null });
    t.same(await store.pending('@a:hearth.test', 2000), { count: 0, firstExpiresTs: null });

    const key = { width: 32, height: 32, method: 'crop' as const, animated: false };
    t.equal(await store.thumbnail('hearth.test', 'one', key), undefined);
    await store.insertThumbnail('hearth.test', 'one', { ...key, contentType: 'image/png', sizeBytes: 9, sha256: sha('t') });
    await store.insertThumbnail('hearth.test', 'one', { ...key, contentType: 'image/png', sizeBytes: 9, sha256: sha('u') });
    t.same(await store.thumbnail('hearth.test', 'one', key), { ...key, contentType: 'image/png', sizeBytes: 9, sha256: sha('t') }, 'the first one made stands');
    t.equal(await store.thumbnail('hearth.test', 'one', { ...key, animated: true }), undefined, 'animation is part of the key');
  });
});

t.test('the blob store on disk', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'hearth-blobs-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const blobs = createFileBlobStore(dir);

  const written = await blobs.write(Buffer.from('hello'), 100);
  t.same(written, { sha256: sha('hello'), sizeBytes: 5 });
  t.same(await blobs.write(Readable.from([Buffer.from('hel'), Buffer.from('lo')]), 100), written, 'the same bytes streamed get the same name');
  t.equal((await blobs.read(written.sha256))?.toString(), 'hello');
  const chunks: Buffer[] = [];
  for await (const chunk of (await blobs.open(written.sha256))!) chunks.push(chunk as Buffer);
  t.equal(Buffer.concat(chunks).toString(), 'hello');

  await t.rejects(blobs.write(Readable.from([Buffer.alloc(60), Buffer.alloc(60)]), 100), BlobTooLargeError);
  await t.rejects(blobs.write(Buffer.alloc(101), 100), BlobTooLargeError);
  t.same(await readdir(path.join(dir, 'tmp')), [], 'nothing half-written is left');

  const broken = new Readable({ read() {} });
  const failing = blobs.write(broken, 100);
  broken.push(Buffer.from('part'));
  broken.destroy(new Error('the client went away'));
  await t.rejects(failing, /went away/);
  t.same(await readdir(path.join(dir, 'tmp')), [], 'an upload cut off is not kept either');

  t.equal(await blobs.read(sha('never')), undefined);
  t.equal(await blobs.open(sha('never')), undefined);
  t.equal(await blobs.read('../../etc/passwd'), undefined, 'only SHA-256 names are looked up');
});
