import t, { type Test } from 'tap';
import { createClientHistory, type MessagesQuery } from '../../src/rooms/client-history.js';
import { createClientRedact } from '../../src/rooms/client-redact.js';
import type { ClientEvent } from '../../src/rooms/index.js';
import type { Database } from '../../src/storage/index.js';
import { eachEngine } from '../helpers/database.js';
import { rejectsWith } from '../helpers/errors.js';
import { accepted, after, fakeEvent } from '../helpers/room-events.js';
import { roomWorld } from '../helpers/rooms.js';

const alice = { userId: '@alice:hearth.test', deviceId: 'A' };
const bob = { userId: '@bob:hearth.test', deviceId: 'B' };
const carol = { userId: '@carol:hearth.test', deviceId: 'C' };

/** Users and devices the transaction ids of redactions belong to. */
async function withDevices(db: Database): Promise<void> {
  for (const { userId, deviceId } of [alice, bob]) {
    await db.sql`insert into users (user_id, created_ts) values (${userId}, 0) on conflict do nothing`;
    await db.sql`insert into devices (user_id, device_id, created_ts) values (${userId}, ${deviceId}, 0) on conflict do nothing`;
  }
}

function world(t: Test, db: Database) {
  const base = roomWorld(t, db);
  const history = createClientHistory({ store: base.store, clock: base.clock });
  const redactions = createClientRedact({ rooms: base.rooms, store: base.store });
  const say = async (roomId: string, who: { userId: string }, body: string) =>
    (await base.rooms.send(roomId, { type: 'm.room.message', sender: who.userId, content: { msgtype: 'm.text', body } })).event.eventId;
  /** Every page backwards (or forwards) from the query's start until `end` is gone; the pages' events in order. */
  const pageAll = async (who: { userId: string; deviceId: string }, roomId: string, query: MessagesQuery) => {
    const events: ClientEvent[] = [];
    let from = query.from;
    for (let pages = 0; pages < 50; pages++) {
      const page = await history.messages(who, roomId, { ...query, ...(from === undefined ? {} : { from }) });
      events.push(...page.chunk);
      if (page.end === undefined) return { events, pages: pages + 1 };
      from = page.end;
    }
    throw new Error('pagination never ended');
  };
  const bodies = (events: readonly ClientEvent[]) =>
    events.filter((e) => e.type === 'm.room.message').map((e) => e.content.body);
  return { ...base, history, redactions, say, pageAll, bodies };
}

