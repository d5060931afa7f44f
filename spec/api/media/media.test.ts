import t, { type Test } from 'tap';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import sharp from 'sharp';
import { engines } from '../../helpers/database.js';
import { startTestServer } from '../../helpers/server.js';

/**
 * The content repository over real HTTP: uploads streamed to disk, downloads and thumbnails with the
 * headers the spec asks for, asynchronous uploads, the limits, and the deprecated unauthenticated paths.
 */

interface Client {
  readonly token: string;
  call(method: string, url: string, init?: { body?: RequestInit['body']; headers?: Record<string, string>; duplex?: 'half' }): Promise<Response>;
}

async function userOn(base: string, name: string): Promise<Client> {
  const response = await fetch(`${base}/_matrix/client/v3/register`, {
    method: 'POST',
    body: JSON.stringify({ username: name, password: 'correct horse', auth: { type: 'm.login.dummy' } }),
  });
  const { access_token: token } = (await response.json()) as { access_token: string };
  return {
    token,
    call: (method, url, init = {}) => fetch(`${base}${url}`, { ...init, method, headers: { authorization: `Bearer ${token}`, ...init.headers } }),
  };
}

async function json(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}

async function errcode(response: Response): Promise<[number, unknown]> {
  return [response.status, (await json(response)).errcode];
}

const picture = (width: number, height: number, alpha = false) =>
  sharp({ create: { width, height, channels: alpha ? 4 : 3, background: { r: 200, g: 30, b: 30, alpha: alpha ? 0.5 : 1 } } }).png().toBuffer();

async function upload(client: Client, bytes: Buffer | string, type: string, fileName?: string): Promise<string> {
  const query = fileName === undefined ? '' : `?filename=${encodeURIComponent(fileName)}`;
  const response = await client.call('POST', `/_matrix/media/v3/upload${query}`, { body: bytes, headers: { 'content-type': type } });
  const body = await json(response);
  if (response.status !== 200) throw new Error(`upload failed: ${JSON.stringify(body)}`);
  return body.content_uri as string;
}

/** `mxc://server/id` as the path tail `server/id`. */
const tail = (mxc: string) => mxc.slice('mxc://'.length);

