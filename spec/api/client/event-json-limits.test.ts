import t from 'tap';
import { appOn, registerUser } from '../../helpers/app.js';
import { eachEngine } from '../../helpers/database.js';
import { roomPath, testClient, V3 } from '../../helpers/client.js';

/**
 * What a client sees when an event's content cannot be signed as canonical JSON (integers beyond ±(2^53 - 1),
 * floats, NaN and Infinity) or makes the event larger than 65536 bytes: a refusal, never a stored event.
 */
void eachEngine(t, 'events the event format cannot carry are refused', async (t, db) => {
  const { app } = await appOn(t, db);
  const session = await registerUser(app, 'alice');
  const alice = testClient(app, session);
  const roomId = await alice.createRoom({ room_version: '6' });
  const send = (content: unknown) => alice.post(`${roomPath(roomId)}/send/sytest.dummy`, content);
  const raw = (body: string) => app.inject({
    method: 'POST',
    url: `${V3}${roomPath(roomId)}/send/sytest.dummy`,
    headers: { authorization: `Bearer ${session.access_token}`, 'content-type': 'application/json' },
    payload: body,
  });
  const timelineLength = async () => (await alice.get(`${roomPath(roomId)}/messages?dir=b&limit=100`)).body.chunk.length;
  const before = await timelineLength();

  for (const body of [2 ** 53, -(2 ** 53), 1.1]) {
    const res = await send({ msgtype: 'sytest.dummy', body });
    t.same([res.status, res.body.errcode], [400, 'M_BAD_JSON'], `body ${body}`);
  }
  const largest = await send({ msgtype: 'sytest.dummy', body: 2 ** 53 - 1 });
  t.equal(largest.status, 200, '2^53 - 1 is still an integer Matrix accepts');

  for (const special of ['NaN', 'Infinity', '-Infinity', 'nan', 'inf']) {
    const res = await raw(`{"msgtype": "sytest.dummy", "body": ${special}}`);
    t.same([res.statusCode, res.json().errcode], [400, 'M_NOT_JSON'], `${special} is not JSON`);
  }

  const bigMessage = await alice.post(`${roomPath(roomId)}/send/m.room.message`, { msgtype: 'm.text', body: 'A'.repeat(70_000) });
  t.same([bigMessage.status, bigMessage.body.errcode], [413, 'M_TOO_LARGE'], 'a message over 65536 bytes');
  const bigState = await alice.put(`${roomPath(roomId)}/state/oooooooh`, { key: 'O'.repeat(70_000) });
  t.same([bigState.status, bigState.body.errcode], [413, 'M_TOO_LARGE'], 'a state event over 65536 bytes');

  t.equal(await timelineLength(), before + 1, 'only the valid event reached the timeline');
});