t.test('paging through a room', async (t) => {
  await eachEngine(t, 'back in pages of 10, then forwards, each message exactly once and in order', async (t, db) => {
    const { rooms, say, pageAll, bodies, history } = world(t, db);
    const { roomId } = await rooms.createRoom({ creator: alice.userId, roomVersion: '11', preset: 'public_chat' });
    const sent = Array.from({ length: 25 }, (_, i) => `m${i}`);
    for (const body of sent) await say(roomId, alice, body);

    const back = await pageAll(alice, roomId, { dir: 'b', limit: 10 });
    t.same(bodies(back.events), [...sent].reverse(), 'newest first, none twice, none missing');
    t.equal(back.events.at(-1)?.type, 'm.room.create', 'the last page reaches the room creation');
    t.equal(new Set(back.events.map((e) => e.event_id)).size, back.events.length, 'no event twice');

    const forward = await pageAll(alice, roomId, { dir: 'f', limit: 10 });
    t.same(forward.events.map((e) => e.event_id), back.events.map((e) => e.event_id).reverse(), 'forwards is the same history, oldest first');

    const first = await history.messages(alice, roomId, { dir: 'b', limit: 3 });
    t.same(bodies(first.chunk), ['m24', 'm23', 'm22']);
    t.match(first.start, /^t\d+$/);
    const next = await history.messages(alice, roomId, { dir: 'b', limit: 3, from: first.end! });
    t.same(bodies(next.chunk), ['m21', 'm20', 'm19'], 'the end token continues where the page stopped');
    const again = await history.messages(alice, roomId, { dir: 'f', limit: 3, from: next.end!, to: first.start });
    t.same(bodies(again.chunk), ['m19', 'm20', 'm21'], 'forwards from an end token returns the page just read');

    const all = await history.messages(alice, roomId, { dir: 'b', limit: 100 });
    t.ok(all.end, 'a page that reaches the start of the room still has an end (as Synapse answers)');
    const past = await history.messages(alice, roomId, { dir: 'b', limit: 100, from: all.end! });
    t.same([past.chunk, past.end], [[], undefined], 'the empty page after it has none: the client stops there');
  });

  await eachEngine(t, 'filters, limits and tokens', async (t, db) => {
    const { rooms, say, history, bodies } = world(t, db);
    const { roomId } = await rooms.createRoom({ creator: alice.userId, roomVersion: '10', preset: 'public_chat' });
    await rooms.join(roomId, bob.userId);
    await say(roomId, alice, 'a1');
    await say(roomId, bob, 'b1');
    await rooms.send(roomId, { type: 'm.room.message', sender: bob.userId, content: { msgtype: 'm.image', body: 'pic', url: 'mxc://hearth.test/x' } });

    const fromBob = await history.messages(alice, roomId, { dir: 'b', filter: JSON.stringify({ senders: [bob.userId], types: ['m.room.message'] }) });
    t.same(bodies(fromBob.chunk), ['pic', 'b1']);
    const withUrl = await history.messages(alice, roomId, { dir: 'b', filter: '{"contains_url":true}' });
    t.same(bodies(withUrl.chunk), ['pic']);
    const noMembers = await history.messages(alice, roomId, { dir: 'f', filter: '{"not_types":["m.room.*"]}' });
    t.same(noMembers.chunk, [], 'wildcards in not_types');
    const lazy = await history.messages(alice, roomId, { dir: 'b', limit: 2, filter: '{"lazy_load_members":true,"types":["m.room.message"]}' });
    t.same(lazy.state?.map((e) => e.state_key), [bob.userId], 'lazy-loading sends the member events of the senders in the chunk');
    t.same((await history.messages(alice, roomId, { dir: 'b', limit: 0 })).chunk, [], 'limit 0 gives no events');
    t.ok((await history.messages(alice, roomId, { dir: 'b', limit: 5000 })).chunk.length > 0, 'a huge limit is clamped, not refused');

    await rejectsWith(t, history.messages(alice, roomId, { dir: 'b', from: 'garbage' }), 'M_INVALID_PARAM');
    await rejectsWith(t, history.messages(alice, roomId, { dir: 'b', from: 't-03' }), 'M_INVALID_PARAM');
    await rejectsWith(t, history.messages(alice, roomId, { dir: 'b', filter: '{"types":"m.room.message"}' }), 'M_INVALID_PARAM');
    await rejectsWith(t, history.messages(alice, roomId, { dir: 'b', filter: 'not json' }), 'M_INVALID_PARAM');
    const viaSyncToken = await history.messages(alice, roomId, { dir: 'b', from: 's999999_0_0', limit: 1 });
    t.same(bodies(viaSyncToken.chunk), ['pic'], 'a sync token is accepted as from');
    await rejectsWith(t, history.messages(carol, roomId, { dir: 'b' }), 'M_FORBIDDEN', /not in room/);
    await rejectsWith(t, history.messages(alice, '!nowhere:hearth.test', { dir: 'b' }), 'M_FORBIDDEN');
  });

  await eachEngine(t, 'soft-failed events are never served', async (t, db) => {
    const { rooms, store, say, pageAll, bodies, history } = world(t, db);
    const { roomId } = await rooms.createRoom({ creator: alice.userId, roomVersion: '10', preset: 'public_chat' });
    const before = await say(roomId, alice, 'before');
    const ghost = fakeEvent({ id: '$ghost:remote.test', roomId, sender: '@mallory:remote.test', prev: [before], content: { body: 'ghost' } });
    await store.withRoomWriteLock(roomId, (tx) => tx.persistEvents(roomId, [{ ...accepted(ghost, after(before)), softFailed: true }]));
    await say(roomId, alice, 'after');
    t.same(bodies((await pageAll(alice, roomId, { dir: 'b' })).events), ['after', 'before']);
    await rejectsWith(t, history.event(alice, roomId, '$ghost:remote.test'), 'M_NOT_FOUND');
  });
});

