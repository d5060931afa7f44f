import t from 'tap';
import { registerUser } from '../helpers/app.js';
import { roomPath, testClient } from '../helpers/client.js';
import { startFederationPair } from '../helpers/federation-pair.js';

/**
 * Server B goes down while it shares a room with A; what A's users say meanwhile reaches B's users once B is
 * back. A's queue for B is kept in A's database and backs off while B does not answer (5 s, doubling); when B
 * sends A anything (here, its user's first message after the restart), A takes B as reachable again and
 * sends the backlog at once, as Synapse does, rather than at the back-off's end.
 */

t.test('messages sent while a server was down reach it once it is back', async (t) => {
  const { a, b } = await startFederationPair(t);
  const alice = testClient(a.app, await registerUser(a.app, 'alice'));
  const bobSession = await registerUser(b.app, 'bob');
  const bob = testClient(b.app, bobSession);
  const roomId = await alice.createRoom({ preset: 'public_chat', name: 'Outage' });
  const joined = await bob.post(`/join/${encodeURIComponent(roomId)}?via=${encodeURIComponent(a.serverName)}`, {});
  t.equal(joined.status, 200, JSON.stringify(joined.body));
  const since = (await bob.sync()).body.next_batch as string;

  await b.close();
  const missed = ['one while B was down', 'two while B was down', 'three while B was down'];
  for (const [i, body] of missed.entries()) t.equal((await alice.send(roomId, body, `down${i}`)).status, 200, 'A takes the message with B down');

  const back = await b.restart();
  // Bob's token, like everything else of B's, is in B's database: the same session goes on.
  const bobAgain = testClient(back.app, bobSession);
  t.equal((await bobAgain.send(roomId, 'bob is back', 'back')).status, 200, 'bob speaks first after the restart');

  const bodies = async (): Promise<string[]> => {
    const res = await bobAgain.sync({ since, timeout: 0, filter: { room: { timeline: { limit: 20 } } } });
    const events: any[] = res.body.rooms.join[roomId]?.timeline.events ?? [];
    return events.filter((e) => e.type === 'm.room.message').map((e) => e.content.body as string);
  };
  const started = Date.now();
  let seen: string[] = [];
  while (Date.now() - started < 20_000) {
    seen = await bodies();
    if (missed.every((body) => seen.includes(body))) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.same(seen.filter((body) => missed.includes(body)), missed, "the messages of the outage are in bob's /sync, in order");
  t.ok(Date.now() - started < 4_000, `and soon, not at the back-off's end (${Date.now() - started} ms)`);
  const atA = await alice.get(`${roomPath(roomId)}/messages?dir=b&limit=10`);
  t.ok(atA.body.chunk.some((e: any) => e.content?.body === 'bob is back'), "and A has bob's message");
});
