import t from 'tap';
import { eachEngine } from '../../helpers/database.js';
import { roomPath, type TestClient, threeUsers } from '../../helpers/client.js';


interface Hit {
  readonly rank: number;
  readonly result: { event_id: string; room_id: string; sender: string; content: { body?: string } };
  readonly context?: any;
}

const world = threeUsers;

let txn = 0;
async function say(client: TestClient, roomId: string, body: string): Promise<string> {
  const res = await client.send(roomId, body, `s${txn++}`);
  if (res.status !== 200) throw new Error(`send failed: ${JSON.stringify(res.body)}`);
  return res.body.event_id as string;
}

function search(client: TestClient, criteria: Record<string, unknown>, nextBatch?: string) {
  const query = nextBatch === undefined ? '' : `?next_batch=${encodeURIComponent(nextBatch)}`;
  return client.post(`/search${query}`, { search_categories: { room_events: criteria } });
}

const bodies = (results: readonly Hit[]) => results.map((r) => r.result.content.body);

t.test('a word finds messages in the rooms the user is in, and only there', async (t) => {
  await eachEngine(t, 'joined rooms, stemming, keys, count and highlights', async (t, db) => {
    const { alice, bob } = await world(t, db);
    const shared = await alice.createRoom({ preset: 'public_chat', name: 'Martian club', topic: 'all about martians' });
    t.equal((await bob.post(`${roomPath(shared)}/join`)).status, 200);
    const secret = await alice.createRoom({ preset: 'private_chat' });
    await say(alice, shared, 'The Martians have landed');
    await say(bob, shared, 'nothing to see here');
    await say(alice, secret, 'martian secrets');

    const res = await search(bob, { search_term: 'martian', keys: ['content.body'] });
    t.equal(res.status, 200);
    const events = res.body.search_categories.room_events;
    t.same(bodies(events.results), ['The Martians have landed'], 'stemmed match, only in the shared room');
    t.equal(events.count, 1);
    t.ok(events.results[0].rank > 0, 'a positive rank');
    t.same(events.highlights, ['Martians'], 'the word as it matched');
    t.equal(events.next_batch, undefined, 'nothing more');

    const all = (await search(alice, { search_term: 'martians' })).body.search_categories.room_events;
    const types = all.results.map((r: { result: { type: string } }) => r.result.type).sort();
    t.same(types, ['m.room.message', 'm.room.message', 'm.room.name', 'm.room.topic'], 'body, name and topic by default');
    const none = (await search(bob, { search_term: 'secrets' })).body.search_categories.room_events;
    t.same([none.results, none.count], [[], 0], 'nothing from a room bob is not in');
  });
});

t.test('rank and recent order, filters by room and sender', async (t) => {
  await eachEngine(t, 'order_by and filter', async (t, db) => {
    const { alice, bob } = await world(t, db);
    const one = await alice.createRoom({ preset: 'public_chat' });
    const two = await alice.createRoom({ preset: 'public_chat' });
    await bob.post(`${roomPath(one)}/join`);
    await bob.post(`${roomPath(two)}/join`);
    await say(alice, one, 'cats cats cats, all the cats');
    await say(bob, one, 'one of the cats');
    await say(bob, two, 'cats in room two');

    const ranked = (await search(alice, { search_term: 'cats' })).body.search_categories.room_events.results as Hit[];
    t.equal(ranked[0]!.result.content.body, 'cats cats cats, all the cats', 'most relevant first');
    t.ok(ranked.every((r, i) => i === 0 || ranked[i - 1]!.rank >= r.rank), 'ranks descend');
    const recent = (await search(alice, { search_term: 'cats', order_by: 'recent' })).body.search_categories.room_events.results;
    t.same(bodies(recent), ['cats in room two', 'one of the cats', 'cats cats cats, all the cats'], 'newest first');

    const inOne = (await search(alice, { search_term: 'cats', order_by: 'recent', filter: { rooms: [one] } })).body.search_categories.room_events;
    t.same(bodies(inOne.results), ['one of the cats', 'cats cats cats, all the cats']);
    const byBob = (await search(alice, { search_term: 'cats', order_by: 'recent', filter: { senders: [bob.user] } })).body.search_categories.room_events;
    t.same(bodies(byBob.results), ['cats in room two', 'one of the cats']);
    const notBob = (await search(alice, { search_term: 'cats', filter: { not_senders: [bob.user], not_rooms: [two] } })).body.search_categories.room_events;
    t.same(bodies(notBob.results), ['cats cats cats, all the cats']);
  });
});