t.test('history visibility', async (t) => {
  await eachEngine(t, "a late joiner of a 'joined' room sees only what came after their join", async (t, db) => {
    const { rooms, say, pageAll, bodies, history } = world(t, db);
    const { roomId } = await rooms.createRoom({
      creator: alice.userId, roomVersion: '11', preset: 'public_chat',
      initialState: [{ type: 'm.room.history_visibility', stateKey: '', content: { history_visibility: 'joined' } }],
    });
    const early = await say(roomId, alice, 'secret');
    await rooms.join(roomId, bob.userId);
    await say(roomId, alice, 'welcome');
    const seen = (await pageAll(bob, roomId, { dir: 'b', limit: 10 })).events;
    t.same(bodies(seen), ['welcome'], 'bob does not see the earlier message');
    t.ok(seen.some((e) => e.type === 'm.room.member' && e.state_key === bob.userId), 'bob sees his own join');
    t.same(bodies((await pageAll(alice, roomId, { dir: 'b' })).events), ['welcome', 'secret'], 'alice sees everything');
    await rejectsWith(t, history.event(bob, roomId, early), 'M_NOT_FOUND', undefined, '/event hides it too');
    await rejectsWith(t, history.context(bob, roomId, early, {}), 'M_NOT_FOUND', undefined, '/context hides it too');
  });

  await eachEngine(t, "'shared' shows earlier history to a new member; 'invited' from the invite on", async (t, db) => {
    const { rooms, say, pageAll, bodies } = world(t, db);
    const shared = (await rooms.createRoom({ creator: alice.userId, roomVersion: '10', preset: 'public_chat' })).roomId;
    await say(shared, alice, 'old news');
    await rooms.join(shared, bob.userId);
    t.same(bodies((await pageAll(bob, shared, { dir: 'b' })).events), ['old news']);

    const invited = (await rooms.createRoom({
      creator: alice.userId, roomVersion: '10', preset: 'private_chat',
      initialState: [{ type: 'm.room.history_visibility', stateKey: '', content: { history_visibility: 'invited' } }],
    })).roomId;
    await say(invited, alice, 'before invite');
    await rooms.invite(invited, alice.userId, bob.userId);
    await say(invited, alice, 'while invited');
    await rooms.join(invited, bob.userId);
    await say(invited, alice, 'joined');
    t.same(bodies((await pageAll(bob, invited, { dir: 'b' })).events), ['joined', 'while invited']);
  });

  await eachEngine(t, 'a user who left reads up to their leaving, and a world-readable room is open to all', async (t, db) => {
    const { rooms, say, pageAll, bodies, history } = world(t, db);
    const { roomId } = await rooms.createRoom({ creator: alice.userId, roomVersion: '11', preset: 'public_chat' });
    await rooms.join(roomId, bob.userId);
    await say(roomId, alice, 'while bob is here');
    await rooms.leave(roomId, bob.userId);
    await say(roomId, alice, 'after bob left');
    const seen = (await pageAll(bob, roomId, { dir: 'b' })).events;
    t.same(bodies(seen), ['while bob is here']);
    t.equal(seen[0]?.content.membership, 'leave', 'the newest event bob sees is his leave');
    t.same(bodies((await pageAll(bob, roomId, { dir: 'f' })).events), ['while bob is here'], 'forwards too');

    await rooms.send(roomId, { type: 'm.room.history_visibility', stateKey: '', sender: alice.userId, content: { history_visibility: 'world_readable' } });
    await say(roomId, alice, 'for everyone');
    const stranger = (await pageAll(carol, roomId, { dir: 'b' })).events;
    t.same(bodies(stranger), ['for everyone'], 'a stranger reads what was sent while the room was world-readable');
    t.match(await history.event(carol, roomId, stranger[0]!.event_id), { content: { body: 'for everyone' } });
  });
});

