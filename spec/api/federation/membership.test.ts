import t from 'tap';
import type { Test } from 'tap';
import type { FastifyInstance } from 'fastify';
import { createHttpApp } from '../../../src/api/plumbing/http-app.js';
import { federationMembershipRoutes } from '../../../src/api/federation/membership.js';
import { buildEvent, getRoomVersion, parsePdu, signEvent, type PduJson } from '../../../src/events/index.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { fixedClock } from '../../../src/platform/clock.js';
import { createFederationMembership, createFederationReads, createReceivePipeline, createRoomServer } from '../../../src/rooms/index.js';
import { createDirectoryStore, createRoomStore, type Database } from '../../../src/storage/index.js';
import { appOn, registerUser } from '../../helpers/app.js';
import { eachEngine } from '../../helpers/database.js';
import { installTestFederationOrigin, ORIGIN_HEADER } from '../../helpers/federation.js';
import { counterRandom, keyring, LOCAL, localKey, REMOTE, remoteKey } from '../../helpers/rooms.js';

const rob = '@rob:remote.test';
const enc = encodeURIComponent;

/** The client app (for /createRoom and /sync) and the membership endpoints on the same database. */
async function setup(t: Test, db: Database) {
  const client = await appOn(t, db);
  const store = createRoomStore(db.sql);
  const log = silentLogger();
  const clock = fixedClock(1_700_000_000_000);
  const notifier = { eventsPersisted: () => undefined };
  const rooms = createRoomServer({ store, notifier, log, clock, random: counterRandom(), serverName: LOCAL, signingKey: localKey });
  const membership = createFederationMembership({
    store,
    receive: createReceivePipeline({ store, keys: keyring, notifier, log }),
    reads: createFederationReads({ store, aliases: createDirectoryStore(db.sql), serverName: LOCAL }),
    keys: keyring,
    notifier,
    restrictedJoinAuthoriser: (roomId, userId) => rooms.restrictedJoinAuthoriser(roomId, userId),
    log,
    clock,
    serverName: LOCAL,
    signingKey: localKey,
  });
  const federation = await createHttpApp({ log, maxJsonBodyBytes: 65536, trustProxy: false }, async (app) => {
    installTestFederationOrigin(app);
    await app.register(federationMembershipRoutes(membership, LOCAL));
  });
  t.teardown(() => federation.close());
  const alice = await registerUser(client.app, 'alice');
  return { client: client.app, federation, alice };
}

function fed(app: FastifyInstance, method: 'GET' | 'PUT', url: string, payload?: unknown) {
  return app.inject({ method, url, headers: { [ORIGIN_HEADER]: REMOTE }, ...(payload === undefined ? {} : { payload: payload as object }) });
}

function sync(app: FastifyInstance, token: string) {
  return app.inject({ method: 'GET', url: '/_matrix/client/v3/sync?timeout=0', headers: { authorization: `Bearer ${token}` } });
}

/** The joining server's part: fill the template and sign it. */
function signTemplate(template: PduJson, version: string) {
  const rules = getRoomVersion(version)!;
  return parsePdu(signEvent({ ...template }, REMOTE, remoteKey, rules), rules);
}

