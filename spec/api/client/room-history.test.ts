import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { appOn, registerUser } from '../../helpers/app.js';
import { eachEngine } from '../../helpers/database.js';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
type Session = Awaited<ReturnType<typeof registerUser>>;
const room = (roomId: string) => `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}`;

interface Reply {
  readonly status: number;
  // The JSON a reply happens to hold; each test asserts on the fields it reads.
  readonly body: any;
}

function client(app: FastifyInstance, session: Session) {
  const call = async (method: 'GET' | 'PUT' | 'POST', url: string, payload?: unknown): Promise<Reply> => {
    const res = await app.inject({
      method,
      url,
      headers: bearer(session.access_token),
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    });
    return { status: res.statusCode, body: res.json() };
  };
  return {
    user: session.user_id,
    get: (url: string) => call('GET', url),
    put: (url: string, payload: unknown) => call('PUT', url, payload),
    post: (url: string, payload: unknown = {}) => call('POST', url, payload),
    createRoom: async (body: Record<string, unknown>) => (await call('POST', '/_matrix/client/v3/createRoom', body)).body.room_id as string,
    say: async (roomId: string, body: string, txnId: string) =>
      (await call('PUT', `${room(roomId)}/send/m.room.message/${txnId}`, { msgtype: 'm.text', body })).body.event_id as string,
  };
}

async function world(t: Parameters<Parameters<typeof eachEngine>[2]>[0], db: Parameters<Parameters<typeof eachEngine>[2]>[1]) {
  let now = 1_700_000_000_000;
  const { app } = await appOn(t, db, { clock: { now: () => now++ } });
  const alice = client(app, await registerUser(app, 'alice'));
  const bob = client(app, await registerUser(app, 'bob'));
  const carol = client(app, await registerUser(app, 'carol'));
  return { app, alice, bob, carol };
}

const messageBodies = (chunk: Array<{ type: string; content: { body?: string } }>) =>
  chunk.filter((e) => e.type === 'm.room.message').map((e) => String(e.content.body));

t.test('GET /messages pages through the history', async (t) => {
  await eachEngine(t, 'pages of 10 over 25 messages', async (t, db) => {
    const { alice, carol } = await world(t, db);
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    for (let i = 0; i < 25; i++) await alice.say(roomId, `m${i}`, `txn${i}`);
    const seen: string[] = [];
    let from: string | undefined;
    for (let page = 0; page < 10; page++) {
      const res = await alice.get(`${room(roomId)}/messages?dir=b&limit=10${from ? `&from=${encodeURIComponent(from)}` : ''}`);
      t.equal(res.status, 200);
      t.ok(res.body.chunk.length <= 10);
      seen.push(...messageBodies(res.body.chunk));
      if (res.body.end === undefined) break;
      from = res.body.end;
    }
    t.same(seen, Array.from({ length: 25 }, (_, i) => `m${24 - i}`), 'every message once, newest first');

    const bad = await alice.get(`${room(roomId)}/messages?dir=b&from=nonsense`);
    t.same([bad.status, bad.body.errcode], [400, 'M_INVALID_PARAM']);
    const badDir = await alice.get(`${room(roomId)}/messages?dir=x`);
    t.same([badDir.status, badDir.body.errcode], [400, 'M_INVALID_PARAM']);
    const stranger = await carol.get(`${room(roomId)}/messages?dir=b`);
    t.same([stranger.status, stranger.body.errcode], [403, 'M_FORBIDDEN']);
    const filtered = await alice.get(`${room(roomId)}/messages?dir=b&limit=2&filter=${encodeURIComponent('{"types":["m.room.message"],"lazy_load_members":true}')}`);
    t.same(messageBodies(filtered.body.chunk), ['m24', 'm23']);
    t.same(filtered.body.state.map((e: { state_key: string }) => e.state_key), [alice.user]);
  });
});

t.test('redacting through the API', async (t) => {
  await eachEngine(t, 'redact, idempotent, served redacted everywhere', async (t, db) => {
    const { alice, bob } = await world(t, db);
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    await bob.post(`${room(roomId)}/join`);
    const said = await alice.say(roomId, 'regrettable', 'a1');
    const refused = await bob.put(`${room(roomId)}/redact/${encodeURIComponent(said)}/r1`, { reason: 'no' });
    t.same([refused.status, refused.body.errcode], [403, 'M_FORBIDDEN']);
    const first = await alice.put(`${room(roomId)}/redact/${encodeURIComponent(said)}/r1`, { reason: 'oops' });
    const again = await alice.put(`${room(roomId)}/redact/${encodeURIComponent(said)}/r1`, { reason: 'oops' });
    t.equal(first.status, 200);
    t.equal(again.body.event_id, first.body.event_id, 'a retransmission gets the same redaction');
    const other = await alice.say(roomId, 'also regrettable', 'a2');
    const legacy = await alice.post(`${room(roomId)}/redact/${encodeURIComponent(other)}`, { reason: 'old client' });
    t.equal(legacy.status, 200, 'the legacy POST without a transaction id redacts too');
    t.same((await bob.get(`${room(roomId)}/event/${encodeURIComponent(other)}`)).body.content, {});
    t.equal((await bob.post(`${room(roomId)}/redact/${encodeURIComponent(other)}`, {})).body.errcode, 'M_FORBIDDEN', 'with the same checks');

    const event = await bob.get(`${room(roomId)}/event/${encodeURIComponent(said)}`);
    t.equal(event.status, 200);
    t.same(event.body.content, {}, 'no body');
    t.match(event.body.unsigned.redacted_because, { event_id: first.body.event_id, type: 'm.room.redaction', content: { reason: 'oops' } });
    t.equal(event.body.unsigned.redacted_by, first.body.event_id, 'and its id in redacted_by, as Synapse serves it');
    const page = await bob.get(`${room(roomId)}/messages?dir=b&limit=6`);
    t.same(page.body.chunk.find((e: { event_id: string }) => e.event_id === said).content, {});
    const context = await bob.get(`${room(roomId)}/context/${encodeURIComponent(said)}?limit=2`);
    t.equal(context.status, 200);
    t.equal(context.body.event.unsigned.redacted_because.event_id, first.body.event_id);
    t.equal(context.body.events_after[0].event_id, first.body.event_id);
    t.match(context.body, { start: /^t\d+$/, end: /^t\d+$/ });

    const topic = await alice.put(`${room(roomId)}/state/m.room.topic`, { topic: 'spoiler' });
    await alice.put(`${room(roomId)}/redact/${encodeURIComponent(topic.body.event_id)}/r2`, {});
    t.same((await bob.get(`${room(roomId)}/state/m.room.topic`)).body, {}, '/state serves a redacted topic without its topic');
    const missing = await bob.get(`${room(roomId)}/event/${encodeURIComponent('$nope:hearth.test')}`);
    t.same([missing.status, missing.body.errcode], [404, 'M_NOT_FOUND']);
  });
});

