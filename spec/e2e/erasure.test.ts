import t from 'tap';
import { registerUser } from '../helpers/app.js';
import { eventually, roomPath, testClient, type TestClient } from '../helpers/client.js';
import { startFederationPair } from '../helpers/federation-pair.js';

/**
 * Erasure (POST /account/deactivate with erase: true) on two real Hearths: the erased user's messages are
 * served redacted to users who were not in the room when they were sent, and to servers that come later;
 * those who were there keep them whole, and state the user set stays. A restart forgets nothing.
 */

const erase = async (client: TestClient, username: string) => {
  const challenge = await client.post('/account/deactivate', { erase: true });
  const auth = { type: 'm.login.password', identifier: { type: 'm.id.user', user: username }, password: 'pw', session: challenge.body.session };
  return client.post('/account/deactivate', { erase: true, auth });
};

/** The message as the client's /sync timeline, /messages, /event and /context serve it. */
async function servedTo(client: TestClient, roomId: string, eventId: string) {
  const sync = await client.sync({ filter: { room: { timeline: { limit: 20 } } } });
  const messages = await client.get(`${roomPath(roomId)}/messages?dir=b&limit=20`);
  const event = await client.get(`${roomPath(roomId)}/event/${encodeURIComponent(eventId)}`);
  const context = await client.get(`${roomPath(roomId)}/context/${encodeURIComponent(eventId)}?limit=2`);
  const find = (events: Array<{ event_id: string; content: unknown }> | undefined) => events?.find((e) => e.event_id === eventId)?.content;
  return {
    sync: find(sync.body.rooms?.join?.[roomId]?.timeline?.events),
    messages: find(messages.body.chunk),
    event: event.body.content,
    context: context.body.event?.content,
  };
}

const searchFor = async (client: TestClient, term: string) =>
  ((await client.post('/search', { search_categories: { room_events: { search_term: term } } })).body.search_categories?.room_events?.results ?? []) as unknown[];

t.test('an erased user\'s messages', async (t) => {
  const { a, b } = await startFederationPair(t);
  const creator = testClient(a.app, await registerUser(a.app, 'creator'));
  const member = testClient(a.app, await registerUser(a.app, 'member'));
  const joiner = testClient(a.app, await registerUser(a.app, 'joiner'));
  const rob = testClient(b.app, await registerUser(b.app, 'rob'));

  const roomId = await creator.createRoom({ preset: 'public_chat' });
  t.equal((await member.post(`/join/${encodeURIComponent(roomId)}`)).status, 200);
  t.equal((await creator.put(`${roomPath(roomId)}/state/m.room.topic`, { topic: 'Plans' })).status, 200);
  const sent = await creator.send(roomId, 'the secret plan', 'm1');
  const eventId = sent.body.event_id as string;
  const mention = { msgtype: 'm.text', body: 'over to you', 'm.mentions': { user_ids: [member.user] } };
  t.equal((await creator.put(`${roomPath(roomId)}/send/m.room.message/m2`, mention)).status, 200);
  const highlights = async (client: TestClient) =>
    (await client.sync({ filter: { room: { timeline: { limit: 1 } } } })).body.rooms?.join?.[roomId]?.unread_notifications?.highlight_count as number | undefined;
  t.equal(await highlights(member), 1, 'the mention of the member highlights');
  t.equal((await joiner.post(`/join/${encodeURIComponent(roomId)}`)).status, 200);
  const whole = { msgtype: 'm.text', body: 'the secret plan' };
  t.same(await servedTo(joiner, roomId, eventId), { sync: whole, messages: whole, event: whole, context: whole }, 'before erasure, a later joiner sees it (shared history)');

  t.same(await erase(creator, 'creator'), { status: 200, body: { id_server_unbind_result: 'success' } });

  t.same(await servedTo(member, roomId, eventId), { sync: whole, messages: whole, event: whole, context: whole }, 'who was joined when it was sent still sees it whole');
  t.same(await servedTo(joiner, roomId, eventId), { sync: {}, messages: {}, event: {}, context: {} }, 'who joined after it sees it redacted everywhere');
  const redacted = await joiner.get(`${roomPath(roomId)}/event/${encodeURIComponent(eventId)}`);
  t.equal(redacted.body.unsigned?.redacted_because, undefined, 'with no redaction named: nobody redacted it');
  t.same((await joiner.get(`${roomPath(roomId)}/state/m.room.topic`)).body, { topic: 'Plans' }, 'the topic the user set stays the room\'s');
  t.equal((await searchFor(member, 'secret')).length, 1, 'search finds it for the member');
  t.same(await searchFor(joiner, 'secret'), [], 'and not for the joiner: the text is not theirs to read');

  await t.test('a server that joins later is served it redacted', async (t) => {
    t.equal((await rob.post(`/join/${encodeURIComponent(roomId)}?server_name=${encodeURIComponent(a.serverName)}`)).status, 200);
    // B holds nothing before rob's join: paginating back makes it backfill from A.
    const chunk = await eventually(async () => {
      const page = await rob.get(`${roomPath(roomId)}/messages?dir=b&limit=50`);
      const found = (page.body.chunk as Array<{ event_id: string; content: unknown }> | undefined)?.find((e) => e.event_id === eventId);
      return found;
    });
    t.ok(chunk, 'B backfilled the message');
    t.same(chunk?.content, {}, 'without its content');
  });

  await t.test('a restart keeps the erasure', async (t) => {
    await a.close();
    const again = await a.restart();
    const joinerAfter = testClient(again.app, await loginAs(again.app, 'joiner'));
    const memberAfter = testClient(again.app, await loginAs(again.app, 'member'));
    t.same((await joinerAfter.get(`${roomPath(roomId)}/event/${encodeURIComponent(eventId)}`)).body.content, {}, 'still redacted for the joiner');
    t.same((await memberAfter.get(`${roomPath(roomId)}/event/${encodeURIComponent(eventId)}`)).body.content, whole, 'still whole for the member');
    // A new process counts unread notifications afresh: the mention is judged whole for the member.
    t.equal(await highlights(memberAfter), 1, 'and the mention still highlights for them');
  });
});

async function loginAs(app: Parameters<typeof testClient>[0], username: string) {
  const res = await app.inject({
    method: 'POST',
    url: '/_matrix/client/v3/login',
    payload: { type: 'm.login.password', identifier: { type: 'm.id.user', user: username }, password: 'pw' },
  });
  return res.json() as { user_id: string; device_id: string; access_token: string };
}
