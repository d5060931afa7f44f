import t, { type Test } from 'tap';
import { appOn, registerUser } from '../../helpers/app.js';
import { testClient, type TestClient } from '../../helpers/client.js';
import { eachEngine } from '../../helpers/database.js';
import type { Database } from '../../../src/storage/index.js';

/** Server-side key backups through the HTTP API: /room_keys/version and /room_keys/keys at all three levels. */

const ALGORITHM = 'm.megolm_backup.v1.curve25519-aes-sha2';
const ROOM = '!room:hearth.test';
const OTHER_ROOM = '!other:hearth.test';
const room = encodeURIComponent(ROOM);

const authData = (publicKey = 'abcdefg') => ({ public_key: publicKey, signatures: { '@alice:hearth.test': { 'ed25519:DEV': 'sig' } } });
const keyData = (firstMessageIndex = 0, forwardedCount = 0, isVerified = false, ciphertext = 'c') => ({
  first_message_index: firstMessageIndex,
  forwarded_count: forwardedCount,
  is_verified: isVerified,
  session_data: { ephemeral: 'e', ciphertext, mac: 'm' },
});

/** The app with alice registered and her first backup version created. */
async function withBackup(t: Test, db: Database) {
  const { app } = await appOn(t, db);
  const alice = testClient(app, await registerUser(app, 'alice'));
  const created = await alice.post('/room_keys/version', { algorithm: ALGORITHM, auth_data: authData() });
  t.equal(created.status, 200);
  return { app, alice, version: created.body.version as string };
}

const info = async (client: TestClient, version?: string) =>
  (await client.get(version === undefined ? '/room_keys/version' : `/room_keys/version/${version}`)).body;

void eachEngine(t, 'a backup version is created, read, updated and deleted', async (t, db) => {
  const { app } = await appOn(t, db);
  const alice = testClient(app, await registerUser(app, 'alice'));
  const none = await alice.get('/room_keys/version');
  t.same([none.status, none.body.errcode], [404, 'M_NOT_FOUND'], 'no backup yet');

  const created = await alice.post('/room_keys/version', { algorithm: ALGORITHM, auth_data: authData() });
  t.same(created.body, { version: '1' });
  const current = await alice.get('/room_keys/version');
  t.same(current.body, { algorithm: ALGORITHM, auth_data: authData(), count: 0, etag: current.body.etag, version: '1' });
  t.type(current.body.etag, 'string');
  t.same((await alice.get('/room_keys/version/1')).body, current.body, 'by number: the same');

  t.same((await alice.put('/room_keys/version/1', { algorithm: ALGORITHM, auth_data: authData('new'), version: '1' })).body, {});
  t.same((await alice.put('/room_keys/version/1', { algorithm: ALGORITHM, auth_data: authData('new'), version: 1 })).body, {}, 'the version as a number (older clients) too');
  t.same((await info(alice)).auth_data, authData('new'), 'auth_data replaced');

  t.same((await alice.post('/room_keys/version', { algorithm: ALGORITHM, auth_data: authData('second') })).body, { version: '2' });
  t.equal((await info(alice)).version, '2', 'the new backup is current');
  t.same((await alice.delete('/room_keys/version/2')).body, {});
  t.same((await alice.delete('/room_keys/version/2')).status, 200, 'deleting it again succeeds (the spec)');
  const gone = await alice.get('/room_keys/version/2');
  t.same([gone.status, gone.body.errcode], [404, 'M_NOT_FOUND']);
  t.equal((await info(alice)).version, '1', 'the older backup is current again');
  t.same((await alice.post('/room_keys/version', { algorithm: ALGORITHM, auth_data: authData() })).body, { version: '3' }, 'numbers are not reused');
  // The spec says object; Synapse, Dendrite and Conduit keep any JSON (sytest's is a string), and so does Hearth.
  t.same((await alice.post('/room_keys/version', { algorithm: ALGORITHM, auth_data: 'opaque' })).body, { version: '4' });
  t.equal((await info(alice)).auth_data, 'opaque', 'auth_data that is no object is kept as given');

  const bob = testClient(app, await registerUser(app, 'bob'));
  t.equal((await bob.get('/room_keys/version/1')).status, 404, 'another user\'s backup is not visible');
  t.equal((await bob.delete('/room_keys/version/1')).status, 404);
  t.equal((await info(alice, '1')).version, '1', 'nor deletable by them');
});