t.test('redactions', async (t) => {
  await eachEngine(t, 'redacted events are served without their content, with the redaction', async (t, db) => {
    const { rooms, say, history, redactions } = world(t, db);
    await withDevices(db);
    for (const roomVersion of ['10', '11']) {
      const { roomId } = await rooms.createRoom({ creator: alice.userId, roomVersion, preset: 'public_chat' });
      await rooms.join(roomId, bob.userId);
      const aliceSaid = await say(roomId, alice, 'oops');
      const bobSaid = await say(roomId, bob, 'rude');
      await rejectsWith(t, redactions.redact(bob, roomId, aliceSaid, 't1'), 'M_FORBIDDEN', /power/, `v${roomVersion}: bob cannot redact alice's message`);
      const own = await redactions.redact(alice, roomId, aliceSaid, 't1', { reason: 'typo' });
      t.equal(await redactions.redact(alice, roomId, aliceSaid, 't1', { reason: 'typo' }), own, 'the same transaction gives the same redaction');
      const moderated = await redactions.redact(alice, roomId, bobSaid, 't2');
      t.not(moderated, own, 'a moderator redacts another member');
      t.equal(await redactions.redact(bob, roomId, '$unknown:hearth.test', 't3'), await redactions.redact(bob, roomId, '$unknown:hearth.test', 't3'));

      const served = await history.event(bob, roomId, aliceSaid);
      t.same(served.content, {}, `v${roomVersion}: no body left`);
      t.equal(served.unsigned.redacted_because?.event_id, own);
      t.match(served.unsigned.redacted_because, { type: 'm.room.redaction', sender: alice.userId, content: { reason: 'typo' } });
      const page = await history.messages(bob, roomId, { dir: 'b', limit: 5 });
      const redaction = page.chunk.find((e) => e.event_id === own);
      t.equal(roomVersion === '11' ? redaction?.content.redacts : redaction?.redacts, aliceSaid, 'the redaction names its target');
      t.same(page.chunk.find((e) => e.event_id === bobSaid)?.content, {}, "bob's message is redacted too");
      const context = await history.context(bob, roomId, bobSaid, { limit: 2 });
      t.same(context.event.content, {}, '/context serves it redacted');
      t.equal(context.events_before[0]?.unsigned.redacted_because?.event_id, own);
    }
  });

  await eachEngine(t, "a redaction from another server without the power to redact does not apply", async (t, db) => {
    const { rooms, store, say, history } = world(t, db);
    const { roomId } = await rooms.createRoom({ creator: alice.userId, roomVersion: '10', preset: 'public_chat' });
    const said = await say(roomId, alice, 'mine');
    const forged = { ...fakeEvent({ id: '$forged:remote.test', roomId, type: 'm.room.redaction', sender: '@mallory:remote.test', prev: [said], content: {} }), redacts: said };
    await store.withRoomWriteLock(roomId, (tx) => tx.persistEvents(roomId, [accepted(forged, after(said))]));
    t.same((await history.event(alice, roomId, said)).content, { msgtype: 'm.text', body: 'mine' });
  });
});

