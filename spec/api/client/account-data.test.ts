import t from 'tap';
import { appOn, registerUser } from '../../helpers/app.js';
import { eachEngine } from '../../helpers/database.js';
import { createUserDataStore } from '../../../src/storage/index.js';
import type { UserId } from '../../../src/protocol/index.js';

const V3 = '/_matrix/client/v3';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const globalUrl = (userId: string, type: string) => `${V3}/user/${encodeURIComponent(userId)}/account_data/${type}`;
const roomUrl = (userId: string, roomId: string, type: string) =>
  `${V3}/user/${encodeURIComponent(userId)}/rooms/${encodeURIComponent(roomId)}/account_data/${type}`;

void eachEngine(t, 'global and per-room account data round trip, kept apart, and overwritten', async (t, db) => {
  const { app } = await appOn(t, db);
  const alice = await registerUser(app, 'alice');
  const auth = bearer(alice.access_token);

  const unset = await app.inject({ method: 'GET', url: globalUrl(alice.user_id, 'm.direct'), headers: auth });
  t.equal(unset.statusCode, 404);
  t.equal(unset.json().errcode, 'M_NOT_FOUND');

  const direct = { '@bob:hearth.test': ['!abc:hearth.test'] };
  const put = await app.inject({ method: 'PUT', url: globalUrl(alice.user_id, 'm.direct'), headers: auth, payload: direct });
  t.equal(put.statusCode, 200);
  t.same(put.json(), {});
  t.same((await app.inject({ method: 'GET', url: globalUrl(alice.user_id, 'm.direct'), headers: auth })).json(), direct);

  const room = '!room:hearth.test';
  const tags = { tags: { 'm.favourite': { order: 0.5 } } };
  t.equal((await app.inject({ method: 'PUT', url: roomUrl(alice.user_id, room, 'm.tag'), headers: auth, payload: tags })).statusCode, 200);
  t.same((await app.inject({ method: 'GET', url: roomUrl(alice.user_id, room, 'm.tag'), headers: auth })).json(), tags);
  const globalTag = await app.inject({ method: 'GET', url: globalUrl(alice.user_id, 'm.tag'), headers: auth });
  t.equal(globalTag.statusCode, 404, 'room account data is not global account data');
  const otherRoom = await app.inject({ method: 'GET', url: roomUrl(alice.user_id, '!other:hearth.test', 'm.tag'), headers: auth });
  t.equal(otherRoom.statusCode, 404, 'nor another room\'s');

  await app.inject({ method: 'PUT', url: globalUrl(alice.user_id, 'm.direct'), headers: auth, payload: {} });
  t.same((await app.inject({ method: 'GET', url: globalUrl(alice.user_id, 'm.direct'), headers: auth })).json(), {}, 'overwritten');
});

void eachEngine(t, 'refusals: other users, server-managed types, bad room ids, non-object bodies', async (t, db) => {
  const { app } = await appOn(t, db);
  const alice = await registerUser(app, 'alice');
  const bob = await registerUser(app, 'bob');
  const auth = bearer(alice.access_token);

  const forBob = await app.inject({ method: 'PUT', url: globalUrl(bob.user_id, 'm.direct'), headers: auth, payload: {} });
  t.equal(forBob.statusCode, 403);
  t.equal(forBob.json().errcode, 'M_FORBIDDEN');
  const readBob = await app.inject({ method: 'GET', url: roomUrl(bob.user_id, '!r:hearth.test', 'm.tag'), headers: auth });
  t.equal(readBob.statusCode, 403);

  for (const type of ['m.fully_read', 'm.push_rules']) {
    const res = await app.inject({ method: 'PUT', url: globalUrl(alice.user_id, type), headers: auth, payload: { event_id: '$x' } });
    t.equal(res.statusCode, 405, `${type} is the server's`);
    t.equal(res.json().errcode, 'M_BAD_JSON');
    const inRoom = await app.inject({ method: 'PUT', url: roomUrl(alice.user_id, '!r:hearth.test', type), headers: auth, payload: {} });
    t.equal(inRoom.statusCode, 405);
  }

  const badRoom = await app.inject({ method: 'PUT', url: roomUrl(alice.user_id, 'not-a-room', 'm.tag'), headers: auth, payload: {} });
  t.equal(badRoom.statusCode, 400);
  t.equal(badRoom.json().errcode, 'M_INVALID_PARAM');

  const array = await app.inject({ method: 'PUT', url: globalUrl(alice.user_id, 'x.y'), headers: { ...auth, 'content-type': 'application/json' }, payload: '[1,2]' });
  t.equal(array.statusCode, 400);
  t.equal(array.json().errcode, 'M_BAD_JSON');
});

void eachEngine(t, 'every write takes a new, higher account-data stream position (what /sync will read)', async (t, db) => {
  const { app } = await appOn(t, db);
  const alice = await registerUser(app, 'alice');
  const bob = await registerUser(app, 'bob');
  const store = createUserDataStore(db.sql);
  const start = await store.accountDataStreamPosition();

  const put = (user: { user_id: string; access_token: string }, url: string, payload: Record<string, unknown>) =>
    app.inject({ method: 'PUT', url, headers: bearer(user.access_token), payload });
  await put(alice, globalUrl(alice.user_id, 'a.one'), { n: 1 });
  const afterOne = await store.accountDataStreamPosition();
  t.ok(afterOne > start, 'the stream advanced');
  await put(bob, globalUrl(bob.user_id, 'b.one'), { n: 1 });
  await put(alice, roomUrl(alice.user_id, '!r:hearth.test', 'a.two'), { n: 2 });
  await put(alice, globalUrl(alice.user_id, 'a.one'), { n: 3 });

  const changes = await store.accountDataSince(alice.user_id as UserId, afterOne);
  t.same(
    changes.map(({ roomId, type, content }) => ({ roomId, type, content })),
    [
      { roomId: '!r:hearth.test', type: 'a.two', content: { n: 2 } },
      { roomId: null, type: 'a.one', content: { n: 3 } },
    ],
    "since a position: only the user's later changes, in order, each at its latest value",
  );
  const positions = changes.map((change) => change.streamPosition);
  t.ok(positions[0]! < positions[1]!, 'positions increase');
  t.equal(await store.accountDataStreamPosition(), positions[1], 'the latest write holds the highest position');
  t.same(await store.accountDataSince(alice.user_id as UserId, positions[1]!), [], 'nothing after the latest');
});
