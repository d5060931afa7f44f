import t from 'tap';
import { createMemoryBus } from '../../src/platform/bus.js';
import { fixedClock } from '../../src/platform/clock.js';
import { silentLogger } from '../../src/platform/logger.js';
import { typingRelayOnBus } from '../../src/platform/stream-notices.js';
import { createTypingService, MAX_TYPING_TIMEOUT_MS } from '../../src/ephemeral/index.js';
import type { Requester } from '../../src/users/index.js';
import type { DeviceId, UserId } from '../../src/protocol/index.js';
import { eachEngine } from '../helpers/database.js';
import { busSettled, manualScheduler } from '../helpers/ephemeral.js';
import { roomWorld } from '../helpers/rooms.js';

const alice = '@alice:hearth.test';
const bob = '@bob:hearth.test';
const requester = (userId: string): Requester => ({ userId: userId as UserId, deviceId: 'DEV' as DeviceId, isGuest: false });

void eachEngine(t, 'two processes on one bus see the same typers', async (t, db) => {
  const { rooms, store } = roomWorld(t, db);
  const { roomId } = await rooms.createRoom({ creator: alice, preset: 'public_chat' });
  await rooms.join(roomId, bob);
  const bus = createMemoryBus();
  t.teardown(() => bus.close());
  const clock = fixedClock(1_700_000_000_000);
  const process = (origin: string) => {
    const scheduler = manualScheduler();
    const typing = createTypingService({ rooms: store, clock, relay: typingRelayOnBus(bus, silentLogger(), origin), scheduler });
    t.teardown(() => typing.close());
    return { typing, scheduler };
  };
  const one = process('one');
  const two = process('two');

  await one.typing.setTyping(requester(alice), roomId, alice, true, 10_000);
  await busSettled();
  t.same(two.typing.typingSince([roomId], 0).rooms, new Map([[roomId, [alice]]]), 'the other process heard alice typing');
  t.ok(two.typing.position() >= one.typing.position(), "the other process's position caught up with the notice's");
  t.same(one.typing.typingSince([roomId], 0).rooms, new Map([[roomId, [alice]]]), 'the first did not apply its own change twice');

  const before = two.typing.position();
  await two.typing.setTyping(requester(bob), roomId, bob, true, 10_000);
  await busSettled();
  t.same(one.typing.typingSince([roomId], 0).rooms.get(roomId)?.sort(), [alice, bob].sort());
  t.ok(two.typing.position() > before);

  await one.typing.setTyping(requester(alice), roomId, alice, false);
  await busSettled();
  t.same(two.typing.typingSince([roomId], 0).rooms, new Map([[roomId, [bob]]]), 'stopping travels too');

  clock.advance(MAX_TYPING_TIMEOUT_MS + 1);
  t.same(one.typing.typingSince([roomId], 0).rooms, new Map([[roomId, []]]), 'each process expires typers by itself');
  t.same(two.typing.typingSince([roomId], 0).rooms, new Map([[roomId, []]]));
});

void eachEngine(t, 'timeouts are capped, and a token from before a restart still sees who types', async (t, db) => {
  const { rooms, store } = roomWorld(t, db);
  const { roomId } = await rooms.createRoom({ creator: alice, preset: 'public_chat' });
  const bus = createMemoryBus();
  t.teardown(() => bus.close());
  const clock = fixedClock(1_700_000_000_000);
  const typing = createTypingService({ rooms: store, clock, relay: typingRelayOnBus(bus, silentLogger(), 'x'), scheduler: manualScheduler() });
  t.teardown(() => typing.close());
  await typing.setTyping(requester(alice), roomId, alice, true, 24 * 3600_000);
  clock.advance(MAX_TYPING_TIMEOUT_MS + 1);
  t.same(typing.typingSince([roomId], 0).rooms, new Map([[roomId, []]]), 'a day-long timeout was cut to the cap');

  await typing.setTyping(requester(alice), roomId, alice, true, 1000);
  t.same(typing.typingSince([roomId], 10_000).rooms, new Map([[roomId, [alice]]]), 'a position this process never reached reads as 0');
});
