import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { appOn, registerUser } from '../../helpers/app.js';
import { testClient } from '../../helpers/client.js';
import { eachEngine } from '../../helpers/database.js';
import { crossSigningKeys, deviceKeys } from '../../helpers/e2ee.js';
import { federationReadsApp, ORIGIN_HEADER, remoteEvent } from '../../helpers/federation.js';
import { REMOTE, roomWorld } from '../../helpers/rooms.js';

const F = '/_matrix/federation/v1';
const enc = encodeURIComponent;

function get(app: FastifyInstance, url: string) {
  return app.inject({ method: 'GET', url, headers: { [ORIGIN_HEADER]: REMOTE } });
}

function post(app: FastifyInstance, url: string, payload: object) {
  return app.inject({ method: 'POST', url, payload, headers: { [ORIGIN_HEADER]: REMOTE } });
}

t.test('federation queries', async (t) => {
  await eachEngine(t, '/query/directory resolves this server’s aliases to the room and its resident servers', async (t, db) => {
    const { app: client } = await appOn(t, db);
    const alice = testClient(client, await registerUser(client, 'alice'));
    const roomId = await alice.createRoom({ room_version: '10', preset: 'public_chat', room_alias_name: 'lobby' });
    const fed = await federationReadsApp(t, db);
    const url = (alias: string) => `${F}/query/directory?room_alias=${enc(alias)}`;

    const alone = await get(fed, url('#lobby:hearth.test'));
    t.equal(alone.statusCode, 200);
    t.same(alone.json(), { room_id: roomId, servers: ['hearth.test'] });

    // rob of remote.test joins: his server is resident too, after this one.
    const { store, receive } = roomWorld(t, db);
    const rob = '@rob:remote.test';
    const join = await remoteEvent(store, roomId, { type: 'm.room.member', stateKey: rob, sender: rob, content: { membership: 'join' } }, await store.forwardExtremities(roomId), await store.currentState(roomId));
    t.match(await receive.receivePdu(roomId, join.pdu, REMOTE), { status: 'accepted' });
    t.same((await get(fed, url('#lobby:hearth.test'))).json().servers, ['hearth.test', 'remote.test']);

    const unknown = await get(fed, url('#nope:hearth.test'));
    t.equal(unknown.statusCode, 404);
    t.equal(unknown.json().errcode, 'M_NOT_FOUND');
    const foreign = await get(fed, url('#lobby:elsewhere.test'));
    t.equal(foreign.statusCode, 400);
    t.equal(foreign.json().errcode, 'M_INVALID_PARAM');
    t.equal((await get(fed, url('lobby'))).json().errcode, 'M_INVALID_PARAM', 'not an alias');
    t.equal((await get(fed, `${F}/query/directory`)).json().errcode, 'M_INVALID_PARAM', 'room_alias is required');
  });

  await eachEngine(t, '/query/directory asks the application services about an alias unknown here', async (t, db) => {
    const { app: client } = await appOn(t, db);
    const alice = testClient(client, await registerUser(client, 'alice'));
    const roomId = await alice.createRoom({ room_version: '10', preset: 'public_chat' });
    const asked: string[] = [];
    // The bridge makes #_irc_chan on demand (here: alice gives the room that alias), and knows no other.
    const fed = await federationReadsApp(t, db, async (alias) => {
      asked.push(alias);
      if (alias !== '#_irc_chan:hearth.test') return false;
      return (await alice.put(`/directory/room/${enc(alias)}`, { room_id: roomId })).status === 200;
    });
    t.same((await get(fed, `${F}/query/directory?room_alias=${enc('#_irc_chan:hearth.test')}`)).json(), { room_id: roomId, servers: ['hearth.test'] });
    t.equal((await get(fed, `${F}/query/directory?room_alias=${enc('#_irc_none:hearth.test')}`)).statusCode, 404);
    t.same(asked, ['#_irc_chan:hearth.test', '#_irc_none:hearth.test']);
    t.equal((await get(fed, `${F}/query/directory?room_alias=${enc('#_irc_chan:hearth.test')}`)).statusCode, 200);
    t.equal(asked.length, 2, 'an alias known here is not asked about');
  });

  await eachEngine(t, '/query/profile gives a local user’s profile, or one field of it', async (t, db) => {
    const { app: client } = await appOn(t, db);
    const alice = testClient(client, await registerUser(client, 'alice'));
    t.equal((await alice.put(`/profile/${enc(alice.user)}/displayname`, { displayname: 'Alice A.' })).status, 200);
    t.equal((await alice.put(`/profile/${enc(alice.user)}/avatar_url`, { avatar_url: 'mxc://hearth.test/abc' })).status, 200);
    const fed = await federationReadsApp(t, db);
    const url = (query: string) => `${F}/query/profile?${query}`;

    t.same((await get(fed, url(`user_id=${enc(alice.user)}`))).json(), { displayname: 'Alice A.', avatar_url: 'mxc://hearth.test/abc' });
    t.same((await get(fed, url(`user_id=${enc(alice.user)}&field=displayname`))).json(), { displayname: 'Alice A.' }, 'only the field asked for');
    t.same((await get(fed, url(`user_id=${enc(alice.user)}&field=avatar_url`))).json(), { avatar_url: 'mxc://hearth.test/abc' });
    const unknownField = await get(fed, url(`user_id=${enc(alice.user)}&field=m.nothing`));
    t.equal(unknownField.statusCode, 404);
    const unknownUser = await get(fed, url(`user_id=${enc('@nobody:hearth.test')}`));
    t.equal(unknownUser.statusCode, 404);
    t.equal(unknownUser.json().errcode, 'M_NOT_FOUND');
    const remote = await get(fed, url(`user_id=${enc('@rob:remote.test')}`));
    t.equal(remote.statusCode, 400);
    t.equal(remote.json().errcode, 'M_INVALID_PARAM');
    t.equal((await get(fed, url('user_id=rob'))).json().errcode, 'M_INVALID_PARAM');
  });

  await eachEngine(t, '/publicRooms lists the published rooms as the client directory does', async (t, db) => {
    const { app: client } = await appOn(t, db);
    const alice = testClient(client, await registerUser(client, 'alice'));
    const bob = testClient(client, await registerUser(client, 'bob'));
    const big = await alice.createRoom({ room_version: '10', preset: 'public_chat', visibility: 'public', name: 'Big room', topic: 'many people' });
    await bob.post(`/rooms/${enc(big)}/join`);
    const small = await alice.createRoom({ room_version: '10', preset: 'public_chat', visibility: 'public', name: 'Small room' });
    await alice.createRoom({ room_version: '10', preset: 'public_chat', name: 'Unlisted' });
    const fed = await federationReadsApp(t, db);

    const all = await get(fed, `${F}/publicRooms`);
    t.equal(all.statusCode, 200);
    t.same(all.json().chunk.map((r: { room_id: string }) => r.room_id), [big, small], 'published rooms only, most members first');
    t.match(all.json().chunk[0], { name: 'Big room', topic: 'many people', num_joined_members: 2, world_readable: false });
    t.same(all.json(), (await alice.get('/publicRooms')).body, 'the same answer the client API gives');

    const first = await get(fed, `${F}/publicRooms?limit=1`);
    t.same(first.json().chunk.map((r: { room_id: string }) => r.room_id), [big]);
    const next = await get(fed, `${F}/publicRooms?limit=1&since=${first.json().next_batch}`);
    t.same(next.json().chunk.map((r: { room_id: string }) => r.room_id), [small]);

    const filtered = await post(fed, `${F}/publicRooms`, { filter: { generic_search_term: 'small' } });
    t.same(filtered.json().chunk.map((r: { room_id: string }) => r.room_id), [small]);
    const networks = await post(fed, `${F}/publicRooms`, { include_all_networks: true, limit: 5 });
    t.equal(networks.json().chunk.length, 2);
    t.equal((await get(fed, `${F}/publicRooms?since=bogus`)).json().errcode, 'M_INVALID_PARAM');
    t.equal((await post(fed, `${F}/publicRooms`, { limit: 'ten' })).json().errcode, 'M_BAD_JSON');
  });

  await eachEngine(t, '/user/devices and /user/keys/query and /claim serve a local user’s keys', async (t, db) => {
    const { app: client } = await appOn(t, db);
    const session = await registerUser(client, 'alice');
    const alice = testClient(client, session);
    const device = deviceKeys(alice.user, alice.device, 40);
    t.equal((await alice.put(`/devices/${alice.device}`, { display_name: 'Alice phone' })).status, 200);
    const upload = await alice.post('/keys/upload', {
      device_keys: device.json,
      one_time_keys: { 'curve25519:AAAAAQ': 'b25lLXRpbWUta2V5LTE', 'curve25519:AAAAAg': 'b25lLXRpbWUta2V5LTI' },
    });
    t.equal(upload.status, 200);
    const cross = crossSigningKeys(alice.user, 50);
    t.equal((await alice.post('/keys/device_signing/upload', cross.body)).status, 200);
    const fed = await federationReadsApp(t, db);

    const devices = await get(fed, `${F}/user/devices/${enc(alice.user)}`);
    t.equal(devices.statusCode, 200);
    const body = devices.json();
    t.equal(body.user_id, alice.user);
    t.ok(Number.isInteger(body.stream_id) && body.stream_id > 0, 'the device list position');
    t.equal(body.devices.length, 1);
    t.match(body.devices[0], { device_id: alice.device, device_display_name: 'Alice phone', keys: { user_id: alice.user, device_id: alice.device } });
    t.same(body.devices[0].keys.keys, device.json.keys);
    t.same(body.master_key.keys, cross.body.master_key.keys);
    t.same(body.self_signing_key.keys, cross.body.self_signing_key.keys);
    t.notOk('user_signing_key' in body, 'never the user-signing key');
    const later = await alice.put(`/devices/${alice.device}`, { display_name: 'Renamed' });
    t.equal(later.status, 200);
    t.ok((await get(fed, `${F}/user/devices/${enc(alice.user)}`)).json().stream_id >= body.stream_id);
    t.equal((await get(fed, `${F}/user/devices/${enc('@rob:remote.test')}`)).json().errcode, 'M_INVALID_PARAM');
    t.same((await get(fed, `${F}/user/devices/${enc('@nobody:hearth.test')}`)).json().devices, [], 'an unknown local user has no devices');

    const query = await post(fed, `${F}/user/keys/query`, { device_keys: { [alice.user]: [], '@rob:remote.test': [] } });
    t.equal(query.statusCode, 200);
    const keys = query.json();
    t.same(Object.keys(keys.device_keys), [alice.user], 'only users of this server');
    t.same(keys.device_keys[alice.user][alice.device].keys, device.json.keys);
    t.equal(keys.device_keys[alice.user][alice.device].unsigned.device_display_name, 'Renamed');
    t.same(keys.master_keys[alice.user].keys, cross.body.master_key.keys);
    t.ok(keys.self_signing_keys[alice.user]);
    t.notOk('user_signing_keys' in keys);
    t.notOk('failures' in keys);
    t.equal((await post(fed, `${F}/user/keys/query`, { device_keys: { rob: [] } })).json().errcode, 'M_INVALID_PARAM');
    t.equal((await post(fed, `${F}/user/keys/query`, {})).json().errcode, 'M_BAD_JSON');

    const claim = (body: object) => post(fed, `${F}/user/keys/claim`, body);
    const first = await claim({ one_time_keys: { [alice.user]: { [alice.device]: 'curve25519' }, '@rob:remote.test': { X: 'curve25519' } } });
    t.equal(first.statusCode, 200);
    const claimed = Object.entries(first.json().one_time_keys[alice.user][alice.device] as Record<string, string>);
    t.equal(claimed.length, 1);
    t.same(Object.keys(first.json().one_time_keys), [alice.user]);
    const second = Object.entries((await claim({ one_time_keys: { [alice.user]: { [alice.device]: 'curve25519' } } })).json().one_time_keys[alice.user][alice.device] as Record<string, string>);
    t.not(second[0]![0], claimed[0]![0], 'each one-time key is handed out once');
    t.same((await claim({ one_time_keys: { [alice.user]: { [alice.device]: 'curve25519' } } })).json().one_time_keys, {}, 'none left');
  });
});