t.test('next_batch pages through every result once', async (t) => {
  await eachEngine(t, 'paging in both orders', async (t, db) => {
    const { alice } = await world(t, db);
    const roomId = await alice.createRoom({ preset: 'private_chat' });
    for (let i = 0; i < 23; i++) await say(alice, roomId, `apple number ${i}${i % 3 === 0 ? ' apple' : ''}`);
    for (const order of ['recent', 'rank'] as const) {
      const seen: string[] = [];
      let next: string | undefined;
      for (let page = 0; page < 10; page++) {
        const res = await search(alice, { search_term: 'apple', order_by: order, filter: { limit: 10 } }, next);
        t.equal(res.status, 200);
        const events = res.body.search_categories.room_events;
        t.ok(events.results.length <= 10);
        seen.push(...bodies(events.results).map(String));
        next = events.next_batch;
        if (next === undefined) break;
      }
      t.equal(seen.length, 23, `${order}: 23 results`);
      t.equal(new Set(seen).size, 23, `${order}: each once`);
    }
    const wrongOrder = await search(alice, { search_term: 'apple', order_by: 'recent', filter: { limit: 5 } });
    const reused = await search(alice, { search_term: 'apple', order_by: 'rank' }, wrongOrder.body.search_categories.room_events.next_batch);
    t.same([reused.status, reused.body.errcode], [400, 'M_INVALID_PARAM'], 'a token of another order is refused');
  });
});

t.test('event context with profiles, groups and state', async (t) => {
  await eachEngine(t, 'event_context, groupings, include_state', async (t, db) => {
    const { alice, bob } = await world(t, db);
    const roomId = await alice.createRoom({ preset: 'public_chat', name: 'Garden' });
    const other = await alice.createRoom({ preset: 'private_chat' });
    await bob.post(`${roomPath(roomId)}/join`);
    await bob.put(`${roomPath(roomId)}/state/m.room.member/${encodeURIComponent(bob.user)}`, {
      membership: 'join', displayname: 'Bob B', avatar_url: 'mxc://hearth.test/bob',
    });
    await say(alice, roomId, 'before one');
    await say(alice, roomId, 'before two');
    const hit = await say(bob, roomId, 'tomatoes are ripe');
    await say(alice, roomId, 'after one');
    await say(alice, other, 'tomatoes elsewhere');

    const res = await search(alice, {
      search_term: 'tomatoes',
      order_by: 'recent',
      event_context: { before_limit: 2, after_limit: 1, include_profile: true },
      groupings: { group_by: [{ key: 'room_id' }, { key: 'sender' }] },
      include_state: true,
    });
    t.equal(res.status, 200);
    const events = res.body.search_categories.room_events;
    const found = (events.results as Hit[]).find((r) => r.result.event_id === hit)!;
    t.ok(found, 'the message is found');
    const context = found.context;
    t.same(context.events_before.map((e: { content: { body: string } }) => e.content.body), ['before two', 'before one'], 'newest first before');
    t.same(context.events_after.map((e: { content: { body: string } }) => e.content.body), ['after one']);
    t.match(context.start, /^t\d+$/);
    t.match(context.end, /^t\d+$/);
    t.same(context.profile_info[bob.user], { displayname: 'Bob B', avatar_url: 'mxc://hearth.test/bob' });
    t.ok(context.profile_info[alice.user], 'every sender has a profile entry');

    t.same(events.groups.room_id[roomId].results, [hit]);
    t.same(Object.keys(events.groups.room_id).sort(), [roomId, other].sort());
    t.same(new Set([events.groups.room_id[roomId].order, events.groups.room_id[other].order]), new Set([1, 2]));
    t.same(events.groups.sender[bob.user].results, [hit]);
    const name = events.state[roomId].find((e: { type: string }) => e.type === 'm.room.name');
    t.equal(name.content.name, 'Garden', 'the current state of each room in the results');
  });
});

