import t from 'tap';
import { roomPath, type TestClient, threeUsers } from '../../helpers/client.js';
import { eachEngine } from '../../helpers/database.js';

const v1 = (roomId: string) => `/_matrix/client/v1/rooms/${encodeURIComponent(roomId)}`;
const relationsPath = (roomId: string, eventId: string, ...rest: string[]) =>
  `${v1(roomId)}/relations/${[eventId, ...rest].map(encodeURIComponent).join('/')}`;

const world = threeUsers;

let txn = 0;
async function sendEvent(client: TestClient, roomId: string, type: string, content: Record<string, unknown>): Promise<string> {
  const res = await client.put(`${roomPath(roomId)}/send/${encodeURIComponent(type)}/r${txn++}`, content);
  if (res.status !== 200) throw new Error(`send failed: ${JSON.stringify(res.body)}`);
  return res.body.event_id as string;
}
const say = async (client: TestClient, roomId: string, body: string) => (await client.send(roomId, body, `s${txn++}`)).body.event_id as string;
const react = (client: TestClient, roomId: string, target: string, key: string) =>
  sendEvent(client, roomId, 'm.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: target, key } });
const reply = (client: TestClient, roomId: string, root: string, body: string) =>
  sendEvent(client, roomId, 'm.room.message', { msgtype: 'm.text', body, 'm.relates_to': { rel_type: 'm.thread', event_id: root } });
const edit = (client: TestClient, roomId: string, target: string, body: string) =>
  sendEvent(client, roomId, 'm.room.message', {
    msgtype: 'm.text', body: `* ${body}`, 'm.new_content': { msgtype: 'm.text', body }, 'm.relates_to': { rel_type: 'm.replace', event_id: target },
  });
const ids = (chunk: Array<{ event_id: string }>) => chunk.map((e) => e.event_id);

t.test('GET /relations lists children, filtered and paged', async (t) => {
  await eachEngine(t, 'reactions and a reference', async (t, db) => {
    const { alice, bob, carol } = await world(t, db);
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    await bob.post(`${roomPath(roomId)}/join`);
    const parent = await say(alice, roomId, 'react to me');
    const reactions: string[] = [];
    for (let i = 0; i < 7; i++) reactions.push(await react(i % 2 === 0 ? bob : alice, roomId, parent, `k${i}`));
    const reference = await sendEvent(bob, roomId, 'm.room.message', {
      msgtype: 'm.text', body: 'see above', 'm.relates_to': { rel_type: 'm.reference', event_id: parent },
    });
    await say(alice, roomId, 'unrelated');

    const all = await bob.get(relationsPath(roomId, parent));
    t.equal(all.status, 200);
    t.same(ids(all.body.chunk), [...reactions, reference].reverse().slice(0, 5), 'newest first, 5 by default');
    t.match(all.body.next_batch, /^t\d+$/);
    t.notOk('recursion_depth' in all.body);

    const seen: string[] = [];
    let from: string | undefined;
    for (let page = 0; page < 10; page++) {
      const res = await bob.get(`${relationsPath(roomId, parent, 'm.annotation', 'm.reaction')}?limit=3${from ? `&from=${from}` : ''}`);
      t.equal(res.status, 200);
      t.ok(res.body.chunk.length <= 3);
      seen.push(...ids(res.body.chunk));
      if (from !== undefined) t.equal(res.body.prev_batch, from);
      if (res.body.next_batch === undefined) break;
      from = res.body.next_batch;
    }
    t.same(seen, [...reactions].reverse(), 'every reaction once, newest first, no reference');

    const forwards = await bob.get(`${relationsPath(roomId, parent, 'm.annotation')}?dir=f&limit=2`);
    t.same(ids(forwards.body.chunk), reactions.slice(0, 2), 'oldest first with dir=f');
    const rest = await bob.get(`${relationsPath(roomId, parent, 'm.annotation')}?dir=f&limit=50&from=${forwards.body.next_batch}`);
    t.same(ids(rest.body.chunk), reactions.slice(2));
    t.notOk(rest.body.next_batch, 'no more after the last');
    const byType = await bob.get(relationsPath(roomId, parent, 'm.reference'));
    t.same(ids(byType.body.chunk), [reference]);
    t.same((await bob.get(relationsPath(roomId, parent, 'm.annotation', 'm.room.message'))).body.chunk, []);

    const bad = await bob.get(`${relationsPath(roomId, parent)}?from=nonsense`);
    t.same([bad.status, bad.body.errcode], [400, 'M_INVALID_PARAM']);
    const badTo = await bob.get(`${relationsPath(roomId, parent)}?to=s_x`);
    t.same([badTo.status, badTo.body.errcode], [400, 'M_INVALID_PARAM']);
    const stranger = await carol.get(relationsPath(roomId, parent));
    t.same([stranger.status, stranger.body.errcode], [403, 'M_FORBIDDEN']);
    const missing = await bob.get(relationsPath(roomId, '$nope:hearth.test'));
    t.same([missing.status, missing.body.errcode], [404, 'M_NOT_FOUND']);

    // A redacted reaction no longer relates to anything.
    await alice.put(`${roomPath(roomId)}/redact/${encodeURIComponent(reactions[0]!)}/x1`, {});
    const afterRedaction = await bob.get(`${relationsPath(roomId, parent, 'm.annotation')}?limit=50`);
    t.notOk(ids(afterRedaction.body.chunk).includes(reactions[0]!));
    t.equal(afterRedaction.body.chunk.length, 6);
  });

  await eachEngine(t, 'a parent hidden by history visibility is not found', async (t, db) => {
    const { alice, bob } = await world(t, db);
    const roomId = await alice.createRoom({ preset: 'private_chat', initial_state: [
      { type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'joined' } },
    ] });
    const secret = await say(alice, roomId, 'before bob');
    await react(alice, roomId, secret, 'x');
    await alice.post(`${roomPath(roomId)}/invite`, { user_id: bob.user });
    await bob.post(`${roomPath(roomId)}/join`);
    const hidden = await bob.get(relationsPath(roomId, secret));
    t.same([hidden.status, hidden.body.errcode], [404, 'M_NOT_FOUND']);
    const later = await say(alice, roomId, 'after bob');
    const reaction = await react(bob, roomId, later, 'y');
    t.same(ids((await bob.get(relationsPath(roomId, later))).body.chunk), [reaction]);
  });
});