for (const engine of engines()) {
  t.test(`uploads come back byte for byte, described for the browser (${engine})`, async (t) => {
    const server = await startTestServer(t, engine);
    const alice = await userOn(server.url, 'alice');
    const bob = await userOn(server.url, 'bob');
    const png = await picture(1000, 500);

    const mxc = await upload(alice, png, 'image/png', 'red field.png');
    t.match(mxc, /^mxc:\/\/hearth\.test\/[A-Za-z0-9_-]+$/);
    const download = await bob.call('GET', `/_matrix/client/v1/media/download/${tail(mxc)}`);
    t.equal(download.status, 200, 'any signed-in user downloads it');
    t.ok(Buffer.from(await download.arrayBuffer()).equals(png), 'the same bytes');
    t.equal(download.headers.get('content-type'), 'image/png');
    t.equal(download.headers.get('content-disposition'), 'inline; filename="red field.png"');
    t.match(download.headers.get('content-security-policy'), /sandbox/);
    t.equal(download.headers.get('cross-origin-resource-policy'), 'cross-origin');

    const renamed = await bob.call('GET', `/_matrix/client/v1/media/download/${tail(mxc)}/other.png`);
    t.equal(renamed.headers.get('content-disposition'), 'inline; filename="other.png"', 'the name in the path wins');
    await renamed.arrayBuffer();

    const html = await upload(alice, '<script>alert(1)</script>', 'text/html', 'page.html');
    const page = await bob.call('GET', `/_matrix/client/v1/media/download/${tail(html)}`);
    t.equal(page.headers.get('content-disposition'), 'attachment; filename="page.html"', 'HTML is never shown inline');
    t.equal(await page.text(), '<script>alert(1)</script>');

    // A binary body: fetch sends no Content-Type for it.
    const untyped = await alice.call('POST', '/_matrix/media/v3/upload', { body: new Uint8Array([1, 2, 3]) });
    const untypedUri = (await json(untyped)).content_uri as string;
    const raw = await bob.call('GET', `/_matrix/client/v1/media/download/${tail(untypedUri)}`);
    t.equal(raw.headers.get('content-type'), 'application/octet-stream', 'no type: octet-stream');
    t.equal(raw.headers.get('content-disposition'), 'attachment');
    await raw.arrayBuffer();

    const empty = await upload(alice, Buffer.alloc(0), 'text/plain');
    const emptyDownload = await bob.call('GET', `/_matrix/client/v1/media/download/${tail(empty)}`);
    t.equal([emptyDownload.status, await emptyDownload.text()].join(' '), '200 ', 'an empty file is a file');

    t.same(await errcode(await bob.call('GET', '/_matrix/client/v1/media/download/hearth.test/nothingHere')), [404, 'M_NOT_FOUND']);
    t.same(await errcode(await bob.call('GET', '/_matrix/client/v1/media/download/hearth.test/..%2F..%2Fsigning.key')), [400, 'M_INVALID_PARAM'],
      'ids outside the grammar never reach the disk');
    t.same(await errcode(await bob.call('GET', '/_matrix/client/v1/media/download/not..a..server/abc')), [400, 'M_INVALID_PARAM']);
    t.same(await errcode(await fetch(`${server.url}/_matrix/client/v1/media/download/${tail(mxc)}`)), [401, 'M_MISSING_TOKEN'],
      'the download paths of Matrix 1.11 need an access token');
    t.same(await errcode(await fetch(`${server.url}/_matrix/media/v3/upload`, { method: 'POST', body: 'x' })), [401, 'M_MISSING_TOKEN']);

    t.same(await json(await bob.call('GET', '/_matrix/client/v1/media/config')), { 'm.upload.size': 52_428_800 });
    t.same(await json(await bob.call('GET', '/_matrix/media/v3/config')), { 'm.upload.size': 52_428_800 });
  });

  t.test(`thumbnails are made once per size, never upscaled (${engine})`, async (t) => {
    const server = await startTestServer(t, engine);
    const alice = await userOn(server.url, 'alice');
    const big = await upload(alice, await picture(1000, 500), 'image/png');

    const thumbnail = async (mxc: string, query: string) => {
      const response = await alice.call('GET', `/_matrix/client/v1/media/thumbnail/${tail(mxc)}?${query}`);
      const bytes = Buffer.from(await response.arrayBuffer());
      return { response, bytes, size: response.status === 200 ? await sharp(bytes).metadata() : undefined };
    };
    const crop = await thumbnail(big, 'width=96&height=96&method=crop');
    t.equal(crop.response.status, 200);
    t.equal(crop.response.headers.get('content-type'), 'image/jpeg', 'an opaque picture becomes a JPEG');
    t.equal(crop.response.headers.get('content-disposition'), 'inline; filename="thumbnail.jpg"');
    t.same([crop.size?.width, crop.size?.height], [96, 96], 'crop: the box asked for');
    const scale = await thumbnail(big, 'width=300&height=200&method=scale');
    t.same([scale.size?.width, scale.size?.height], [480, 240], 'scale: the aspect kept, both sides at least as large as asked (320x240 made)');
    const again = await thumbnail(big, 'width=320&height=240');
    t.ok(again.bytes.equals(scale.bytes), 'scale is the default method, and the made thumbnail is reused');
    const rows = await server.database.sql<{ count: number }[]>`select count(*)::int4 as count from media_thumbnails`;
    t.equal(rows[0]?.count, 2, 'two thumbnails kept');

    const clear = await upload(alice, await picture(600, 600, true), 'image/png');
    t.equal((await thumbnail(clear, 'width=32&height=32&method=crop')).response.headers.get('content-type'), 'image/png',
      'a picture with transparency keeps it');

    const small = await picture(20, 10);
    const smallUri = await upload(alice, small, 'image/png');
    const original = await thumbnail(smallUri, 'width=96&height=96&method=crop');
    t.ok(original.bytes.equals(small), 'a picture smaller than the thumbnail is served as it is');

    const text = await upload(alice, 'just words', 'text/plain');
    t.same(await errcode((await alice.call('GET', `/_matrix/client/v1/media/thumbnail/${tail(text)}?width=32&height=32`))), [400, 'M_UNKNOWN'],
      'what is not a picture has no thumbnail');
    t.same(await errcode(await alice.call('GET', `/_matrix/client/v1/media/thumbnail/${tail(big)}?width=32`)), [400, 'M_INVALID_PARAM'], 'height is required');
    t.same(await errcode(await alice.call('GET', `/_matrix/client/v1/media/thumbnail/${tail(big)}?width=0&height=32`)), [400, 'M_INVALID_PARAM']);
    t.same(await errcode(await alice.call('GET', `/_matrix/client/v1/media/thumbnail/${tail(big)}?width=32&height=32&method=stretch`)), [400, 'M_INVALID_PARAM']);
  });

  t.test(`uploads over the limit are refused whole, and leave nothing behind (${engine})`, async (t) => {
    const server = await startTestServer(t, engine, 'media: { max_upload_size_bytes: 4096 }');
    const alice = await userOn(server.url, 'alice');
    const fits = await upload(alice, Buffer.alloc(4096, 7), 'application/octet-stream');
    t.ok(fits, 'exactly the limit is fine');
    t.same(await errcode(await alice.call('POST', '/_matrix/media/v3/upload', { body: Buffer.alloc(4097), headers: { 'content-type': 'x/y' } })),
      [413, 'M_TOO_LARGE'], 'refused from its Content-Length');
    // No Content-Length: chunked, so the limit is found while the bytes stream in.
    const stream = Readable.from((function* () {
      for (let i = 0; i < 10; i++) yield Buffer.alloc(1024, i);
    })());
    const chunked = await alice.call('POST', '/_matrix/media/v3/upload', { body: stream as unknown as RequestInit['body'], headers: { 'content-type': 'x/y' }, duplex: 'half' });
    t.same(await errcode(chunked), [413, 'M_TOO_LARGE'], 'refused while streaming');
    const dataDir = server.firstStartNotes.join(' ').match(/(\/\S+)\/signing\.key/)?.[1];
    t.ok(dataDir, 'the data folder is named in the start notes');
    t.same(await readdir(path.join(dataDir!, 'media', 'tmp')), [], 'no partial file is kept');
    const rows = await server.database.sql<{ count: number }[]>`select count(*)::int4 as count from media`;
    t.equal(rows[0]?.count, 1, 'only the upload that fit has a row');
    t.same(await json(await alice.call('GET', '/_matrix/client/v1/media/config')), { 'm.upload.size': 4096 });
  });

  t.test(`asynchronous uploads: an id first, its bytes later, waited for by downloads (${engine})`, async (t) => {
    const server = await startTestServer(t, engine, 'media: { max_pending_uploads: 2 }');
    const alice = await userOn(server.url, 'alice');
    const bob = await userOn(server.url, 'bob');
    const created = await json(await alice.call('POST', '/_matrix/media/v1/create'));
    t.match(created, { content_uri: /^mxc:\/\/hearth\.test\//, unused_expires_at: Number });
    t.ok((created.unused_expires_at as number) > Date.now() + 3_600_000, 'the id is kept for a day');
    const id = tail(created.content_uri as string);

    t.same(await errcode(await bob.call('GET', `/_matrix/client/v1/media/download/${id}?timeout_ms=0`)), [504, 'M_NOT_YET_UPLOADED']);
    const waiting = bob.call('GET', `/_matrix/client/v1/media/download/${id}?timeout_ms=10000`);
    t.same(await errcode(await bob.call('PUT', `/_matrix/media/v3/upload/${id}`, { body: 'mine now', headers: { 'content-type': 'text/plain' } })),
      [403, 'M_FORBIDDEN'], 'only its creator uploads to an id');
    const put = await alice.call('PUT', `/_matrix/media/v3/upload/${id}?filename=note.txt`, { body: 'hello later', headers: { 'content-type': 'text/plain' } });
    t.same([put.status, await json(put)], [200, {}]);
    const waited = await waiting;
    t.equal(waited.status, 200, 'the waiting download got the content as it arrived');
    t.equal(await waited.text(), 'hello later');
    t.equal(waited.headers.get('content-disposition'), 'inline; filename="note.txt"');
    t.same(await errcode(await alice.call('PUT', `/_matrix/media/v3/upload/${id}`, { body: 'again', headers: { 'content-type': 'text/plain' } })),
      [409, 'M_CANNOT_OVERWRITE_MEDIA']);
    t.same(await errcode(await alice.call('PUT', '/_matrix/media/v3/upload/hearth.test/neverCreated', { body: 'x' })), [404, 'M_NOT_FOUND']);
    t.same(await errcode(await alice.call('PUT', '/_matrix/media/v3/upload/elsewhere.example/abc', { body: 'x' })), [404, 'M_NOT_FOUND'],
      'ids of other servers are not ours to fill');

    t.equal((await alice.call('POST', '/_matrix/media/v1/create')).status, 200);
    t.equal((await alice.call('POST', '/_matrix/media/v1/create')).status, 200);
    const third = await alice.call('POST', '/_matrix/media/v1/create');
    const body = await json(third);
    t.same([third.status, body.errcode], [429, 'M_LIMIT_EXCEEDED'], 'at most max_pending_uploads ids wait at once');
    const retry = body.retry_after_ms as number;
    t.ok(retry > 23 * 3_600_000 && retry <= 24 * 3_600_000, 'retry_after_ms: until the first waiting id expires');
    t.equal((await bob.call('POST', '/_matrix/media/v1/create')).status, 200, 'per user');
  });

  t.test(`the deprecated unauthenticated paths are frozen unless the config serves them (${engine})`, async (t) => {
    const frozen = await startTestServer(t, engine);
    const alice = await userOn(frozen.url, 'alice');
    const mxc = await upload(alice, 'hi', 'text/plain');
    t.same(await errcode(await fetch(`${frozen.url}/_matrix/media/v3/download/${tail(mxc)}`)), [404, 'M_NOT_FOUND']);
    t.same(await errcode(await fetch(`${frozen.url}/_matrix/media/r0/thumbnail/${tail(mxc)}?width=1&height=1`)), [404, 'M_NOT_FOUND']);

    const open = await startTestServer(t, engine, 'media: { serve_unauthenticated: true }');
    const bob = await userOn(open.url, 'bob');
    const png = await picture(300, 300);
    const shared = await upload(bob, png, 'image/png', 'p.png');
    const legacy = await fetch(`${open.url}/_matrix/media/v3/download/${tail(shared)}`);
    t.equal(legacy.status, 200, 'served without a token');
    t.ok(Buffer.from(await legacy.arrayBuffer()).equals(png));
    const named = await fetch(`${open.url}/_matrix/media/r0/download/${tail(shared)}/x.png`);
    t.equal(named.headers.get('content-disposition'), 'inline; filename="x.png"');
    await named.arrayBuffer();
    const thumb = await fetch(`${open.url}/_matrix/media/v3/thumbnail/${tail(shared)}?width=32&height=32&method=crop`);
    t.equal(thumb.status, 200);
    t.same(await sharp(Buffer.from(await thumb.arrayBuffer())).metadata().then((m) => [m.width, m.height]), [32, 32]);
    t.same(await errcode(await fetch(`${open.url}/_matrix/media/v3/download/elsewhere.example/abc?allow_remote=false`)), [404, 'M_NOT_FOUND'],
      'allow_remote=false: only what this server has');
  });
}

t.test('uploads are rate limited as media_upload', async (t: Test) => {
  const server = await startTestServer(t, 'embedded', 'rate_limits: { enabled: true, media_upload: { per_second: 0.1, burst_count: 2 }, registration: { per_second: 100, burst_count: 100 } }');
  const alice = await userOn(server.url, 'alice');
  await upload(alice, 'one', 'text/plain');
  await upload(alice, 'two', 'text/plain');
  const third = await alice.call('POST', '/_matrix/media/v3/upload', { body: 'three', headers: { 'content-type': 'text/plain' } });
  const body = await json(third);
  t.same([third.status, body.errcode], [429, 'M_LIMIT_EXCEEDED']);
  t.type(body.retry_after_ms, 'number');
});
