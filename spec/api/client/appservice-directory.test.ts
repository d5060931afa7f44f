import t, { type Test } from 'tap';
import { createHttpApp } from '../../../src/api/plumbing/http-app.js';
import { appServiceDirectoryRoutes, directoryRoutes } from '../../../src/api/client/directory.js';
import { AppServices, createAppServiceAuth, parseRegistration } from '../../../src/appservice/index.js';
import { fixedClock } from '../../../src/platform/clock.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { parseServerName } from '../../../src/protocol/index.js';
import { createRoomDirectory } from '../../../src/rooms/index.js';
import { createDirectoryStore, createRoomStore, type Database } from '../../../src/storage/index.js';
import { appOn, registerUser } from '../../helpers/app.js';
import { testClient } from '../../helpers/client.js';
import { eachEngine } from '../../helpers/database.js';
import { directoryDeps } from '../../helpers/directory.js';
import { LOCAL } from '../../helpers/rooms.js';

const enc = encodeURIComponent;

/**
 * The accounts app (for alice and her rooms) and, on the same database, the directory routes with
 * application services' lists, as server.ts mounts them when an application service `irc` is configured.
 */
async function bridgedDirectory(t: Test, db: Database) {
  // A clock that ticks on every read, so rooms made back to back get different ids.
  let now = 1_700_000_000_000;
  const { app, accounts } = await appOn(t, db, { clock: { now: () => now++ } });
  const alice = await registerUser(app, 'alice');
  const services = new AppServices([
    parseRegistration({ id: 'irc', url: null, as_token: 'as-irc', hs_token: 'hs-irc', sender_localpart: 'ircbot', namespaces: {} }, parseServerName(LOCAL)),
    parseRegistration({ id: 'slack', url: null, as_token: 'as-slack', hs_token: 'hs-slack', sender_localpart: 'slackbot', namespaces: {} }, parseServerName(LOCAL)),
  ], parseServerName(LOCAL));
  const auth = createAppServiceAuth({ services, activeUser: async () => true, deviceExists: async () => true });
  const store = createDirectoryStore(db.sql);
  const directory = createRoomDirectory({
    directory: store,
    networks: store,
    store: createRoomStore(db.sql),
    isServerAdmin: async () => false,
    serverName: LOCAL,
    clock: fixedClock(1_700_000_000_000),
  });
  const bridged = await createHttpApp({
    log: silentLogger(),
    maxJsonBodyBytes: 65536,
    trustProxy: false,
    authenticator: async (token, client) => (await auth.authenticate(token, client.actAs)) ?? accounts.authenticate(token, client),
  }, async (app) => {
    await app.register(directoryRoutes(directoryDeps(db).aliases, directory));
    await app.register(appServiceDirectoryRoutes(directory));
  });
  t.teardown(() => bridged.close());
  const session = (token: string) => ({ user_id: '', device_id: '', access_token: token });
  return {
    /** alice on the accounts app, to make rooms. */
    creator: testClient(app, alice),
    alice: testClient(bridged, alice),
    irc: testClient(bridged, session('as-irc')),
    slack: testClient(bridged, session('as-slack')),
  };
}

const listPath = (network: string, roomId: string) => `/directory/list/appservice/${enc(network)}/${enc(roomId)}`;

t.test('an application service lists rooms in its own network directory', async (t) => {
  await eachEngine(t, 'network list', async (t, db) => {
    const { creator, alice, irc } = await bridgedDirectory(t, db);
    const roomId = await creator.createRoom({ preset: 'public_chat', name: 'Test Name', topic: 'Test Topic' });
    const roomsOf = async (filter: Record<string, unknown>) => {
      const res = await alice.post('/publicRooms', filter);
      t.equal(res.status, 200, JSON.stringify(filter));
      return (res.body.chunk as { room_id: string }[]).map((room) => room.room_id);
    };

    t.same(await irc.put(listPath('random-network', roomId), { visibility: 'public' }), { status: 200, body: {} }, 'the service lists the room');
    t.same(await roomsOf({}), [], 'not in the main list');
    t.same(await roomsOf({ third_party_instance_id: 'irc|random-network' }), [roomId], 'in its network\'s list');
    t.match((await alice.post('/publicRooms', { third_party_instance_id: 'irc|random-network' })).body.chunk,
      [{ room_id: roomId, name: 'Test Name', topic: 'Test Topic', num_joined_members: 1, join_rule: 'public' }], 'with the room\'s details');
    t.same(await roomsOf({ third_party_instance_id: 'irc|other-network' }), [], 'not in its other networks');
    t.same(await roomsOf({ third_party_instance_id: 'slack|random-network' }), [], 'not in another service\'s network of that name');
    t.same(await roomsOf({ include_all_networks: true }), [roomId], 'in the list of all networks');
    t.same(await roomsOf({ third_party_instance_id: 'irc|random-network', filter: { generic_search_term: 'nothing like it' } }), [],
      'the search term filters a network\'s list too');

    t.same(await irc.put(listPath('random-network', roomId), { visibility: 'public' }), { status: 200, body: {} }, 'listing twice is fine');
    t.same(await irc.delete(listPath('random-network', roomId)), { status: 200, body: {} }, 'the service takes it off');
    t.same(await roomsOf({ third_party_instance_id: 'irc|random-network' }), [], 'gone from the network list');
    t.same(await roomsOf({ include_all_networks: true }), []);

    await irc.put(listPath('random-network', roomId), { visibility: 'public' });
    t.same(await irc.put(listPath('random-network', roomId), { visibility: 'private' }), { status: 200, body: {} }, 'private takes it off too');
    t.same(await roomsOf({ third_party_instance_id: 'irc|random-network' }), []);
  });
});