t.test('recurse follows relations of relations', async (t) => {
  await eachEngine(t, 'three levels', async (t, db) => {
    const { alice } = await world(t, db);
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    const root = await say(alice, roomId, 'root');
    const inThread = await reply(alice, roomId, root, 'in thread');
    const reaction = await react(alice, roomId, inThread, 'deep');
    const deeper = await react(alice, roomId, reaction, 'deeper');
    const tooDeep = await react(alice, roomId, deeper, 'too deep');

    const direct = await alice.get(relationsPath(roomId, root));
    t.same(ids(direct.body.chunk), [inThread]);
    const recursed = await alice.get(`${relationsPath(roomId, root)}?recurse=true&limit=10`);
    t.equal(recursed.status, 200);
    t.same(ids(recursed.body.chunk), [deeper, reaction, inThread], 'three levels, newest first');
    t.notOk(ids(recursed.body.chunk).includes(tooDeep));
    t.equal(recursed.body.recursion_depth, 3);
    const filtered = await alice.get(`${relationsPath(roomId, root, 'm.annotation')}?recurse=true&limit=10`);
    t.same(ids(filtered.body.chunk), [deeper, reaction], 'the rel_type filter applies at every level');
    const off = await alice.get(`${relationsPath(roomId, root)}?recurse=false`);
    t.same(ids(off.body.chunk), [inThread]);
    t.equal(off.body.recursion_depth, 1);
  });
});