void eachEngine(t, 'keys are uploaded and read at all three levels', async (t, db) => {
  const { app, alice, version } = await withBackup(t, db);
  const all = await alice.put(`/room_keys/keys?version=${version}`, {
    rooms: { [ROOM]: { sessions: { s1: keyData(1), s2: keyData(2) } }, [OTHER_ROOM]: { sessions: { s3: keyData(3) } } },
  });
  t.equal(all.status, 200);
  t.equal(all.body.count, 3);
  t.type(all.body.etag, 'string');
  const byRoom = await alice.put(`/room_keys/keys/${room}?version=${version}`, { sessions: { s4: keyData(4) } });
  t.equal(byRoom.body.count, 4);
  const bySession = await alice.put(`/room_keys/keys/${room}/s5?version=${version}`, keyData(5));
  t.equal(bySession.body.count, 5);
  t.not(bySession.body.etag, all.body.etag);

  t.same((await alice.get(`/room_keys/keys?version=${version}`)).body, {
    rooms: {
      [ROOM]: { sessions: { s1: keyData(1), s2: keyData(2), s4: keyData(4), s5: keyData(5) } },
      [OTHER_ROOM]: { sessions: { s3: keyData(3) } },
    },
  });
  t.same((await alice.get(`/room_keys/keys/${encodeURIComponent(OTHER_ROOM)}?version=${version}`)).body, { sessions: { s3: keyData(3) } });
  t.same((await alice.get(`/room_keys/keys/${room}/s2?version=${version}`)).body, keyData(2));

  const missingSession = await alice.get(`/room_keys/keys/${room}/nope?version=${version}`);
  t.same([missingSession.status, missingSession.body.errcode], [404, 'M_NOT_FOUND'], 'a session not backed up is M_NOT_FOUND');
  const emptyRoom = await alice.get(`/room_keys/keys/${encodeURIComponent('!empty:hearth.test')}?version=${version}`);
  t.same([emptyRoom.status, emptyRoom.body], [200, { sessions: {} }], 'a room with no keys is an empty sessions object');
  t.same((await info(alice)).count, 5);

  const bob = testClient(app, await registerUser(app, 'bob'));
  const bobs = (await bob.post('/room_keys/version', { algorithm: ALGORITHM, auth_data: authData() })).body.version as string;
  t.equal(bobs, '1', 'versions are numbered per user');
  t.same((await bob.get(`/room_keys/keys?version=${bobs}`)).body, { rooms: {} }, 'an empty backup is an empty rooms object');
});

void eachEngine(t, 'counts and etags follow the keys, and only the keys', async (t, db) => {
  const { alice, version } = await withBackup(t, db);
  const start = await info(alice);
  const stored = (await alice.put(`/room_keys/keys/${room}/s?version=${version}`, keyData(5, 1))).body;
  t.not(stored.etag, start.etag, 'a new key moves the etag');
  t.same(await info(alice), { ...start, count: 1, etag: stored.etag }, 'the version info agrees');

  const worse = (await alice.put(`/room_keys/keys/${room}/s?version=${version}`, keyData(6, 0, false, 'worse'))).body;
  t.same(worse, stored, 'a worse key is not stored and the etag stays');
  const same = (await alice.put(`/room_keys/keys/${room}/s?version=${version}`, keyData(5, 1, false, 'tie'))).body;
  t.same(same, stored, 'a tie keeps the stored key');
  t.equal((await alice.get(`/room_keys/keys/${room}/s?version=${version}`)).body.session_data.ciphertext, 'c');

  const better = (await alice.put(`/room_keys/keys/${room}/s?version=${version}`, keyData(9, 9, true, 'verified'))).body;
  t.equal(better.count, 1);
  t.not(better.etag, stored.etag, 'a better key replaces it and moves the etag');
  t.same((await alice.get(`/room_keys/keys/${room}/s?version=${version}`)).body, keyData(9, 9, true, 'verified'));

  await alice.put('/room_keys/version/' + version, { algorithm: ALGORITHM, auth_data: authData('rotated') });
  t.equal((await info(alice)).etag, better.etag, 'updating auth_data leaves the etag');
  t.same((await alice.delete(`/room_keys/keys/${room}/absent?version=${version}`)).body, better, 'deleting nothing leaves it too');
});

