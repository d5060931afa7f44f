import t from 'tap';
import { appOn, registerUser } from '../../helpers/app.js';
import { eachEngine } from '../../helpers/database.js';
import { busRecorder, busSettled, clientOf } from '../../helpers/ephemeral.js';
import { fixedClock } from '../../../src/platform/clock.js';
import { TYPING_CHANNEL } from '../../../src/platform/stream-notices.js';

const typingPath = (roomId: string, userId: string) => `/rooms/${encodeURIComponent(roomId)}/typing/${encodeURIComponent(userId)}`;

void eachEngine(t, 'a joined user types; sync sees who types, what changed since, and the timeout ending it', async (t, db) => {
  const clock = fixedClock(1_700_000_000_000);
  const { app, ephemeral } = await appOn(t, db, { clock });
  const heard = busRecorder(ephemeral.bus, [TYPING_CHANNEL]);
  const alice = clientOf(app, await registerUser(app, 'alice'));
  const bob = clientOf(app, await registerUser(app, 'bob'));
  const roomId = await alice.createRoom();
  await bob.join(roomId);
  clock.advance(1); // v12 room ids come from the create event: another millisecond, another room
  const quiet = await alice.createRoom();

  t.same(ephemeral.typing.typingSince([roomId], 0).rooms, new Map(), 'nobody types at first');
  const res = await alice.call('PUT', typingPath(roomId, alice.userId), { typing: true, timeout: 10_000 });
  t.equal(res.status, 200);
  t.same(res.body, {});
  const afterAlice = ephemeral.typing.typingSince([roomId, quiet], 0);
  t.same(afterAlice.rooms, new Map([[roomId, [alice.userId]]]), 'an initial sync sees alice typing, only where she types');
  t.ok(afterAlice.position > 0);

  await bob.call('PUT', typingPath(roomId, bob.userId), { typing: true, timeout: 20_000 });
  const both = ephemeral.typing.typingSince([roomId], afterAlice.position);
  t.same(both.rooms.get(roomId)?.sort(), [alice.userId, bob.userId].sort(), 'the whole set comes down, not a delta');
  t.same(ephemeral.typing.typingSince([roomId], both.position).rooms, new Map(), 'nothing new since the latest position');

  // Still typing: the timeout moves, nobody needs telling.
  await alice.call('PUT', typingPath(roomId, alice.userId), { typing: true, timeout: 15_000 });
  t.equal(ephemeral.typing.position(), both.position, 'typing again only refreshes the timeout');

  clock.advance(15_001);
  const expired = ephemeral.typing.typingSince([roomId], both.position);
  t.same(expired.rooms, new Map([[roomId, [bob.userId]]]), 'alice stops typing when her timeout runs out');

  await bob.call('PUT', typingPath(roomId, bob.userId), { typing: false });
  const stopped = ephemeral.typing.typingSince([roomId], expired.position);
  t.same(stopped.rooms, new Map([[roomId, []]]), 'a sync that saw bob typing is told nobody types now');
  t.same(ephemeral.typing.typingSince([roomId], 0).rooms, new Map([[roomId, []]]), 'an initial sync is told nobody types where typing stopped');
  t.same(ephemeral.typing.typingSince([quiet], 0).rooms, new Map(), 'and nothing of a room where nobody typed');

  await busSettled();
  t.ok(heard.length >= 3, 'each change was announced on the bus');
  t.match(heard[0], [TYPING_CHANNEL, { position: String(afterAlice.position), rooms: [roomId], typing: { roomId, userId: alice.userId } }]);
  t.ok(heard.every(([, message]) => typeof message.position === 'string'), 'positions travel as strings');
});

void eachEngine(t, 'a sync from before anyone typed is told that typing stopped', async (t, db) => {
  const { app } = await appOn(t, db);
  const alice = clientOf(app, await registerUser(app, 'alice'));
  const bob = clientOf(app, await registerUser(app, 'bob'));
  const roomId = await alice.createRoom();
  await bob.join(roomId);
  // Bob's token holds the typing stream at its start: nobody has typed on this server yet.
  const initial = await bob.call('GET', '/sync?timeout=0');
  const since = (initial.body as { next_batch: string }).next_batch;

  await alice.call('PUT', typingPath(roomId, alice.userId), { typing: true, timeout: 30_000 });
  await alice.call('PUT', typingPath(roomId, alice.userId), { typing: false });
  const later = await bob.call('GET', `/sync?timeout=0&since=${encodeURIComponent(since)}`);
  const ephemeral = (later.body as { rooms?: { join?: Record<string, { ephemeral: { events: unknown[] } }> } }).rooms?.join?.[roomId]?.ephemeral.events;
  // The token is older than both changes: the answer says who types now (nobody), as for any older token.
  t.same(ephemeral, [{ type: 'm.typing', content: { user_ids: [] } }]);
});

void eachEngine(t, 'a timer ends typing for an idle sync, and announces it', async (t, db) => {
  const { app, ephemeral } = await appOn(t, db);
  const heard = busRecorder(ephemeral.bus, [TYPING_CHANNEL]);
  const alice = clientOf(app, await registerUser(app, 'alice'));
  const roomId = await alice.createRoom();
  await alice.call('PUT', typingPath(roomId, alice.userId), { typing: true, timeout: 5000 });
  const typing = ephemeral.typing.position();
  t.equal(ephemeral.scheduler.fireAll(), 1, 'one timer was waiting');
  t.ok(ephemeral.typing.position() > typing, 'the stream moved when the timer fired');
  t.same(ephemeral.typing.typingSince([roomId], typing).rooms, new Map([[roomId, []]]));
  await busSettled();
  t.match(heard.at(-1), [TYPING_CHANNEL, { position: String(ephemeral.typing.position()), rooms: [roomId] }]);
});

void eachEngine(t, 'refusals: typing for another user, in a room not joined, a bad body', async (t, db) => {
  const { app, ephemeral } = await appOn(t, db);
  const alice = clientOf(app, await registerUser(app, 'alice'));
  const bob = clientOf(app, await registerUser(app, 'bob'));
  const roomId = await alice.createRoom();

  const forAlice = await bob.call('PUT', typingPath(roomId, alice.userId), { typing: true, timeout: 1000 });
  t.equal(forAlice.status, 403);
  t.equal(forAlice.body.errcode, 'M_FORBIDDEN');
  const notJoined = await bob.call('PUT', typingPath(roomId, bob.userId), { typing: true, timeout: 1000 });
  t.equal(notJoined.status, 403);
  t.equal(notJoined.body.errcode, 'M_FORBIDDEN');
  const noRoom = await bob.call('PUT', typingPath('!nowhere:hearth.test', bob.userId), { typing: true });
  t.equal(noRoom.body.errcode, 'M_FORBIDDEN', 'an unknown room looks like one not joined');
  const badRoom = await bob.call('PUT', typingPath('nowhere', bob.userId), { typing: true });
  t.equal(badRoom.body.errcode, 'M_INVALID_PARAM');
  const noTyping = await alice.call('PUT', typingPath(roomId, alice.userId), { timeout: 1000 });
  t.equal(noTyping.status, 400);
  t.equal(noTyping.body.errcode, 'M_BAD_JSON');
  t.same(ephemeral.typing.typingSince([roomId], 0).rooms, new Map(), 'nobody was marked typing');
});
