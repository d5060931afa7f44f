import t from 'tap';
import { registerUser } from '../../helpers/app.js';
import { roomPath, testClient } from '../../helpers/client.js';
import { startTestServer } from '../../helpers/server.js';

/** GET /notifications: what the user's push rules said notify them, newest first, read or not, paged. */

t.test('GET /notifications lists what notified the user', async (t) => {
  const server = await startTestServer(t, 'embedded');
  const alice = testClient(server.app, await registerUser(server.app, 'alice'));
  const bob = testClient(server.app, await registerUser(server.app, 'bob'));
  const room = await bob.createRoom({ preset: 'private_chat', invite: [alice.user] });
  await alice.post(`/join/${encodeURIComponent(room)}`);
  const elsewhere = await bob.createRoom({ preset: 'public_chat' });

  const before = (await alice.get('/notifications')).body.notifications;
  t.match(before, [{ room_id: room, read: false, event: { type: 'm.room.member', state_key: alice.user, content: { membership: 'invite' } } }], 'her invite notified her');
  const invite = before[0].event.event_id as string;
  const sent: string[] = [];
  for (const body of ['one', 'two', 'three']) sent.push((await bob.send(room, body, body)).body.event_id as string);
  await alice.send(room, 'my own', 'own');
  await bob.send(elsewhere, 'not to alice', 'x');
  const mention = (await bob.put(`${roomPath(room)}/send/m.room.message/m`, { msgtype: 'm.text', body: 'alice!', 'm.mentions': { user_ids: [alice.user] } })).body.event_id as string;

  const all = (await alice.get('/notifications')).body;
  t.same(all.notifications.map((n: { event: { event_id: string } }) => n.event.event_id), [mention, ...[...sent].reverse(), invite], 'newest first; own messages and other rooms left out');
  t.match(all.notifications[1], { room_id: room, read: false, profile_tag: null, actions: ['notify'], ts: Number, event: { type: 'm.room.message', sender: bob.user, content: { body: 'three' } } });
  t.notOk('room_id' in all.notifications[1].event, 'the event without its room id');
  t.notOk('next_token' in all, 'no more');

  t.same((await alice.get('/notifications?only=highlight')).body.notifications.map((n: { event: { event_id: string } }) => n.event.event_id), [mention], 'only=highlight');

  t.equal((await alice.post(`${roomPath(room)}/receipt/m.read/${encodeURIComponent(sent[1]!)}`, {})).status, 200);
  t.same((await alice.get('/notifications')).body.notifications.map((n: { read: boolean }) => n.read), [false, false, true, true, true], 'read up to the receipt');

  const first = (await alice.get('/notifications?limit=2')).body;
  t.equal(first.notifications.length, 2);
  t.type(first.next_token, 'string');
  const second = (await alice.get(`/notifications?limit=2&from=${first.next_token}`)).body;
  t.same(second.notifications.map((n: { event: { event_id: string } }) => n.event.event_id), [sent[1], sent[0]], 'the next page goes on where the first stopped');

  // A room alice muted no longer notifies her.
  t.equal((await alice.put(`/pushrules/global/room/${encodeURIComponent(room)}`, { actions: [] })).status, 200);
  t.same((await alice.get('/notifications')).body.notifications.map((n: { event: { event_id: string } }) => n.event.event_id), [mention, invite], 'judged by her rules as they are now (the mention and the invite match override rules, which come first)');

  t.match(await alice.get('/notifications?from=yesterday'), { status: 400, body: { errcode: 'M_INVALID_PARAM' } });
  t.match(await testClient(server.app, null).get('/notifications'), { status: 401, body: { errcode: 'M_MISSING_TOKEN' } });
});