void eachEngine(t, 'keys are deleted at all three levels; a deleted version takes its keys', async (t, db) => {
  const { alice, version } = await withBackup(t, db);
  await alice.put(`/room_keys/keys?version=${version}`, {
    rooms: { [ROOM]: { sessions: { a: keyData(), b: keyData(), c: keyData() } }, [OTHER_ROOM]: { sessions: { d: keyData() } } },
  });
  const one = await alice.delete(`/room_keys/keys/${room}/a?version=${version}`);
  t.same([one.status, one.body.count], [200, 3]);
  const byRoom = await alice.delete(`/room_keys/keys/${room}?version=${version}`);
  t.equal(byRoom.body.count, 1);
  t.not(byRoom.body.etag, one.body.etag);
  t.same(Object.keys((await alice.get(`/room_keys/keys?version=${version}`)).body.rooms), [OTHER_ROOM]);
  t.equal((await alice.delete(`/room_keys/keys?version=${version}`)).body.count, 0);
  t.same((await alice.get(`/room_keys/keys?version=${version}`)).body, { rooms: {} });

  await alice.put(`/room_keys/keys/${room}/e?version=${version}`, keyData());
  t.same((await alice.delete(`/room_keys/version/${version}`)).body, {});
  for (const [method, path] of [
    ['GET', `/room_keys/keys?version=${version}`],
    ['GET', `/room_keys/keys/${room}?version=${version}`],
    ['DELETE', `/room_keys/keys?version=${version}`],
  ] as const) {
    const res = await alice.call(method, path);
    t.same([res.status, res.body.errcode], [404, 'M_NOT_FOUND'], `${method} ${path.split('?')[0]} of a deleted version`);
  }
  const upload = await alice.put(`/room_keys/keys/${room}/f?version=${version}`, keyData());
  t.same([upload.status, upload.body.errcode], [404, 'M_NOT_FOUND'], 'no backup left to upload to');
});

void eachEngine(t, 'an upload to a stale version is refused with the current one named, and writes nothing', async (t, db) => {
  const { alice, version: old } = await withBackup(t, db);
  await alice.put(`/room_keys/keys/${room}/s1?version=${old}`, keyData());
  const current = (await alice.post('/room_keys/version', { algorithm: ALGORITHM, auth_data: authData('new') })).body.version as string;

  for (const [label, path, body] of [
    ['all rooms', `/room_keys/keys?version=${old}`, { rooms: { [ROOM]: { sessions: { s2: keyData() } } } }],
    ['one room', `/room_keys/keys/${room}?version=${old}`, { sessions: { s2: keyData() } }],
    ['one session', `/room_keys/keys/${room}/s2?version=${old}`, keyData()],
    ['an unknown version', `/room_keys/keys/${room}/s2?version=99`, keyData()],
  ] as const) {
    const res = await alice.put(path, body);
    t.equal(res.status, 403, `${label}: 403`);
    t.same(res.body, { errcode: 'M_WRONG_ROOM_KEYS_VERSION', error: res.body.error, current_version: current }, `${label}: names the current version`);
  }
  t.same((await alice.get(`/room_keys/keys?version=${old}`)).body, { rooms: { [ROOM]: { sessions: { s1: keyData() } } } }, 'the old version is unchanged');
  t.same((await info(alice)).count, 0, 'the current version is unchanged');

  const deleted = await alice.delete(`/room_keys/keys/${room}/s1?version=${old}`);
  t.same([deleted.status, deleted.body.count], [200, 0], 'keys of an older version may still be deleted');
});

