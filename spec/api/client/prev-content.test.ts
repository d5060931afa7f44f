import t from 'tap';
import { roomPath, threeUsers } from '../../helpers/client.js';
import { eachEngine } from '../../helpers/database.js';

/**
 * A state event is served with what it replaced (unsigned.prev_content and replaces_state), as clients
 * need to tell a display name change from a join or to say what a topic was before.
 */

type Served = { event_id: string; type: string; state_key?: string; content: Record<string, unknown>; unsigned?: Record<string, unknown> };

t.test('state events carry the content they replaced', async (t) => {
  await eachEngine(t, 'prev_content', async (t, db) => {
    const { alice, bob } = await threeUsers(t, db);
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    const first = (await alice.put(`${roomPath(roomId)}/state/m.room.topic`, { topic: 'one' })).body.event_id as string;
    const second = (await alice.put(`${roomPath(roomId)}/state/m.room.topic`, { topic: 'two' })).body.event_id as string;
    t.equal((await bob.post(`/join/${encodeURIComponent(roomId)}`)).status, 200);
    t.equal((await bob.put(`/profile/${encodeURIComponent(bob.user)}/displayname`, { displayname: 'Bobby' })).status, 200);

    const timeline = (await bob.sync({ filter: { room: { timeline: { limit: 50 } } } })).body.rooms.join[roomId].timeline.events as Served[];
    const byId = new Map(timeline.map((event) => [event.event_id, event]));
    t.notOk(byId.get(first)?.unsigned?.prev_content, 'the first topic replaced nothing');
    t.same(byId.get(second)?.unsigned?.prev_content, { topic: 'one' });
    t.equal(byId.get(second)?.unsigned?.replaces_state, first);
    const bobs = timeline.filter((event) => event.type === 'm.room.member' && event.state_key === bob.user);
    t.equal(bobs.length, 2, 'bob joined, then renamed himself');
    t.notOk(bobs[0]?.unsigned?.prev_content, 'the join replaced nothing');
    t.match(bobs[1]?.unsigned?.prev_content, { membership: 'join', displayname: 'bob' }, 'a rename reads as one: the old name is there');
    t.match(bobs[1]?.content, { membership: 'join', displayname: 'Bobby' });

    t.same((await bob.get(`${roomPath(roomId)}/event/${encodeURIComponent(second)}`)).body.unsigned.prev_content, { topic: 'one' }, 'GET /event too');
    const page = (await bob.get(`${roomPath(roomId)}/messages?dir=b&limit=50`)).body.chunk as Served[];
    t.same(page.find((event) => event.event_id === second)?.unsigned?.prev_content, { topic: 'one' }, 'and /messages');

    const state = (await bob.get(`${roomPath(roomId)}/state`)).body as Served[];
    t.ok(state.length > 0 && state.every((event) => event.unsigned?.prev_content === undefined), 'the room\'s state as a whole goes without');
    const initial = (await bob.sync({ filter: { room: { timeline: { limit: 1 } } } })).body.rooms.join[roomId];
    t.ok((initial.state.events as Served[]).every((event) => event.unsigned?.prev_content === undefined), 'so does a sync\'s state section');

    t.equal((await alice.put(`${roomPath(roomId)}/redact/${encodeURIComponent(first)}/r1`, { reason: 'oops' })).status, 200);
    const after = (await bob.get(`${roomPath(roomId)}/event/${encodeURIComponent(second)}`)).body;
    t.same(after.unsigned.prev_content, {}, 'a redacted predecessor is served redacted');
    t.equal(after.unsigned.replaces_state, first);
  });
});