t.test('redacted and hidden events are not found', async (t) => {
  await eachEngine(t, 'redactions, leaving', async (t, db) => {
    const { alice, bob } = await world(t, db);
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    await bob.post(`${roomPath(roomId)}/join`);
    const gone = await say(alice, roomId, 'a regrettable pineapple');
    await say(alice, roomId, 'a fine pineapple');
    t.equal((await alice.put(`${roomPath(roomId)}/redact/${encodeURIComponent(gone)}/r1`, { reason: 'oops' })).status, 200);
    const res = (await search(bob, { search_term: 'pineapple' })).body.search_categories.room_events;
    t.same(bodies(res.results), ['a fine pineapple'], 'the redacted message is not found');

    t.equal((await bob.post(`${roomPath(roomId)}/leave`)).status, 200);
    await say(alice, roomId, 'pineapple after bob left');
    const afterLeave = (await search(bob, { search_term: 'pineapple', order_by: 'recent' })).body.search_categories.room_events;
    t.same(bodies(afterLeave.results), ['a fine pineapple'], 'a left room is searched up to the leave');
  });
});

t.test('bad requests', async (t) => {
  await eachEngine(t, 'spec errcodes', async (t, db) => {
    const { alice } = await world(t, db);
    const missing = await alice.post('/search', {});
    t.same([missing.status, missing.body.errcode], [400, 'M_BAD_JSON'], 'no search_categories');
    const order = await alice.post('/search', { search_categories: { room_events: { search_term: 'x', order_by: 'oldest' } } });
    t.same([order.status, order.body.errcode], [400, 'M_BAD_JSON'], 'unknown order_by');
    const batch = await search(alice, { search_term: 'x' }, 'not-a-token');
    t.same([batch.status, batch.body.errcode], [400, 'M_INVALID_PARAM'], 'bad next_batch');
    const other = await alice.post('/search', { search_categories: { users: { search_term: 'x' } } });
    t.same([other.status, other.body.errcode], [400, 'M_UNKNOWN'], 'only room_events is searched');
    const stop = (await search(alice, { search_term: 'the' })).body.search_categories.room_events;
    t.same([stop.results, stop.count], [[], 0], 'only stop words find nothing');
  });
});

t.test('a group next_batch pages on within its group', async (t) => {
  await eachEngine(t, 'group paging', async (t, db) => {
    const { alice } = await world(t, db);
    const one = await alice.createRoom({ preset: 'private_chat' });
    const two = await alice.createRoom({ preset: 'private_chat' });
    for (let i = 0; i < 12; i++) {
      await say(alice, one, `plum ${i} in one`);
      await say(alice, two, `plum ${i} in two`);
    }
    const criteria = { search_term: 'plum', order_by: 'recent', filter: { limit: 5 }, groupings: { group_by: [{ key: 'room_id' }] } };
    const first = (await search(alice, criteria)).body.search_categories.room_events;
    const seen: string[] = [...first.groups.room_id[one].results];
    let next: string | undefined = first.groups.room_id[one].next_batch;
    t.ok(next, 'the group has a token while more may follow');
    for (let page = 0; page < 10 && next !== undefined; page++) {
      const res = (await search(alice, criteria, next)).body.search_categories.room_events;
      t.same(Object.keys(res.groups.room_id), res.results.length === 0 ? [] : [one], 'only results of that room');
      seen.push(...res.groups.room_id[one]?.results ?? []);
      next = res.next_batch;
    }
    t.equal(new Set(seen).size, 12, 'every result of the room once');
    t.equal(seen.length, 12);
  });
});