t.test('federation membership endpoints', async (t) => {
  await eachEngine(t, 'make_join, send_join v2 and v1: the remote user is joined and local clients see it', async (t, db) => {
    const { client, federation, alice } = await setup(t, db);
    const created = await client.inject({
      method: 'POST', url: '/_matrix/client/v3/createRoom', headers: { authorization: `Bearer ${alice.access_token}` }, payload: { preset: 'public_chat', room_version: '10' },
    });
    const roomId = created.json().room_id as string;

    const incompatible = await fed(federation, 'GET', `/_matrix/federation/v1/make_join/${enc(roomId)}/${enc(rob)}?ver=8&ver=9`);
    t.equal(incompatible.statusCode, 400);
    t.match(incompatible.json(), { errcode: 'M_INCOMPATIBLE_ROOM_VERSION', room_version: '10' });

    const made = await fed(federation, 'GET', `/_matrix/federation/v1/make_join/${enc(roomId)}/${enc(rob)}?ver=10`);
    t.equal(made.statusCode, 200);
    t.equal(made.json().room_version, '10');
    const join = signTemplate(made.json().event, '10');
    const wrongPath = await fed(federation, 'PUT', `/_matrix/federation/v2/send_join/${enc(roomId)}/${enc('$nope')}`, join.pdu);
    t.match(wrongPath.json(), { errcode: 'M_INVALID_PARAM' });

    const sent = await fed(federation, 'PUT', `/_matrix/federation/v2/send_join/${enc(roomId)}/${enc(join.eventId)}`, join.pdu);
    t.equal(sent.statusCode, 200);
    const body = sent.json();
    t.equal(body.origin, LOCAL);
    t.ok(body.state.some((p: PduJson) => p.type === 'm.room.create'), 'the state holds the create event');
    t.ok(body.auth_chain.length > 0);
    t.notOk('members_omitted' in body);

    const seen = await sync(client, alice.access_token);
    const timeline = seen.json().rooms.join[roomId].timeline.events as Array<{ type: string; state_key?: string; content: { membership?: string } }>;
    t.ok(timeline.some((e) => e.type === 'm.room.member' && e.state_key === rob && e.content.membership === 'join'), 'alice sees rob join');

    // An old server's retry through v1 gets the [200, body] pair; omit_members on v2 names the servers.
    const v1 = await fed(federation, 'PUT', `/_matrix/federation/v1/send_join/${enc(roomId)}/${enc(join.eventId)}`, join.pdu);
    t.equal(v1.json()[0], 200);
    t.equal(v1.json()[1].origin, LOCAL);
    const partial = await fed(federation, 'PUT', `/_matrix/federation/v2/send_join/${enc(roomId)}/${enc(join.eventId)}?omit_members=true`, join.pdu);
    t.match(partial.json(), { members_omitted: true, servers_in_room: [LOCAL] });

    const leaveTemplate = await fed(federation, 'GET', `/_matrix/federation/v1/make_leave/${enc(roomId)}/${enc(rob)}`);
    const leave = signTemplate(leaveTemplate.json().event, '10');
    const left = await fed(federation, 'PUT', `/_matrix/federation/v1/send_leave/${enc(roomId)}/${enc(leave.eventId)}`, leave.pdu);
    t.same(left.json(), [200, {}]);
  });

  await eachEngine(t, 'invite v2: countersigned, and the local user sees the invite with the stripped state in /sync', async (t, db) => {
    const { client, federation, alice } = await setup(t, db);
    const rules = getRoomVersion('10')!;
    const roomId = '!far:remote.test';
    const create = buildEvent(
      { type: 'm.room.create', stateKey: '', sender: rob, content: { creator: rob, room_version: '10' } },
      { rules, roomId, origin: REMOTE, key: remoteKey, now: 1, prevEvents: [], authEvents: [] },
    );
    const invite = buildEvent(
      { type: 'm.room.member', stateKey: alice.user_id, sender: rob, content: { membership: 'invite' } },
      { rules, roomId, origin: REMOTE, key: remoteKey, now: 2, prevEvents: [create], authEvents: [create] },
    );
    const before = await sync(client, alice.access_token);

    const strangerInvite = buildEvent(
      { type: 'm.room.member', stateKey: '@carol:elsewhere.test', sender: rob, content: { membership: 'invite' } },
      { rules, roomId, origin: REMOTE, key: remoteKey, now: 2, prevEvents: [create], authEvents: [create] },
    );
    const refused = await fed(federation, 'PUT', `/_matrix/federation/v2/invite/${enc(roomId)}/${enc(strangerInvite.eventId)}`, {
      room_version: '10', event: strangerInvite.pdu, invite_room_state: [create.pdu],
    });
    t.equal(refused.statusCode, 400);
    t.match(refused.json(), { errcode: 'M_INVALID_PARAM' });

    const res = await fed(federation, 'PUT', `/_matrix/federation/v2/invite/${enc(roomId)}/${enc(invite.eventId)}`, {
      room_version: '10',
      event: invite.pdu,
      invite_room_state: [create.pdu, { type: 'm.room.name', state_key: '', sender: rob, content: { name: 'Far away' } }],
    });
    t.equal(res.statusCode, 200);
    t.ok((res.json().event.signatures as Record<string, unknown>)[LOCAL], 'signed by this server');

    const next = await sync(client, `${alice.access_token}`);
    t.ok(next.json().rooms.invite[roomId], 'the invite is in an initial sync');
    const incremental = await client.inject({
      method: 'GET', url: `/_matrix/client/v3/sync?timeout=0&since=${enc(before.json().next_batch)}`, headers: { authorization: `Bearer ${alice.access_token}` },
    });
    const events = incremental.json().rooms.invite[roomId].invite_state.events as Array<{ type: string; content: Record<string, unknown>; sender: string }>;
    t.match(events, [
      { type: 'm.room.create', sender: rob },
      { type: 'm.room.name', content: { name: 'Far away' } },
      { type: 'm.room.member', sender: rob, content: { membership: 'invite' } },
    ], 'and in the next incremental sync, with the stripped state');

    const unsupported = await fed(federation, 'PUT', `/_matrix/federation/v2/invite/${enc(roomId)}/${enc(invite.eventId)}`, { room_version: '42', event: invite.pdu });
    t.match(unsupported.json(), { errcode: 'M_INCOMPATIBLE_ROOM_VERSION', room_version: '42' });
  });
});
