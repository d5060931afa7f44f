import t from 'tap';
import { registerUser } from '../../helpers/app.js';
import { roomPath, testClient } from '../../helpers/client.js';
import { startTestServer } from '../../helpers/server.js';

/**
 * Endpoints every server answers whatever it is configured with: the deprecated GET /events/{eventId},
 * phone-number validation (refused: no text messages are sent), and the third-party lookups with no
 * bridge configured (no protocols), which clients call at start-up.
 */

t.test('GET /events/{eventId} finds an event by its id alone, for those who may see it', async (t) => {
  const server = await startTestServer(t, 'embedded');
  const alice = testClient(server.app, await registerUser(server.app, 'alice', 'alice password'));
  const eve = testClient(server.app, await registerUser(server.app, 'eve', 'eve password'));
  const room = await alice.createRoom({ preset: 'private_chat' });
  const sent = (await alice.send(room, 'hello', 't1')).body.event_id as string;

  const found = await alice.get(`/events/${encodeURIComponent(sent)}`);
  t.equal(found.status, 200);
  t.match(found.body, { event_id: sent, room_id: room, type: 'm.room.message', content: { body: 'hello' } });
  t.same((await alice.get(`/_matrix/client/r0/events/${encodeURIComponent(sent)}`)).body.event_id, sent, 'at the r0 path too');
  t.match(await eve.get(`/events/${encodeURIComponent(sent)}`), { status: 404, body: { errcode: 'M_NOT_FOUND' } }, 'not to someone outside the room');
  t.match(await alice.get(`/events/${encodeURIComponent('$nothing')}`), { status: 404, body: { errcode: 'M_NOT_FOUND' } });
  t.equal((await alice.get(`${roomPath(room)}/event/${encodeURIComponent(sent)}`)).body.event_id, sent);
});

t.test('phone numbers cannot be validated: M_THREEPID_MEDIUM_NOT_SUPPORTED', async (t) => {
  const server = await startTestServer(t, 'embedded');
  const anonymous = testClient(server.app, null);
  const body = { client_secret: 'secret', country: 'GB', phone_number: '07700900000', send_attempt: 1 };
  for (const path of ['/register/msisdn/requestToken', '/account/password/msisdn/requestToken', '/account/3pid/msisdn/requestToken']) {
    t.match(await anonymous.post(path, body), { status: 400, body: { errcode: 'M_THREEPID_MEDIUM_NOT_SUPPORTED', error: /text messages/ } }, path);
  }
});

t.test('third-party lookups with no bridge: no protocols, nothing found', async (t) => {
  const server = await startTestServer(t, 'embedded');
  const alice = testClient(server.app, await registerUser(server.app, 'alice', 'alice password'));
  t.same(await alice.get('/thirdparty/protocols'), { status: 200, body: {} });
  t.match(await alice.get('/thirdparty/protocol/irc'), { status: 404, body: { errcode: 'M_NOT_FOUND' } });
  t.same((await alice.get('/thirdparty/location?alias=%23irc_room:hearth.test')).body, []);
  t.same((await alice.get('/thirdparty/user?userid=%40irc_bob:hearth.test')).body, []);
});
