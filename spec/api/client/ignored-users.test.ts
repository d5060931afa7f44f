import t from 'tap';
import { eachEngine } from '../../helpers/database.js';
import { roomPath, threeUsers } from '../../helpers/client.js';

/** m.ignored_user_list: the ignored user's messages leave /messages and /context; their state events stay. */

// Any: replies are JSON; the test reads the fields it asserts on.
const bodies = (events: any[]) => events.filter((e) => e.type === 'm.room.message').map((e) => e.content.body);

eachEngine(t, "an ignored user's messages are left out of /messages and /context", async (t, db) => {
  const { alice, bob, carol } = await threeUsers(t, db);
  const roomId = await alice.createRoom({ preset: 'public_chat' });
  await bob.post(`/join/${encodeURIComponent(roomId)}`);
  await carol.post(`/join/${encodeURIComponent(roomId)}`);
  await alice.send(roomId, 'one', 'a1');
  await bob.send(roomId, 'two', 'b1');
  const { body: middle } = await carol.send(roomId, 'three', 'c1');
  await bob.send(roomId, 'four', 'b2');
  await alice.send(roomId, 'five', 'a2');

  const before = await alice.get(`${roomPath(roomId)}/messages?dir=b&limit=10`);
  t.same(bodies(before.body.chunk), ['five', 'four', 'three', 'two', 'one'], 'everything before ignoring');

  await alice.put(`/user/${encodeURIComponent(alice.user)}/account_data/m.ignored_user_list`, { ignored_users: { [bob.user]: {} } });
  const messages = await alice.get(`${roomPath(roomId)}/messages?dir=b&limit=10`);
  t.same(bodies(messages.body.chunk), ['five', 'three', 'one'], "bob's messages are gone");
  t.ok(messages.body.chunk.some((e: any) => e.type === 'm.room.member' && e.state_key === bob.user), 'his join (state) stays');

  const context = await alice.get(`${roomPath(roomId)}/context/${encodeURIComponent(middle.event_id)}?limit=4`);
  t.same(bodies(context.body.events_before), ['one'], 'before carol: only alice');
  t.same(bodies(context.body.events_after), ['five'], 'after carol: only alice');

  const carolView = await carol.get(`${roomPath(roomId)}/messages?dir=b&limit=10`);
  t.same(bodies(carolView.body.chunk), ['five', 'four', 'three', 'two', 'one'], 'others still see him');
});