t.test('context, members and forgetting', async (t) => {
  await eachEngine(t, 'context splits the limit around the event and gives the state at the last one', async (t, db) => {
    const { rooms, say, history, bodies } = world(t, db);
    const { roomId } = await rooms.createRoom({ creator: alice.userId, roomVersion: '11', preset: 'public_chat' });
    const ids = [];
    for (let i = 0; i < 7; i++) ids.push(await say(roomId, alice, `c${i}`));
    await rooms.join(roomId, bob.userId);
    const context = await history.context(alice, roomId, ids[3]!, { limit: 4 });
    t.equal(context.event.content.body, 'c3');
    t.same(bodies(context.events_before), ['c2', 'c1']);
    t.same(bodies(context.events_after), ['c4', 'c5']);
    t.notOk(context.state.some((e) => e.state_key === bob.userId), 'bob had not joined at c5');
    t.ok(context.state.some((e) => e.type === 'm.room.create'));
    const fromStart = await history.messages(alice, roomId, { dir: 'b', from: context.start, limit: 1 });
    t.same(bodies(fromStart.chunk), ['c0'], 'start continues backwards');
    const fromEnd = await history.messages(alice, roomId, { dir: 'f', from: context.end, limit: 1 });
    t.same(bodies(fromEnd.chunk), ['c6'], 'end continues forwards');
    const lazy = await history.context(alice, roomId, ids[3]!, { limit: 2, filter: '{"lazy_load_members":true}' });
    t.same(lazy.state.filter((e) => e.type === 'm.room.member').map((e) => e.state_key), [alice.userId]);
    await rejectsWith(t, history.context(alice, roomId, '$nope:hearth.test', {}), 'M_NOT_FOUND');
    await rejectsWith(t, history.context(carol, roomId, ids[0]!, {}), 'M_FORBIDDEN');
  });

  await eachEngine(t, 'members now, at a token, by membership', async (t, db) => {
    const { rooms, history } = world(t, db);
    const { roomId } = await rooms.createRoom({ creator: alice.userId, roomVersion: '11', preset: 'public_chat' });
    const early = await history.messages(alice, roomId, { dir: 'b', limit: 1 });
    await rooms.join(roomId, bob.userId);
    await rooms.invite(roomId, alice.userId, carol.userId);
    const members = (events: readonly ClientEvent[]) => events.map((e) => `${e.state_key}=${String(e.content.membership)}`).sort();
    t.same(members(await history.members(bob, roomId, {})), [`${alice.userId}=join`, `${bob.userId}=join`, `${carol.userId}=invite`]);
    t.same(members(await history.members(bob, roomId, { at: early.start })), [`${alice.userId}=join`], 'at a token: the members then');
    t.same(members(await history.members(bob, roomId, { membership: 'invite' })), [`${carol.userId}=invite`]);
    t.same(members(await history.members(bob, roomId, { notMembership: 'join' })), [`${carol.userId}=invite`]);
    await rejectsWith(t, history.members(carol, roomId, {}), 'M_FORBIDDEN', undefined, 'an invitee does not read the members');
    await rooms.leave(roomId, bob.userId);
    await rooms.join(roomId, carol.userId);
    t.same(members(await history.members(bob, roomId, {})), [`${alice.userId}=join`, `${bob.userId}=leave`, `${carol.userId}=invite`], 'who left sees the members as they left');
  });

  await eachEngine(t, 'forgetting a left room closes it until the user comes back', async (t, db) => {
    const { rooms, store, history, say } = world(t, db);
    const { roomId } = await rooms.createRoom({ creator: alice.userId, roomVersion: '11', preset: 'public_chat' });
    await rooms.join(roomId, bob.userId);
    await say(roomId, alice, 'hello');
    await rejectsWith(t, history.forget(bob, roomId), 'M_UNKNOWN', /is in room/, 'a member must leave first');
    await rooms.leave(roomId, bob.userId);
    await history.forget(bob, roomId);
    await history.forget(bob, roomId);
    t.same(await store.forgottenRooms(bob.userId), [roomId]);
    t.same(await store.forgottenRooms(alice.userId), []);
    await rejectsWith(t, history.messages(bob, roomId, { dir: 'b' }), 'M_FORBIDDEN', /forgotten/);
    await history.forget(carol, roomId);
    t.same(await store.forgottenRooms(carol.userId), [], 'a stranger forgets nothing');
    await rooms.join(roomId, bob.userId);
    t.same(await store.forgottenRooms(bob.userId), [], 'joining again brings the room back');
    t.ok((await history.messages(bob, roomId, { dir: 'b' })).chunk.length > 0);
  });

  await eachEngine(t, 'timestamp_to_event finds the nearest event either way', async (t, db) => {
    const { rooms, say, history, clock } = world(t, db);
    const { roomId } = await rooms.createRoom({ creator: alice.userId, roomVersion: '11', preset: 'public_chat' });
    const now = clock.now();
    const last = await say(roomId, alice, 'latest');
    t.match(await history.timestampToEvent(alice, roomId, now + 1000, 'b'), { event_id: last, origin_server_ts: now });
    t.match(await history.timestampToEvent(alice, roomId, 0, 'f'), { origin_server_ts: now });
    await rejectsWith(t, history.timestampToEvent(alice, roomId, now + 1000, 'f'), 'M_NOT_FOUND');
  });
});
