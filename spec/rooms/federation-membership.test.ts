import t from 'tap';
import type { Test } from 'tap';
import { signingKeyFromSeed } from '../../src/crypto/index.js';
import {
  buildEvent,
  getRoomVersion,
  parsePdu,
  signEvent,
  stateKey,
  verifyEventSignature,
  type PduJson,
  type RoomEvent,
} from '../../src/events/index.js';
import { silentLogger } from '../../src/platform/logger.js';
import { createFederationSender, type FederationClient } from '../../src/federation/index.js';
import { createFederationQueueStore } from '../../src/storage/index.js';
import { manualScheduler } from '../helpers/ephemeral.js';
import { counterRandom } from '../helpers/rooms.js';
import { createFederationMembership, createFederationReads, createReceivePipeline, type KeyLookup } from '../../src/rooms/index.js';
import { createDirectoryStore, type Database } from '../../src/storage/index.js';
import { eachEngine } from '../helpers/database.js';
import { keyring, LOCAL, localKey, REMOTE, remoteKey, roomWorld } from '../helpers/rooms.js';

const alice = '@alice:hearth.test';
const bob = '@bob:hearth.test';
const rob = '@rob:remote.test';
const ruth = '@ruth:remote.test';
const THIRD = 'third.test';
const thirdKey = signingKeyFromSeed('third', new Uint8Array(32).fill(3));

/** The test keyring, knowing a third server too. */
const keys: KeyLookup = {
  async verifyKey(server, keyId) {
    if (server === THIRD && keyId === thirdKey.keyId) return { key: thirdKey.publicKey, validUntilTs: Infinity };
    return keyring.verifyKey(server, keyId);
  },
};

function world(
  t: Test,
  db: Database,
  ignored: Record<string, string[]> = {},
  relay?: (eventId: string, except: readonly string[]) => Promise<void>,
  blocked: readonly string[] = [],
) {
  const base = roomWorld(t, db);
  const relayed: Array<{ eventId: string; except: readonly string[] }> = [];
  // The pipeline knows the third server's key too.
  const receive = createReceivePipeline({ store: base.store, keys, notifier: { eventsPersisted: (_roomId, position) => void base.positions.push(position) }, log: silentLogger() });
  const membership = createFederationMembership({
    store: base.store,
    receive,
    reads: createFederationReads({ store: base.store, aliases: createDirectoryStore(db.sql), serverName: LOCAL }),
    keys,
    notifier: { eventsPersisted: (_roomId, position) => void base.positions.push(position) },
    restrictedJoinAuthoriser: (roomId, userId) => base.rooms.restrictedJoinAuthoriser(roomId, userId),
    log: silentLogger(),
    clock: base.clock,
    serverName: LOCAL,
    signingKey: localKey,
    relay: async (eventId, except) => {
      relayed.push({ eventId, except });
      await relay?.(eventId, except);
    },
    ignoredUsers: async (userId) => new Set(ignored[userId] ?? []),
    localUserExists: async (userId) => [alice, bob].includes(userId),
    roomBlocked: async (roomId) => blocked.includes(roomId),
  });
  return { ...base, receive, membership, relayed };
}

/** What the asking server does with a template: fill in its content, hash and sign it (and name it, v1-2). */
function complete(template: PduJson, version: string, content: Record<string, unknown> = {}, server = REMOTE, key = remoteKey): RoomEvent {
  const rules = getRoomVersion(version)!;
  const pdu: Record<string, unknown> = { ...template, content: { ...(template.content as object), ...content } };
  if (rules.eventIdFormat === 'server-generated') pdu.event_id = `$joined${Math.random().toString(36).slice(2)}:${server}`;
  return parsePdu(signEvent(pdu, server, key, rules), rules);
}

async function memberOf(store: ReturnType<typeof roomWorld>['store'], roomId: string, userId: string): Promise<string | undefined> {
  const key = stateKey('m.room.member', userId);
  const id = (await store.currentStateEntries(roomId, [key])).get(key);
  return id === undefined ? undefined : ((await store.events([id])).get(id)?.event.content.membership as string);
}

