import t from 'tap';
import sharp from 'sharp';
import { startTestServer } from '../../helpers/server.js';

/**
 * Synapse's admin API quarantine over real HTTP: a server admin takes content out of circulation by id,
 * by room and by uploader; quarantined content is not served (404), and lifting the quarantine serves it
 * again. Only server admins may.
 */

interface Client {
  readonly userId: string;
  call(method: string, path: string, body?: string | Buffer, type?: string): Promise<{ status: number; body: Record<string, any> }>;
  get(path: string): Promise<number>;
}

async function userOn(base: string, name: string): Promise<Client> {
  const response = await fetch(`${base}/_matrix/client/v3/register`, {
    method: 'POST',
    body: JSON.stringify({ username: name, password: 'correct horse', auth: { type: 'm.login.dummy' } }),
  });
  const { access_token: token, user_id: userId } = (await response.json()) as { access_token: string; user_id: string };
  const headers = { authorization: `Bearer ${token}` };
  return {
    userId,
    async call(method, path, body, type = 'application/json') {
      const res = await fetch(`${base}${path}`, { method, headers: { ...headers, 'content-type': type }, ...(body === undefined ? {} : { body }) });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    },
    async get(path) {
      const res = await fetch(`${base}${path}`, { headers });
      await res.arrayBuffer();
      return res.status;
    },
  };
}

t.test('a server admin quarantines media by id, by room and by uploader', async (t) => {
  const server = await startTestServer(t, 'embedded');
  const admin = await userOn(server.url, 'root');
  await server.database.sql`update users set admin = true where user_id = ${admin.userId}`;
  const alice = await userOn(server.url, 'alice');
  const bob = await userOn(server.url, 'bob');
  const picture = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 1, g: 2, b: 3 } } }).png().toBuffer();
  const upload = async (client: Client) => ((await client.call('POST', '/_matrix/media/v3/upload', picture, 'image/png')).body.content_uri as string).slice('mxc://'.length);
  const download = (path: string) => alice.get(`/_matrix/client/v1/media/download/${path}`);
  const thumbnail = (path: string) => alice.get(`/_matrix/client/v1/media/thumbnail/${path}?width=32&height=32`);

  const one = await upload(alice);
  t.equal(await download(one), 200);
  t.match(await alice.call('POST', `/_synapse/admin/v1/media/quarantine/${one}`), { status: 403, body: { errcode: 'M_FORBIDDEN' } }, 'only server admins');
  t.equal((await admin.call('POST', `/_synapse/admin/v1/media/quarantine/${one}`)).status, 200);
  t.equal(await download(one), 404, 'quarantined content is not served');
  t.equal(await thumbnail(one), 404, 'nor its thumbnails');
  t.equal((await admin.call('POST', `/_synapse/admin/v1/media/unquarantine/${one}`)).status, 200);
  t.equal(await download(one), 200, 'served again once lifted');

  const room = (await alice.call('POST', '/_matrix/client/v3/createRoom', JSON.stringify({ preset: 'public_chat' }))).body.room_id as string;
  const posted = await upload(bob);
  await bob.call('POST', `/_matrix/client/v3/join/${encodeURIComponent(room)}`, '{}');
  await bob.call('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.message/1`, JSON.stringify({ msgtype: 'm.image', body: 'cat.png', url: `mxc://${posted}` }));
  const inRoom = await admin.call('POST', `/_synapse/admin/v1/room/${encodeURIComponent(room)}/media/quarantine`);
  t.same(inRoom.body, { num_quarantined: 1 }, 'the picture the room shows');
  t.equal(await download(posted), 404);
  t.equal(await download(one), 200, 'content the room does not name is untouched');

  const other = await upload(bob);
  const byUser = await admin.call('POST', `/_synapse/admin/v1/user/${encodeURIComponent(bob.userId)}/media/quarantine`);
  t.same(byUser.body, { num_quarantined: 1 }, "bob's other upload (the one in the room was quarantined already)");
  t.equal(await download(other), 404);

  t.match(await admin.call('POST', '/_synapse/admin/v1/media/quarantine/not a server/abc'), { status: 400, body: { errcode: 'M_INVALID_PARAM' } });
  t.match(await admin.call('POST', '/_synapse/admin/v1/user/bob/media/quarantine'), { status: 400, body: { errcode: 'M_INVALID_PARAM' } });
});
