import t from 'tap';
import { stateKey } from '../../src/events/index.js';
import { eachEngine } from '../helpers/database.js';
import { rejectsWith } from '../helpers/errors.js';
import { roomWorld } from '../helpers/rooms.js';

const alice = '@alice:hearth.test';
const bob = '@bob:hearth.test';
const carol = '@carol:hearth.test';


t.test('createRoom', async (t) => {
  await eachEngine(t, 'builds a room whose every event passed auth, in every room version', async (t, db) => {
    const { rooms, store } = roomWorld(t, db);
    for (const version of ['1', '3', '10', '11', '12']) {
      const { roomId, events } = await rooms.createRoom({ creator: alice, roomVersion: version, preset: 'public_chat', name: 'Lobby' });
      t.equal((await store.room(roomId))?.roomVersion, version, `v${version} room recorded`);
      if (version === '12') t.equal(roomId, events[0]!.roomId, 'v12 room id comes from the create event');
      const current = await store.currentState(roomId);
      t.ok(current.has(stateKey('m.room.member', alice)), `v${version}: creator joined`);
      t.ok(current.has(stateKey('m.room.name', '')), `v${version}: named`);
      t.same(await store.forwardExtremities(roomId), [events.at(-1)!.eventId], `v${version}: one extremity, the last event`);
      for (let i = 1; i < events.length; i++) {
        t.same(events[i]!.prevEvents, [events[i - 1]!.eventId], `v${version}: event ${i} follows event ${i - 1}`);
      }
    }
  });

  await eachEngine(t, 'refuses an unknown room version and a v12 override that lists the creator', async (t, db) => {
    const { rooms } = roomWorld(t, db);
    await rejectsWith(t, rooms.createRoom({ creator: alice, roomVersion: '99' }), 'M_UNSUPPORTED_ROOM_VERSION');
    await rejectsWith(t, rooms.createRoom({ creator: alice, roomVersion: '12', powerLevelContentOverride: { users: { [alice]: 100 } } }), 'M_FORBIDDEN');
  });
});

t.test('messages and concurrency', async (t) => {
  await eachEngine(t, 'concurrent sends to one room never fork the DAG', async (t, db) => {
    const { rooms, store, positions } = roomWorld(t, db);
    const { roomId } = await rooms.createRoom({ creator: alice, roomVersion: '10' });
    const sent = await Promise.all(
      Array.from({ length: 12 }, (_, i) => rooms.send(roomId, { type: 'm.room.message', sender: alice, content: { msgtype: 'm.text', body: `#${i}` } })),
    );
    const extremities = await store.forwardExtremities(roomId);
    t.equal(extremities.length, 1, 'one forward extremity');
    const byId = new Map(sent.map((s) => [s.event.eventId, s.event]));
    const ordered = [...sent].sort((a, b) => a.event.depth - b.event.depth);
    for (let i = 1; i < ordered.length; i++) {
      t.same(ordered[i]!.event.prevEvents, [ordered[i - 1]!.event.eventId], 'each event follows exactly the one before');
    }
    t.ok(byId.has(extremities[0]!));
    const streamPositions = ordered.map((s) => s.streamPosition);
    t.same(streamPositions, [...streamPositions].sort((a, b) => a - b), 'stream positions follow the DAG order');
    t.ok(positions.length >= 13, 'the notifier heard every write');
  });

  await eachEngine(t, 'a non-member cannot send', async (t, db) => {
    const { rooms } = roomWorld(t, db);
    const { roomId } = await rooms.createRoom({ creator: alice, roomVersion: '11', preset: 'public_chat' });
    await rejectsWith(t, rooms.send(roomId, { type: 'm.room.message', sender: bob, content: { body: 'hi' } }), 'M_FORBIDDEN', /joined|member/);
    await rejectsWith(t, rooms.send('!nowhere:hearth.test', { type: 'm.room.message', sender: alice, content: {} }), 'M_NOT_FOUND');
  });
});

t.test('membership', async (t) => {
  await eachEngine(t, 'joins, invites, kicks and bans follow the join rules and power levels', async (t, db) => {
    const { rooms, store } = roomWorld(t, db);
    const membership = async (roomId: string, user: string) => {
      const id = (await store.currentStateEntries(roomId, [stateKey('m.room.member', user)])).get(stateKey('m.room.member', user));
      return id === undefined ? undefined : (await store.events([id])).get(id)?.event.content.membership;
    };
    const pub = (await rooms.createRoom({ creator: alice, roomVersion: '11', preset: 'public_chat' })).roomId;
    await rooms.join(pub, bob);
    t.equal(await membership(pub, bob), 'join', 'anyone joins a public room');
    await rejectsWith(t, rooms.kick(pub, bob, alice), 'M_FORBIDDEN', undefined, 'a member without power cannot kick');
    await rooms.ban(pub, alice, bob, 'spam');
    t.equal(await membership(pub, bob), 'ban');
    await rejectsWith(t, rooms.join(pub, bob), 'M_FORBIDDEN', undefined, 'a banned user cannot join');
    await rooms.unban(pub, alice, bob);
    await rooms.join(pub, bob);
    t.equal(await membership(pub, bob), 'join', 'unbanned, they can join again');

    const priv = (await rooms.createRoom({ creator: alice, roomVersion: '11', preset: 'private_chat' })).roomId;
    await rejectsWith(t, rooms.join(priv, carol), 'M_FORBIDDEN', undefined, 'an invite-only room needs an invite');
    await rooms.invite(priv, alice, carol);
    await rooms.join(priv, carol);
    t.equal(await membership(priv, carol), 'join');
    await rooms.kick(priv, alice, carol, 'bye');
    t.equal(await membership(priv, carol), 'leave');
    await rooms.leave(priv, alice);
    t.equal(await membership(priv, alice), 'leave');
  });

  await eachEngine(t, 'a restricted room admits members of the allowed room, vouched for by a local member', async (t, db) => {
    const { rooms, store } = roomWorld(t, db);
    const space = (await rooms.createRoom({ creator: alice, roomVersion: '10', preset: 'public_chat' })).roomId;
    const restricted = (
      await rooms.createRoom({
        creator: alice,
        roomVersion: '10',
        preset: 'private_chat',
        initialState: [{ type: 'm.room.join_rules', stateKey: '', content: { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: space }] } }],
      })
    ).roomId;
    await rejectsWith(t, rooms.join(restricted, bob), 'M_FORBIDDEN', 'You are not a member of any room this room admits members of');
    await rooms.join(space, bob);
    const joined = await rooms.join(restricted, bob);
    t.equal(joined.event.content.join_authorised_via_users_server, alice, 'alice vouched for bob');
    const current = await store.currentState(restricted);
    t.equal(current.get(stateKey('m.room.member', bob)), joined.event.eventId);
  });
});