t.test('members, forget and timestamp_to_event', async (t) => {
  await eachEngine(t, 'members and forgetting', async (t, db) => {
    const { alice, bob, carol } = await world(t, db);
    const roomId = await alice.createRoom({ preset: 'public_chat', name: 'Forgettable' });
    await bob.post(`${room(roomId)}/join`);
    const members = await bob.get(`${room(roomId)}/members?not_membership=leave`);
    t.same(members.body.chunk.map((e: { state_key: string }) => e.state_key).sort(), [alice.user, bob.user].sort());
    const badMembership = await bob.get(`${room(roomId)}/members?membership=sleeping`);
    t.same([badMembership.status, badMembership.body.errcode], [400, 'M_INVALID_PARAM']);
    t.same((await carol.get(`${room(roomId)}/members`)).body.errcode, 'M_FORBIDDEN');

    const stillIn = await bob.post(`${room(roomId)}/forget`);
    t.same([stillIn.status, stillIn.body.errcode], [400, 'M_UNKNOWN']);
    await bob.post(`${room(roomId)}/leave`);
    t.same(await bob.post(`${room(roomId)}/forget`), { status: 200, body: {} });
    t.same((await bob.get(`${room(roomId)}/messages?dir=b`)).body.errcode, 'M_FORBIDDEN', 'a forgotten room is closed');

    // A banned member reads no more of the room: not its history, not its members (a departed one could).
    await carol.post(`${room(roomId)}/join`);
    t.equal((await carol.get(`${room(roomId)}/messages?dir=b`)).status, 200);
    await alice.post(`${room(roomId)}/ban`, { user_id: carol.user });
    t.same((await carol.get(`${room(roomId)}/messages?dir=b`)).body.errcode, 'M_FORBIDDEN', 'a banned member is refused the history');
    t.same((await carol.get(`${room(roomId)}/members`)).body.errcode, 'M_FORBIDDEN');

    const ts = await alice.get(`/_matrix/client/v1/rooms/${encodeURIComponent(roomId)}/timestamp_to_event?ts=0&dir=f`);
    t.equal(ts.status, 200);
    t.match(ts.body, { event_id: /^\$/, origin_server_ts: Number });
  });
});

t.test('a redaction sent through /send (spec 1.18)', async (t) => {
  await eachEngine(t, 'content.redacts, in every room version', async (t, db) => {
    const { alice, bob } = await world(t, db);
    for (const version of ['10', '11']) {
      const roomId = await alice.createRoom({ preset: 'public_chat', room_version: version });
      await bob.post(`${room(roomId)}/join`);
      const said = await alice.say(roomId, 'regrettable', `s${version}`);
      const send = (client: typeof alice, txn: string, content: Record<string, unknown>) =>
        client.put(`${room(roomId)}/send/m.room.redaction/${txn}`, content);
      const refused = await send(bob, 'b1', { redacts: said, reason: 'no' });
      t.same([refused.status, refused.body.errcode], [403, 'M_FORBIDDEN'], `v${version}: with the checks of /redact`);
      const missing = await send(alice, 'r0', { reason: 'what?' });
      t.same([missing.status, missing.body.errcode], [400, 'M_BAD_JSON'], `v${version}: content.redacts is required`);
      const first = await send(alice, 'r1', { redacts: said, reason: 'oops' });
      t.equal(first.status, 200, `v${version}: sent`);
      t.equal((await send(alice, 'r1', { redacts: said, reason: 'oops' })).body.event_id, first.body.event_id, 'idempotent per transaction');
      const target = await bob.get(`${room(roomId)}/event/${encodeURIComponent(said)}`);
      t.same(target.body.content, {}, `v${version}: the target is redacted`);
      const redaction = (await bob.get(`${room(roomId)}/event/${encodeURIComponent(first.body.event_id)}`)).body;
      t.equal(redaction.redacts, said, `v${version}: served with redacts at the top level`);
      t.match(redaction.content, { reason: 'oops' }, `v${version}: with the rest of its content`);
      if (version === '11') t.equal(redaction.content.redacts, said, 'v11: redacts stays in content');
    }
  });
});
