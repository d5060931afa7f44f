import t, { type Test } from 'tap';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { registerUser } from '../helpers/app.js';
import { roomPath, testClient, type TestClient } from '../helpers/client.js';
import { startTestServer } from '../helpers/server.js';

/**
 * Push notifications reach a push gateway (a plain HTTP server here) as the push gateway API describes
 * them: for the events the recipient's push rules say notify, with the badge count, and a lower badge
 * once they read the room.
 */

type Notification = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- gateway JSON, read field by field

async function gateway(t: Test) {
  const received: Notification[] = [];
  const waiters: Array<() => void> = [];
  let answer: (body: Notification) => Record<string, unknown> = () => ({});
  const server = createServer(async (request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString()) as { notification: Notification };
    received.push(body.notification);
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify(answer(body.notification)));
    for (const wake of waiters.splice(0)) wake();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/_matrix/push/v1/notify`;
  /** The next notification that `match` accepts (waiting up to 10 s). */
  async function next(match: (n: Notification) => boolean): Promise<Notification> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const found = received.find(match);
      if (found) {
        received.splice(received.indexOf(found), 1);
        return found;
      }
      if (Date.now() > deadline) throw new Error(`no such notification; received ${JSON.stringify(received)}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }
  return { url, received, next, answerWith: (fn: typeof answer) => void (answer = fn) };
}

async function setPusher(client: TestClient, url: string, pushkey: string, data: Record<string, unknown> = {}) {
  const set = await client.post('/pushers/set', {
    kind: 'http', app_id: 'hearth.test.app', app_display_name: 'Test', device_display_name: 'Phone', pushkey, lang: 'en', data: { url, ...data },
  });
  if (set.status !== 200) throw new Error(`pushers/set: ${JSON.stringify(set.body)}`);
}

t.test('push notifications reach the gateway', async (t) => {
  const push = await gateway(t);
  const server = await startTestServer(t, 'embedded', 'federation: { allow_private_addresses: true }');
  const alice = testClient(server.app, await registerUser(server.app, 'alice'));
  const bob = testClient(server.app, await registerUser(server.app, 'bob'));
  const room = await bob.createRoom({ preset: 'private_chat', name: 'Two of us', invite: [alice.user] });
  await alice.post(`/join/${encodeURIComponent(room)}`);
  await setPusher(alice, push.url, 'alice-phone');

  const sent = (await bob.send(room, 'are you there?', 'm1')).body.event_id as string;
  const message = await push.next((n) => n.event_id === sent);
  t.match(message, {
    id: sent, room_id: room, type: 'm.room.message', sender: bob.user, sender_display_name: 'bob', room_name: 'Two of us',
    content: { msgtype: 'm.text', body: 'are you there?' }, counts: { unread: 1 }, prio: 'high',
  });
  t.same(message.devices, [{ app_id: 'hearth.test.app', pushkey: 'alice-phone', pushkey_ts: message.devices[0].pushkey_ts, data: {}, tweaks: { sound: 'default' } }],
    'the device, its data without the url, and the tweaks of the rule that matched (one-to-one: sound)');
  t.equal(push.received.filter((n) => n.sender === alice.user).length, 0, 'nobody is pushed their own events');

  t.equal((await alice.post(`${roomPath(room)}/receipt/m.read/${encodeURIComponent(sent)}`, {})).status, 200);
  const badge = await push.next((n) => n.event_id === undefined);
  t.same(badge.counts, { unread: 0 }, 'reading the room sends the lower badge');

  // A room alice muted (a room rule that does not notify) pushes nothing.
  t.equal((await alice.put(`/pushrules/global/room/${encodeURIComponent(room)}`, { actions: [] })).status, 200);
  const muted = (await bob.send(room, 'psst', 'm2')).body.event_id as string;
  const after = (await bob.send(await bob.createRoom({ preset: 'private_chat', invite: [alice.user] }), 'x', 'm3')).body.event_id as string;
  const invite = await push.next((n) => n.type === 'm.room.member' && n.content?.membership === 'invite');
  t.match(invite, { user_is_target: true, membership: 'invite', counts: { unread: 1 } }, 'an invite is pushed to its invitee');
  t.notOk(push.received.some((n) => n.event_id === muted), 'the muted room\'s message was not pushed (later events were)');
  t.notOk(push.received.some((n) => n.event_id === after), 'nor a message in a room alice is not in');

  // event_id_only: no content reaches the gateway.
  await setPusher(alice, push.url, 'alice-private', { format: 'event_id_only' });
  t.equal((await alice.delete(`/pushrules/global/room/${encodeURIComponent(room)}`)).status, 200);
  const secret = (await bob.send(room, 'the secret', 'm4')).body.event_id as string;
  const bare = await push.next((n) => n.event_id === secret && n.devices[0].pushkey === 'alice-private');
  t.same(Object.keys(bare).sort(), ['counts', 'devices', 'event_id', 'prio', 'room_id'], 'event_id_only carries ids and counts only');
  t.same(bare.devices[0].data, { format: 'event_id_only' });
  await push.next((n) => n.event_id === secret && n.devices[0].pushkey === 'alice-phone');

  // A pushkey the gateway rejects loses its pusher.
  push.answerWith((n) => ({ rejected: n.devices.map((d: { pushkey: string }) => d.pushkey).filter((key: string) => key === 'alice-phone') }));
  const last = (await bob.send(room, 'one more', 'm5')).body.event_id as string;
  await push.next((n) => n.event_id === last && n.devices[0].pushkey === 'alice-phone');
  let pushers: Array<{ pushkey: string }> = [];
  for (let i = 0; i < 50; i++) {
    pushers = (await alice.get('/pushers')).body.pushers;
    if (pushers.length === 1) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.same(pushers.map((p) => p.pushkey), ['alice-private'], 'the rejected pusher is removed');
});

t.test('push gateways on private addresses are refused unless federation allows them', async (t) => {
  const push = await gateway(t);
  const server = await startTestServer(t, 'embedded');
  const alice = testClient(server.app, await registerUser(server.app, 'alice'));
  const bob = testClient(server.app, await registerUser(server.app, 'bob'));
  const room = await bob.createRoom({ preset: 'private_chat', invite: [alice.user] });
  await alice.post(`/join/${encodeURIComponent(room)}`);
  await setPusher(alice, push.url, 'alice-phone');
  await bob.send(room, 'hello', 'm1');
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.same(push.received, [], 'nothing was sent to a loopback address');
});