/** Every event reachable through auth_events from the starts (not the starts themselves). */
async function closure(store: ReturnType<typeof roomWorld>['store'], starts: readonly string[]): Promise<Set<string>> {
  const chain = new Set<string>();
  let frontier = [...starts];
  while (frontier.length > 0) {
    const next: string[] = [];
    for (const stored of (await store.events(frontier)).values()) {
      for (const id of stored.event.authEvents) if (!chain.has(id)) (chain.add(id), next.push(id));
    }
    frontier = next;
  }
  return chain;
}

/** Asserts the promise fails with an error matching `wanted` (a MatrixError's errcode, extra). */
async function refused(t: Test, promise: Promise<unknown>, wanted: Record<string, unknown>, label?: string): Promise<void> {
  const error = await promise.then(() => undefined, (err: unknown) => err);
  t.match(error, wanted, label ?? `refused with ${String(wanted.errcode)}`);
}

const idsOf = (pdus: readonly PduJson[], version: string) => pdus.map((p) => parsePdu(p, getRoomVersion(version)!).eventId);

t.test('federation membership handshakes (resident side)', async (t) => {
  await eachEngine(t, 'make_join gives a template on the extremities that passes auth; send_join stores the join, answers the state and relays it', async (t, db) => {
    const { rooms, store, membership, relayed } = world(t, db);
    const { roomId } = await rooms.createRoom({ creator: alice, roomVersion: '10', preset: 'public_chat' });
    await rooms.join(roomId, bob);
    const extremities = await store.forwardExtremities(roomId);

    const made = await membership.makeJoin(REMOTE, roomId, rob, ['9', '10']);
    t.equal(made.room_version, '10');
    t.match(made.event, { type: 'm.room.member', room_id: roomId, sender: rob, state_key: rob, content: { membership: 'join' }, origin: REMOTE });
    t.same(made.event.prev_events, extremities, 'built on the forward extremities');
    t.notOk('hashes' in made.event || 'signatures' in made.event, 'the template is unsigned');
    const current = await store.currentState(roomId);
    const wantedAuth = ['m.room.create', 'm.room.power_levels', 'm.room.join_rules'].map((type) => current.get(stateKey(type, '')));
    t.same([...(made.event.auth_events as string[])].sort(), [...wantedAuth].sort(), 'create, power levels and join rules authorise the join');

    const join = complete(made.event, '10', { displayname: 'Rob' });
    const answer = await membership.sendJoin(REMOTE, roomId, join.eventId, join.pdu, false);
    t.equal(await memberOf(store, roomId, rob), 'join', 'the remote user is joined here');
    t.same(relayed, [{ eventId: join.eventId, except: [REMOTE] }], 'queued for the other servers, not back to the joiner');
    t.same(new Set(idsOf(answer.state, '10')), new Set(current.values()), 'the state is the state before the join');
    const chain = new Set(idsOf(answer.authChain, '10'));
    for (const id of await closure(store, [...current.values(), join.eventId])) t.ok(chain.has(id), `auth chain holds ${id}`);
    t.notOk(answer.event, 'no countersigned event outside restricted rooms');
    t.same(answer.serversInRoom, [LOCAL]);

    // Sent again (a retry), the join is taken as it was.
    await membership.sendJoin(REMOTE, roomId, join.eventId, join.pdu, false);
    t.equal((await store.forwardExtremities(roomId)).length, 1);
  });

  await eachEngine(t, "the federation sender relays a send_join's event to the room's other servers, not back to its origin", async (t, db) => {
    const requests: Array<{ destination: string; types: unknown[] }> = [];
    const client: FederationClient = {
      async request<T>(destination: string, _method: string, _path: string, options?: { body?: unknown }): Promise<T> {
        requests.push({ destination, types: ((options?.body as { pdus: Array<{ type: unknown; state_key?: unknown }> }).pdus).map((p) => `${String(p.type)} ${String(p.state_key)}`) });
        return { pdus: {} } as T;
      },
    } as FederationClient;
    let sender: ReturnType<typeof createFederationSender> | undefined;
    const w = world(t, db, {}, (eventId, except) => sender!.relayEvent(eventId, except));
    sender = createFederationSender({
      store: createFederationQueueStore(db.sql), client, rooms: w.store, serverName: LOCAL, clock: w.clock, random: counterRandom(),
      log: silentLogger(), scheduler: manualScheduler(),
    });
    await sender.start();
    const { roomId } = await w.rooms.createRoom({ creator: alice, roomVersion: '10', preset: 'public_chat' });
    const robJoin = complete((await w.membership.makeJoin(REMOTE, roomId, rob, ['10'])).event, '10');
    await w.membership.sendJoin(REMOTE, roomId, robJoin.eventId, robJoin.pdu, false);
    sender.eventsAdvanced();
    await sender.idle();
    t.same(requests, [], "rob's join goes nowhere: remote.test sent it and is the only other server");

    const tess = '@tess:third.test';
    const tessJoin = complete((await w.membership.makeJoin(THIRD, roomId, tess, ['10'])).event, '10', {}, THIRD, thirdKey);
    await w.membership.sendJoin(THIRD, roomId, tessJoin.eventId, tessJoin.pdu, false);
    await sender.idle();
    t.same(requests, [{ destination: REMOTE, types: [`m.room.member ${tess}`] }], "tess's join reaches remote.test, not third.test again");
    await sender.close();
  });

  await eachEngine(t, 'refusals: unknown room, wrong versions, other servers\' users, bans, forged events', async (t, db) => {
    const { rooms, store, membership } = world(t, db);
    const { roomId } = await rooms.createRoom({ creator: alice, roomVersion: '10', preset: 'public_chat' });

    await refused(t, membership.makeJoin(REMOTE, '!nowhere:hearth.test', rob, ['10']), { errcode: 'M_NOT_FOUND' });
    await refused(t, membership.makeJoin(REMOTE, roomId, rob, ['8', '9']), { errcode: 'M_INCOMPATIBLE_ROOM_VERSION', extra: { room_version: '10' } });
    await refused(t, membership.makeJoin(REMOTE, roomId, rob), { errcode: 'M_INCOMPATIBLE_ROOM_VERSION' }, 'ver defaults to ["1"]');
    await refused(t, membership.makeJoin(THIRD, roomId, rob, ['10']), { errcode: 'M_FORBIDDEN' }, "a server asks only for its own users");

    const made = await membership.makeJoin(REMOTE, roomId, rob, ['10']);
    const leaveShaped = complete({ ...made.event, content: { membership: 'leave' } }, '10');
    await refused(t, membership.sendJoin(REMOTE, roomId, leaveShaped.eventId, leaveShaped.pdu, false), { errcode: 'M_INVALID_PARAM' }, 'a leave is no join');
    const join = complete(made.event, '10');
    await refused(t, membership.sendJoin(REMOTE, roomId, '$other', join.pdu, false), { errcode: 'M_INVALID_PARAM' }, 'the path names another event');
    await refused(t, membership.sendJoin(THIRD, roomId, join.eventId, join.pdu, false), { errcode: 'M_FORBIDDEN' }, "another server's user");
    const { roomId: otherRoom } = await rooms.createRoom({ creator: alice, roomVersion: '10', preset: 'public_chat' });
    await refused(t, membership.sendJoin(REMOTE, otherRoom, join.eventId, join.pdu, false), { errcode: 'M_INVALID_PARAM' }, 'another room');
    const forThird = complete({ ...made.event, sender: '@tess:third.test', state_key: rob }, '10', {}, THIRD, thirdKey);
    await refused(t, membership.sendJoin(THIRD, roomId, forThird.eventId, forThird.pdu, false), { errcode: 'M_INVALID_PARAM' }, 'state_key is not the sender');
    const unsigned = parsePdu({ ...join.pdu, signatures: {} }, getRoomVersion('10')!);
    await refused(t, membership.sendJoin(REMOTE, roomId, unsigned.eventId, unsigned.pdu, false), { errcode: 'M_FORBIDDEN' }, 'not signed by its server');
    const { signatures: _s, hashes: _h, ...bare } = join.pdu;
    await refused(t, membership.sendJoin(REMOTE, roomId, join.eventId, bare, false), { errcode: 'M_FORBIDDEN' }, 'no signatures or hashes at all');
    await refused(t, membership.sendJoin(REMOTE, roomId, join.eventId, { type: 'm.room.member', signatures: {}, hashes: {} }, false), { errcode: 'M_BAD_JSON' });
    t.equal(await memberOf(store, roomId, rob), undefined, 'nothing was stored');

    // Banned between make_join and send_join: the join that would have passed then is refused now.
    await rooms.ban(roomId, alice, rob);
    await refused(t, membership.sendJoin(REMOTE, roomId, join.eventId, join.pdu, false), { errcode: 'M_FORBIDDEN' });
    await refused(t, membership.makeJoin(REMOTE, roomId, rob, ['10']), { errcode: 'M_FORBIDDEN' });
    t.equal(await memberOf(store, roomId, rob), 'ban');

    // Denied by the room's server ACL.
    await rooms.send(roomId, { type: 'm.room.server_acl', stateKey: '', sender: alice, content: { allow: ['*'], deny: [REMOTE] } });
    await refused(t, membership.makeJoin(REMOTE, roomId, ruth, ['10']), { errcode: 'M_FORBIDDEN' });
  });

  await eachEngine(t, 'omit_members leaves out member events but for the heroes and the joiner, and names the servers', async (t, db) => {
    const { rooms, membership } = world(t, db);
    const { roomId } = await rooms.createRoom({ creator: alice, roomVersion: '10', preset: 'public_chat' });
    await rooms.join(roomId, bob);
    const made = await membership.makeJoin(REMOTE, roomId, rob, ['10']);
    const join = complete(made.event, '10');
    const full = await membership.sendJoin(REMOTE, roomId, join.eventId, join.pdu, false);
    t.equal(full.membersOmitted, false);

    // Ruth joins an unnamed room: alice and bob are the heroes, so their member events stay.
    const madeRuth = await membership.makeJoin(REMOTE, roomId, ruth, ['10']);
    const ruthJoin = complete(madeRuth.event, '10');
    const partial = await membership.sendJoin(REMOTE, roomId, ruthJoin.eventId, ruthJoin.pdu, true);
    t.equal(partial.membersOmitted, true);
    t.same(partial.serversInRoom, [LOCAL, REMOTE].sort());
    const members = (pdus: readonly PduJson[]) => pdus.filter((p) => p.type === 'm.room.member').map((p) => p.state_key).sort();
    t.same(members(partial.state), [alice, bob, rob].sort(), 'the heroes (the first five members) stay');

    // Named, the room needs no heroes: no member events at all, and the auth chain still has the creator's.
    await rooms.send(roomId, { type: 'm.room.name', stateKey: '', sender: alice, content: { name: 'Named' } });
    const leaveTemplate = await membership.makeLeave(REMOTE, roomId, ruth);
    const leave = complete(leaveTemplate.event, '10');
    await membership.sendLeave(REMOTE, roomId, leave.eventId, leave.pdu);
    const again = complete((await membership.makeJoin(REMOTE, roomId, ruth, ['10'])).event, '10');
    const named = await membership.sendJoin(REMOTE, roomId, again.eventId, again.pdu, true);
    t.same(members(named.state), [ruth], "only the joiner's own earlier member event");
    t.ok(named.authChain.some((p) => p.type === 'm.room.member' && p.state_key === alice), "the auth chain keeps the creator's join");
    const stateIds = new Set(idsOf(named.state, '10'));
    t.notOk(idsOf(named.authChain, '10').some((id) => stateIds.has(id)), 'what the state holds is not repeated in the auth chain');
  });

  await eachEngine(t, 'make_leave and send_leave; make_knock and send_knock', async (t, db) => {
    const { rooms, store, membership, relayed } = world(t, db);
    const { roomId } = await rooms.createRoom({ creator: alice, roomVersion: '10', preset: 'public_chat' });
    const join = complete((await membership.makeJoin(REMOTE, roomId, rob, ['10'])).event, '10');
    await membership.sendJoin(REMOTE, roomId, join.eventId, join.pdu, false);

    const leaveTemplate = await membership.makeLeave(REMOTE, roomId, rob);
    t.match(leaveTemplate.event, { content: { membership: 'leave' }, state_key: rob });
    const leave = complete(leaveTemplate.event, '10');
    const joinShaped = complete({ ...leaveTemplate.event, content: { membership: 'join' } }, '10');
    await refused(t, membership.sendLeave(REMOTE, roomId, joinShaped.eventId, joinShaped.pdu), { errcode: 'M_INVALID_PARAM' });
    await membership.sendLeave(REMOTE, roomId, leave.eventId, leave.pdu);
    t.equal(await memberOf(store, roomId, rob), 'leave');
    t.same(relayed.at(-1), { eventId: leave.eventId, except: [REMOTE] });
    await refused(t, membership.makeLeave(REMOTE, roomId, ruth), { errcode: 'M_FORBIDDEN' }, 'ruth is not in the room to leave it');

    // A room that takes knocks.
    const { roomId: knockRoom } = await rooms.createRoom({ creator: alice, roomVersion: '10', preset: 'private_chat' });
    await refused(t, membership.makeKnock(REMOTE, knockRoom, ruth, ['10']), { errcode: 'M_FORBIDDEN' }, 'an invite-only room takes no knocks');
    await rooms.send(knockRoom, { type: 'm.room.join_rules', stateKey: '', sender: alice, content: { join_rule: 'knock' } });
    await refused(t, membership.makeKnock(REMOTE, knockRoom, ruth, ['6']), { errcode: 'M_INCOMPATIBLE_ROOM_VERSION' });
    const knockTemplate = await membership.makeKnock(REMOTE, knockRoom, ruth, ['10']);
    t.match(knockTemplate.event, { content: { membership: 'knock' } });
    const knock = complete(knockTemplate.event, '10', { reason: 'let me in' });
    const knockState = await membership.sendKnock(REMOTE, knockRoom, knock.eventId, knock.pdu);
    t.equal(await memberOf(store, knockRoom, ruth), 'knock');
    t.same(knockState.map((p) => p.type).sort(), ['m.room.create', 'm.room.join_rules'], 'the room as a knocker may see it');
    t.match(knockState.find((p) => p.type === 'm.room.join_rules'), { content: { join_rule: 'knock' } });
  });

  await eachEngine(t, 'restricted rooms: a local member authorises the join and this server countersigns it', async (t, db) => {
    const { rooms, store, membership, receive } = world(t, db);
    const { roomId: space } = await rooms.createRoom({ creator: alice, roomVersion: '10', preset: 'public_chat' });
    const spaceJoin = complete((await membership.makeJoin(REMOTE, space, rob, ['10'])).event, '10');
    await membership.sendJoin(REMOTE, space, spaceJoin.eventId, spaceJoin.pdu, false);
    const { roomId } = await rooms.createRoom({ creator: alice, roomVersion: '10', preset: 'private_chat' });
    await rooms.send(roomId, { type: 'm.room.join_rules', stateKey: '', sender: alice, content: { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: space }] } });

    const made = await membership.makeJoin(REMOTE, roomId, rob, ['10']);
    t.match(made.event.content, { membership: 'join', join_authorised_via_users_server: alice });
    await refused(t, membership.makeJoin(REMOTE, roomId, ruth, ['10']), { errcode: 'M_FORBIDDEN' }, 'ruth is in none of the allowed rooms');

    const join = complete(made.event, '10');
    const answer = await membership.sendJoin(REMOTE, roomId, join.eventId, join.pdu, false);
    t.ok(answer.event, 'the countersigned event comes back');
    const signed = answer.event!;
    t.ok(verifyEventSignature(signed, LOCAL, localKey.keyId, localKey.publicKey, getRoomVersion('10')!), 'signed by this server');
    t.ok(verifyEventSignature(signed, REMOTE, remoteKey.keyId, remoteKey.publicKey, getRoomVersion('10')!), "the joiner's signature kept");
    t.equal(parsePdu(signed, getRoomVersion('10')!).eventId, join.eventId, 'the event id is unchanged');
    t.equal(await memberOf(store, roomId, rob), 'join');

    // Room on another server's authority: nobody here can vouch when the allowed room is unknown.
    const { roomId: unknownAllow } = await rooms.createRoom({ creator: alice, roomVersion: '10', preset: 'private_chat' });
    await rooms.send(unknownAllow, { type: 'm.room.join_rules', stateKey: '', sender: alice, content: { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: '!elsewhere:far.test' }] } });
    await refused(t, membership.makeJoin(REMOTE, unknownAllow, rob, ['10']), { errcode: 'M_UNABLE_TO_AUTHORISE_JOIN' });
    void receive;
  });

  await eachEngine(t, 'invites: checked, countersigned and kept for a room held elsewhere', async (t, db) => {
    const { store, membership, positions } = world(t, db, { [bob]: [rob] });
    // A v10 room on remote.test this server knows nothing of: its create event and an invite for alice.
    const rules = getRoomVersion('10')!;
    const create = buildEvent(
      { type: 'm.room.create', stateKey: '', sender: rob, content: { creator: rob, room_version: '10' } },
      { rules, roomId: '!far:remote.test', origin: REMOTE, key: remoteKey, now: 1, prevEvents: [], authEvents: [] },
    );
    const inviteOf = (target: string, sender = rob) => buildEvent(
      { type: 'm.room.member', stateKey: target, sender, content: { membership: 'invite' } },
      { rules, roomId: '!far:remote.test', origin: REMOTE, key: remoteKey, now: 2, prevEvents: [create], authEvents: [create] },
    );
    const inviteState = [create.pdu, { type: 'm.room.name', state_key: '', sender: rob, content: { name: 'Far away' } }];
    const invite = inviteOf(alice);

    await refused(t, membership.invite(REMOTE, '!far:remote.test', invite.eventId, { roomVersion: '99', event: invite.pdu, inviteRoomState: inviteState }), {
      errcode: 'M_INCOMPATIBLE_ROOM_VERSION',
      extra: { room_version: '99' },
    });
    const stranger = inviteOf('@carol:elsewhere.test');
    await refused(t, membership.invite(REMOTE, '!far:remote.test', stranger.eventId, { roomVersion: '10', event: stranger.pdu, inviteRoomState: [] }), { errcode: 'M_INVALID_PARAM' }, 'not our user');
    const nobody = inviteOf('@nobody:hearth.test');
    await refused(t, membership.invite(REMOTE, '!far:remote.test', nobody.eventId, { roomVersion: '10', event: nobody.pdu, inviteRoomState: [] }), { errcode: 'M_NOT_FOUND' });
    await refused(t, membership.invite(THIRD, '!far:remote.test', invite.eventId, { roomVersion: '10', event: invite.pdu, inviteRoomState: [] }), { errcode: 'M_FORBIDDEN' }, "the origin's user must send it");
    const forBob = inviteOf(bob);
    await refused(t, membership.invite(REMOTE, '!far:remote.test', forBob.eventId, { roomVersion: '10', event: forBob.pdu, inviteRoomState: [] }), { errcode: 'M_FORBIDDEN' }, 'bob ignores rob');
    const tampered = parsePdu({ ...invite.pdu, content: { membership: 'invite', reason: 'changed' } }, rules);
    await refused(t, membership.invite(REMOTE, '!far:remote.test', tampered.eventId, { roomVersion: '10', event: tampered.pdu, inviteRoomState: [] }), { errcode: 'M_INVALID_PARAM' });
    t.equal(await store.room('!far:remote.test'), undefined, 'nothing kept from the refusals');

    const signed = await membership.invite(REMOTE, '!far:remote.test', invite.eventId, { roomVersion: '10', event: invite.pdu, inviteRoomState: inviteState });
    t.ok(verifyEventSignature(signed, LOCAL, localKey.keyId, localKey.publicKey, rules), 'countersigned');
    t.ok(verifyEventSignature(signed, REMOTE, remoteKey.keyId, remoteKey.publicKey, rules), "the inviter's signature kept");
    t.equal(parsePdu(signed, rules).eventId, invite.eventId);
    t.notOk('unsigned' in signed, 'the answer is the event as signed');
    t.match(await store.room('!far:remote.test'), { roomVersion: '10', creator: rob });
    t.equal(await memberOf(store, '!far:remote.test', alice), 'invite', "alice's membership is the invite");
    const kept = (await store.events([invite.eventId])).get(invite.eventId)!;
    t.ok(kept.streamPosition !== null && positions.includes(kept.streamPosition), 'on the events stream, announced');
    t.same((kept.event.pdu.unsigned as { invite_room_state: unknown[] }).invite_room_state, [
      { type: 'm.room.create', state_key: '', sender: rob, content: { creator: rob, room_version: '10' } },
      { type: 'm.room.name', state_key: '', sender: rob, content: { name: 'Far away' } },
    ], 'the stripped state kept with it');
    // The same invite again is answered the same way, and stored once.
    await membership.invite(REMOTE, '!far:remote.test', invite.eventId, { roomVersion: '10', event: invite.pdu, inviteRoomState: inviteState });
  });

  await eachEngine(t, 'invites into a room this server is in go through the receive pipeline', async (t, db) => {
    const { rooms, store, membership } = world(t, db);
    const { roomId } = await rooms.createRoom({ creator: alice, roomVersion: '10', preset: 'public_chat' });
    const join = complete((await membership.makeJoin(REMOTE, roomId, rob, ['10'])).event, '10');
    await membership.sendJoin(REMOTE, roomId, join.eventId, join.pdu, false);
    // Anyone may invite; rob invites bob.
    await rooms.send(roomId, { type: 'm.room.power_levels', stateKey: '', sender: alice, content: { users: { [alice]: 100 }, invite: 0 } });
    const head = (await store.events(await store.forwardExtremities(roomId))).values().next().value!.event;
    const current = await store.currentState(roomId);
    const auth = await store.events(['m.room.create', 'm.room.power_levels', 'm.room.join_rules'].map((type) => current.get(stateKey(type, ''))!).concat(current.get(stateKey('m.room.member', rob))!));
    const rules = getRoomVersion('10')!;
    const invite = buildEvent(
      { type: 'm.room.member', stateKey: bob, sender: rob, content: { membership: 'invite' } },
      { rules, roomId, origin: REMOTE, key: remoteKey, now: 1_700_000_000_500, prevEvents: [head], authEvents: [...auth.values()].map((s) => s.event) },
    );
    await membership.invite(REMOTE, roomId, invite.eventId, { roomVersion: '10', event: invite.pdu, inviteRoomState: [] });
    t.equal(await memberOf(store, roomId, bob), 'invite');
    t.same(await store.forwardExtremities(roomId), [invite.eventId], 'part of the DAG');
  });
});

t.test('a room this server\'s admins blocked cannot be joined or knocked on through it', async (t) => {
  await eachEngine(t, 'make_join and make_knock refused', async (t, db) => {
    const probe = world(t, db);
    const { roomId } = await probe.rooms.createRoom({ creator: alice, roomVersion: '10', preset: 'public_chat' });
    const { membership } = world(t, db, {}, undefined, [roomId]);
    await refused(t, membership.makeJoin(REMOTE, roomId, rob, ['10']), { errcode: 'M_FORBIDDEN', message: /blocked/ });
    await refused(t, membership.makeKnock(REMOTE, roomId, rob, ['10']), { errcode: 'M_FORBIDDEN', message: /blocked/ });
  });
});