void eachEngine(t, 'bad input is refused with the spec\'s errcodes and changes nothing', async (t, db) => {
  const { app, alice, version } = await withBackup(t, db);
  const before = await info(alice);
  const { is_verified: _unverified, ...noIsVerified } = keyData();
  const cases: Array<[string, 'POST' | 'PUT' | 'GET' | 'DELETE', string, unknown, number, string]> = [
    ['a version without algorithm', 'POST', '/room_keys/version', { auth_data: {} }, 400, 'M_BAD_JSON'],
    ['a version without auth_data', 'POST', '/room_keys/version', { algorithm: ALGORITHM }, 400, 'M_BAD_JSON'],
    ['an empty algorithm', 'POST', '/room_keys/version', { algorithm: '', auth_data: {} }, 400, 'M_INVALID_PARAM'],
    ['an update with another algorithm', 'PUT', `/room_keys/version/${version}`, { algorithm: 'm.other', auth_data: {} }, 400, 'M_INVALID_PARAM'],
    ['an update whose body names another version', 'PUT', `/room_keys/version/${version}`, { algorithm: ALGORITHM, auth_data: {}, version: '7' }, 400, 'M_INVALID_PARAM'],
    ['an update of an unknown version', 'PUT', '/room_keys/version/7', { algorithm: ALGORITHM, auth_data: {} }, 404, 'M_NOT_FOUND'],
    ['deleting an unknown version', 'DELETE', '/room_keys/version/7', undefined, 404, 'M_NOT_FOUND'],
    ['reading an unknown version', 'GET', '/room_keys/version/latest', undefined, 404, 'M_NOT_FOUND'],
    ['keys without a version', 'PUT', `/room_keys/keys/${room}/s`, keyData(), 400, 'M_MISSING_PARAM'],
    ['reading keys without a version', 'GET', '/room_keys/keys', undefined, 400, 'M_MISSING_PARAM'],
    ['reading keys of an unknown version', 'GET', '/room_keys/keys?version=7', undefined, 404, 'M_NOT_FOUND'],
    ['a key without is_verified', 'PUT', `/room_keys/keys/${room}/s?version=${version}`, noIsVerified, 400, 'M_BAD_JSON'],
    ['a negative first_message_index', 'PUT', `/room_keys/keys/${room}/s?version=${version}`, keyData(-1), 400, 'M_BAD_JSON'],
    ['a fractional forwarded_count', 'PUT', `/room_keys/keys/${room}/s?version=${version}`, keyData(0, 0.5), 400, 'M_BAD_JSON'],
    ['a key without session_data', 'PUT', `/room_keys/keys/${room}/s?version=${version}`, { ...keyData(), session_data: undefined }, 400, 'M_BAD_JSON'],
    ['a room without sessions', 'PUT', `/room_keys/keys/${room}?version=${version}`, {}, 400, 'M_BAD_JSON'],
    ['an upload without rooms', 'PUT', `/room_keys/keys?version=${version}`, { [ROOM]: {} }, 400, 'M_BAD_JSON'],
    ['a room id without its sigil', 'PUT', `/room_keys/keys?version=${version}`, { rooms: { 'room:hearth.test': { sessions: { s: keyData() } } } }, 400, 'M_INVALID_PARAM'],
    [
      'one bad key among good ones',
      'PUT',
      `/room_keys/keys?version=${version}`,
      { rooms: { [ROOM]: { sessions: { good: keyData(), bad: { ...keyData(), forwarded_count: 'x' } } } } },
      400,
      'M_BAD_JSON',
    ],
  ];
  for (const [label, method, path, body, status, errcode] of cases) {
    const res = await alice.call(method, path, body);
    t.equal(res.status, status, `${label}: ${status}`);
    t.equal(res.body.errcode, errcode, `${label}: ${errcode}`);
    t.type(res.body.error, 'string');
  }
  t.same(await info(alice), before, 'nothing was stored');
  t.same((await alice.get('/room_keys/version')).body.auth_data, authData());

  const anonymous = testClient(app, null);
  t.equal((await anonymous.get('/room_keys/version')).body.errcode, 'M_MISSING_TOKEN', 'backups need an access token');
});