t.test('the main list and the networks\' lists are separate', async (t) => {
  await eachEngine(t, 'separate lists', async (t, db) => {
    const { creator, alice, irc, slack } = await bridgedDirectory(t, db);
    const both = await creator.createRoom({ preset: 'public_chat', name: 'Both' });
    const bridgedOnly = await creator.createRoom({ preset: 'public_chat', name: 'Bridged' });
    const roomsOf = async (filter: Record<string, unknown>) =>
      ((await alice.post('/publicRooms', filter)).body.chunk as { room_id: string }[]).map((room) => room.room_id).sort();

    await irc.put(listPath('libera', both), { visibility: 'public' });
    await slack.put(listPath('acme', both), { visibility: 'public' });
    await slack.put(listPath('acme', bridgedOnly), { visibility: 'public' });
    t.equal((await alice.put(`/directory/list/room/${enc(both)}`, { visibility: 'public' })).status, 200, 'alice publishes one in the main list');

    t.same(await roomsOf({}), [both], 'the main list');
    t.same(await roomsOf({ third_party_instance_id: 'irc|libera' }), [both]);
    t.same(await roomsOf({ third_party_instance_id: 'slack|acme' }), [both, bridgedOnly].sort());
    const all = await alice.post('/publicRooms', { include_all_networks: true });
    t.same((all.body.chunk as { room_id: string }[]).map((room) => room.room_id).sort(), [both, bridgedOnly].sort(),
      'every list, each room once');
    t.equal(all.body.total_room_count_estimate, 2);

    await irc.delete(listPath('libera', both));
    t.same(await roomsOf({}), [both], 'taking it off a network leaves it in the main list');
    t.same(await roomsOf({ third_party_instance_id: 'irc|libera' }), []);
  });
});

t.test('who may change a network list, and malformed requests', async (t) => {
  await eachEngine(t, 'refusals', async (t, db) => {
    const { creator, alice, irc } = await bridgedDirectory(t, db);
    const roomId = await creator.createRoom({ preset: 'public_chat' });

    const byUser = await alice.put(listPath('libera', roomId), { visibility: 'public' });
    t.same([byUser.status, byUser.body.errcode], [403, 'M_FORBIDDEN'], 'a user\'s access token is not enough');
    const byUserDelete = await alice.delete(listPath('libera', roomId));
    t.same([byUserDelete.status, byUserDelete.body.errcode], [403, 'M_FORBIDDEN']);

    const noRoom = await irc.put(listPath('libera', '!nothing:hearth.test'), { visibility: 'public' });
    t.same([noRoom.status, noRoom.body.errcode], [404, 'M_NOT_FOUND'], 'a room this server does not have');
    const notRoomId = await irc.put(listPath('libera', 'nothing'), { visibility: 'public' });
    t.same([notRoomId.status, notRoomId.body.errcode], [400, 'M_INVALID_PARAM'], 'not a room id');
    const badVisibility = await irc.put(listPath('libera', roomId), { visibility: 'listed' });
    t.same([badVisibility.status, badVisibility.body.errcode], [400, 'M_BAD_JSON'], 'visibility is public or private');

    const both = await alice.post('/publicRooms', { include_all_networks: true, third_party_instance_id: 'irc|libera' });
    t.same([both.status, both.body.errcode], [400, 'M_INVALID_PARAM'], 'one network or all, not both');
    const malformed = await alice.post('/publicRooms', { third_party_instance_id: 'libera' });
    t.same([malformed.status, malformed.body.errcode], [400, 'M_INVALID_PARAM'], 'an instance id is service|network');
  });
});
