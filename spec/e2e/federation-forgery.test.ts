import t from 'tap';
import { authEventsSelection, buildEvent, getRoomVersion, type EventDraft, type RoomEvent } from '../../src/events/index.js';
import { signRequest } from '../../src/federation/index.js';
import { createRoomStore } from '../../src/storage/index.js';
import { registerUser } from '../helpers/app.js';
import { roomPath, testClient } from '../helpers/client.js';
import { startFederatedServer } from '../helpers/federation-pair.js';
import { keyPublication, remoteServer, testKey } from '../federation/helpers.js';

/**
 * A running Hearth against a fake remote server that publishes a real key over HTTPS (Hearth fetches it, as
 * from any server): forged PDUs in a correctly signed /send, and requests whose X-Matrix header does not hold,
 * change nothing Hearth's users see. The cases' fine detail is in spec/api/federation/send.test.ts and
 * auth.test.ts; this proves the running server's wiring (keyring over the network, its own name as destination).
 */

const ROOM_VERSION = '10';

t.test('forgeries from another server change nothing local users see', async (t) => {
  const a = await startFederatedServer(t);
  const key = testKey('fake', 7);
  const impostor = testKey('fake', 8); // the same key id, another key
  let name = '';
  const fake = await remoteServer(t, (request) =>
    request.url === '/_matrix/key/v2/server' ? { json: keyPublication(name, key, Date.now() + 86_400_000) } : undefined);
  name = `127.0.0.1:${fake.port}`;
  const mallory = `@mallory:${name}`;

  const alice = testClient(a.app, await registerUser(a.app, 'alice'));
  const roomId = await alice.createRoom({ preset: 'public_chat', room_version: ROOM_VERSION });
  const store = createRoomStore(a.database.sql);

  /** An event of the fake server's on the room's current head and state, signed with `signer`. */
  async function event(draft: EventDraft, signer = key): Promise<RoomEvent> {
    const rules = getRoomVersion(ROOM_VERSION)!;
    const state = await store.currentState(roomId);
    const prevIds = await store.forwardExtremities(roomId);
    const authIds = authEventsSelection(draft, rules).map((k) => state.get(k)).filter((id): id is string => id !== undefined);
    const loaded = await store.events([...prevIds, ...authIds]);
    return buildEvent(draft, {
      rules, roomId, origin: name, key: signer, now: Date.now(),
      prevEvents: prevIds.map((id) => loaded.get(id)!.event), authEvents: authIds.map((id) => loaded.get(id)!.event),
    });
  }
  /** A federation request as the fake server, signed (or forged) as `sign` says. */
  async function call(method: 'PUT', url: string, content: object, sign: { key?: typeof key; destination?: string; signed?: object } = {}) {
    const authorization = signRequest({ method, uri: url, origin: name, destination: sign.destination ?? a.serverName, content: sign.signed ?? content }, sign.key ?? key);
    const res = await a.app.inject({ method, url, payload: content as Record<string, unknown>, headers: { authorization } });
    return { status: res.statusCode, body: res.json() as Record<string, any> };
  }
  const send = (txnId: string, pdus: unknown[], sign: Parameters<typeof call>[3] = {}) =>
    call('PUT', `/_matrix/federation/v1/send/${txnId}`, { origin: name, origin_server_ts: Date.now(), pdus }, sign);
  const message = (body: string, sender = mallory) => ({ type: 'm.room.message', sender, content: { msgtype: 'm.text', body } });

  const join = await event({ type: 'm.room.member', stateKey: mallory, sender: mallory, content: { membership: 'join' } });
  const joined = await call('PUT', `/_matrix/federation/v2/send_join/${encodeURIComponent(roomId)}/${encodeURIComponent(join.eventId)}`, join.pdu as object);
  t.equal(joined.status, 200, `mallory joins through send_join, Hearth having fetched ${name}'s key`);
  const since = (await alice.sync()).body.next_batch as string;
  const seen = async () => {
    const events: any[] = (await alice.sync({ since, timeout: 0 })).body.rooms.join[roomId]?.timeline.events ?? [];
    return events.map((e) => JSON.stringify(e.content)).join(' ');
  };

  await t.test('forged PDUs in a signed transaction', async (t) => {
    const badSignature = await event(message('forged signature'), impostor);
    const unauthorised = await event(message('not a member', `@eve:${name}`));
    const genuine = await event(message('original text'));
    const badHash = { ...genuine.pdu, content: { msgtype: 'm.text', body: 'tampered text' } };
    const honest = await event(message('an honest message'));
    const res = await send('forged', [badSignature.pdu, unauthorised.pdu, badHash, honest.pdu]);
    t.equal(res.status, 200, 'the transaction is answered');
    t.match(res.body.pdus[badSignature.eventId], { error: /signature/ }, 'a bad signature is refused');
    t.same(res.body.pdus[unauthorised.eventId], {}, 'an event failing auth is handled: kept as rejected, never shown (below)');
    t.same(res.body.pdus[genuine.eventId], {}, 'a bad content hash is taken, redacted (spec)');
    const redacted = await alice.get(`${roomPath(roomId)}/event/${encodeURIComponent(genuine.eventId)}`);
    t.same(redacted.body.content, {}, 'alice gets it with no content');
    t.equal((await alice.get(`${roomPath(roomId)}/event/${encodeURIComponent(badSignature.eventId)}`)).status, 404, 'the forgery is not stored');
    const timeline = await seen();
    t.match(timeline, /an honest message/, "the honest one in the same transaction reaches alice's /sync");
    t.notMatch(timeline, /forged signature|not a member|tampered text|original text/, 'none of the forgeries does');
  });

  await t.test('requests with a bad X-Matrix header are 401 M_UNAUTHORIZED', async (t) => {
    const pdu = (await event(message('sent with a bad header'))).pdu;
    const body = { origin: name, origin_server_ts: Date.now(), pdus: [pdu] };
    const cases = [
      ['signed with another key', await send('k', [pdu], { key: impostor })],
      ['addressed to another server', await send('d', [pdu], { destination: 'elsewhere.test' })],
      ['a body other than the one signed', await send('b', [pdu], { signed: { ...body, pdus: [] } })],
    ] as const;
    for (const [what, res] of cases) t.match(res, { status: 401, body: { errcode: 'M_UNAUTHORIZED' } }, what);
    t.notMatch(await seen(), /bad header/, 'and the event they carried is nowhere');
  });
});
