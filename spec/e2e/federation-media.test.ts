import t from 'tap';
import sharp from 'sharp';
import { registerUser } from '../helpers/app.js';
import { startFederationPair } from '../helpers/federation-pair.js';

/**
 * Media across two real Hearths: a user of B downloads (and thumbnails) what a user of A uploaded; B
 * fetches it from A over federation's authenticated media endpoint once, and keeps serving its copy when
 * A is gone.
 */

t.test('a picture uploaded on A is served to B\'s users, fetched once over federation', async (t) => {
  const { a, b } = await startFederationPair(t);
  const alice = await registerUser(a.app, 'alice');
  const bob = await registerUser(b.app, 'bob');
  const png = await sharp({ create: { width: 640, height: 320, channels: 3, background: '#2a6' } }).png().toBuffer();

  const uploaded = await a.app.inject({
    method: 'POST',
    url: '/_matrix/media/v3/upload?filename=green.png',
    headers: { authorization: `Bearer ${alice.access_token}`, 'content-type': 'image/png' },
    payload: png,
  });
  t.equal(uploaded.statusCode, 200, uploaded.body);
  const mxc = uploaded.json().content_uri as string;
  t.ok(mxc.startsWith(`mxc://${a.serverName}/`));
  const tail = mxc.slice('mxc://'.length);
  const asBob = (url: string) => b.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${bob.access_token}` } });

  const download = await asBob(`/_matrix/client/v1/media/download/${tail}`);
  t.equal(download.statusCode, 200, download.body.slice(0, 200));
  t.ok(download.rawPayload.equals(png), 'the same bytes, through B');
  t.equal(download.headers['content-type'], 'image/png');
  t.equal(download.headers['content-disposition'], 'inline; filename="green.png"', 'the uploader\'s file name travels with it');
  const kept = await b.database.sql<{ origin: string; size_bytes: number; uploader: string | null }[]>`select origin, size_bytes, uploader from media`;
  t.same(kept.map((row) => ({ ...row })), [{ origin: a.serverName, size_bytes: png.length, uploader: null }], 'B keeps a copy');

  const thumbnail = await asBob(`/_matrix/client/v1/media/thumbnail/${tail}?width=32&height=32&method=crop`);
  t.equal(thumbnail.statusCode, 200);
  t.same(await sharp(thumbnail.rawPayload).metadata().then((m) => [m.width, m.height]), [32, 32], 'B thumbnails its copy');

  const missing = await asBob(`/_matrix/client/v1/media/download/${a.serverName}/neverUploaded`);
  t.same([missing.statusCode, missing.json().errcode], [404, 'M_NOT_FOUND'], 'what A does not have is not found');

  const unsigned = await a.app.inject({ method: 'GET', url: `/_matrix/federation/v1/media/download/${tail.split('/')[1]}` });
  t.same([unsigned.statusCode, unsigned.json().errcode], [401, 'M_UNAUTHORIZED'], 'A serves other servers only signed requests');

  await a.close();
  const again = await asBob(`/_matrix/client/v1/media/download/${tail}`);
  t.equal(again.statusCode, 200, 'with A gone, B still serves its copy');
  t.ok(again.rawPayload.equals(png));
  const unreachable = await asBob(`/_matrix/client/v1/media/download/${a.serverName}/another`);
  t.equal(unreachable.statusCode, 502, 'content B never had cannot be fetched from a server that is down');
  t.equal(unreachable.json().errcode, 'M_UNKNOWN');
});