t.test('bundled aggregations', async (t) => {
  await eachEngine(t, 'an edit is bundled as m.replace', async (t, db) => {
    const { alice, bob } = await world(t, db);
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    await bob.post(`${roomPath(roomId)}/join`);
    const original = await say(alice, roomId, 'teh cake');
    const first = await edit(alice, roomId, original, 'the cake');
    const second = await edit(alice, roomId, original, 'the chocolate cake');
    await edit(bob, roomId, original, 'not yours to edit');

    const event = await bob.get(`${roomPath(roomId)}/event/${encodeURIComponent(original)}`);
    t.equal(event.status, 200);
    t.equal(event.body.content.body, 'teh cake', 'the content is left alone');
    t.equal(event.body.unsigned['m.relations']['m.replace'].event_id, second, 'the latest edit by the sender');
    t.equal(event.body.unsigned['m.relations']['m.replace'].content['m.new_content'].body, 'the chocolate cake');

    const page = await bob.get(`${roomPath(roomId)}/messages?dir=b&limit=10`);
    const served = page.body.chunk.find((e: { event_id: string }) => e.event_id === original);
    t.equal(served.unsigned['m.relations']['m.replace'].event_id, second);
    const firstServed = page.body.chunk.find((e: { event_id: string }) => e.event_id === first);
    t.notOk(firstServed.unsigned['m.relations'], 'an edit with no children has no bundle');
    const context = await bob.get(`${roomPath(roomId)}/context/${encodeURIComponent(original)}?limit=2`);
    t.equal(context.body.event.unsigned['m.relations']['m.replace'].event_id, second);

    await alice.put(`${roomPath(roomId)}/redact/${encodeURIComponent(second)}/x1`, {});
    const afterEditRedacted = await bob.get(`${roomPath(roomId)}/event/${encodeURIComponent(original)}`);
    t.equal(afterEditRedacted.body.unsigned['m.relations']['m.replace'].event_id, first, 'a redacted edit falls away');
    await alice.put(`${roomPath(roomId)}/redact/${encodeURIComponent(original)}/x2`, {});
    const redacted = await bob.get(`${roomPath(roomId)}/event/${encodeURIComponent(original)}`);
    t.notOk(redacted.body.unsigned['m.relations'], 'a redacted event bundles nothing');
  });

  await eachEngine(t, 'threads: m.thread bundles and GET /threads', async (t, db) => {
    const { alice, bob, carol } = await world(t, db);
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    await bob.post(`${roomPath(roomId)}/join`);
    const older = await say(alice, roomId, 'first thread');
    const newer = await say(bob, roomId, 'second thread');
    await reply(alice, roomId, older, 'a');
    await reply(bob, roomId, newer, 'b');
    const latest = await reply(bob, roomId, older, 'c');
    const referenced = await sendEvent(alice, roomId, 'm.room.message', {
      msgtype: 'm.text', body: 'ref', 'm.relates_to': { rel_type: 'm.reference', event_id: latest },
    });

    const root = await alice.get(`${roomPath(roomId)}/event/${encodeURIComponent(older)}`);
    const thread = root.body.unsigned['m.relations']['m.thread'];
    t.equal(thread.count, 2);
    t.equal(thread.latest_event.event_id, latest);
    t.equal(thread.current_user_participated, true);
    t.same(thread.latest_event.unsigned['m.relations']['m.reference'], { chunk: [{ event_id: referenced }] },
      'the latest event has its own aggregations');
    const asBob = await bob.get(`${roomPath(roomId)}/event/${encodeURIComponent(newer)}`);
    t.equal(asBob.body.unsigned['m.relations']['m.thread'].current_user_participated, true);
    const asAlice = await alice.get(`${roomPath(roomId)}/event/${encodeURIComponent(newer)}`);
    t.equal(asAlice.body.unsigned['m.relations']['m.thread'].current_user_participated, false);

    const all = await alice.get(`${v1(roomId)}/threads`);
    t.equal(all.status, 200);
    t.same(ids(all.body.chunk), [older, newer], 'by latest activity');
    t.equal(all.body.chunk[0].unsigned['m.relations']['m.thread'].count, 2);
    t.notOk(all.body.next_batch);
    const participated = await alice.get(`${v1(roomId)}/threads?include=participated`);
    t.same(ids(participated.body.chunk), [older]);
    const paged = await bob.get(`${v1(roomId)}/threads?limit=1`);
    t.same(ids(paged.body.chunk), [older]);
    const next = await bob.get(`${v1(roomId)}/threads?limit=1&from=${paged.body.next_batch}`);
    t.same(ids(next.body.chunk), [newer]);

    const bad = await alice.get(`${v1(roomId)}/threads?from=zzz`);
    t.same([bad.status, bad.body.errcode], [400, 'M_INVALID_PARAM']);
    const stranger = await carol.get(`${v1(roomId)}/threads`);
    t.same([stranger.status, stranger.body.errcode], [403, 'M_FORBIDDEN']);
  });
});
