import t from 'tap';
import { createMemoryBus } from '../../src/platform/bus.js';
import { silentLogger } from '../../src/platform/logger.js';
import {
  PRESENCE_CHANNEL,
  RECEIPTS_CHANNEL,
  streamChannel,
  streamNotifierOnBus,
  TO_DEVICE_CHANNEL,
  TYPING_CHANNEL,
  typingRelayOnBus,
} from '../../src/platform/stream-notices.js';
import type { TypingNotice } from '../../src/ephemeral/index.js';
import { busRecorder, busSettled } from '../helpers/ephemeral.js';

t.test('each stream announces itself on stream.<name> with its position as a string', async (t) => {
  const bus = createMemoryBus();
  t.teardown(() => bus.close());
  t.same([RECEIPTS_CHANNEL, TYPING_CHANNEL, TO_DEVICE_CHANNEL, PRESENCE_CHANNEL], ['stream.receipts', 'stream.typing', 'stream.toDevice', 'stream.presence']);
  t.equal(streamChannel('events'), 'stream.events', 'the events stream follows the same rule');
  const heard = busRecorder(bus, [RECEIPTS_CHANNEL, TO_DEVICE_CHANNEL]);
  streamNotifierOnBus(bus, silentLogger(), 'receipts')({ position: 7, rooms: ['!r:hearth.test'] });
  streamNotifierOnBus(bus, silentLogger(), 'toDevice')({ position: 9, users: ['@bob:hearth.test'] });
  await busSettled();
  t.same(heard, [
    [RECEIPTS_CHANNEL, { position: '7', rooms: ['!r:hearth.test'] }],
    [TO_DEVICE_CHANNEL, { position: '9', users: ['@bob:hearth.test'] }],
  ]);
});

t.test("the typing relay hands a process only the other processes' changes, and drops malformed ones", async (t) => {
  const bus = createMemoryBus();
  t.teardown(() => bus.close());
  const one = typingRelayOnBus(bus, silentLogger(), 'one');
  const two = typingRelayOnBus(bus, silentLogger(), 'two');
  const toOne: TypingNotice[] = [];
  const toTwo: TypingNotice[] = [];
  one.subscribe((notice) => toOne.push(notice));
  two.subscribe((notice) => toTwo.push(notice));
  const update = { roomId: '!r:hearth.test', userId: '@a:hearth.test', expiresTs: 5 };
  one.publish({ position: 3, rooms: [update.roomId], update });
  await bus.publish(TYPING_CHANNEL, { position: 'x', origin: 'three' });
  await bus.publish(TYPING_CHANNEL, { position: '4', origin: 'three', typing: { roomId: 1 } });
  await busSettled();
  t.same(toOne, [], 'a process does not hear itself');
  t.same(toTwo, [{ position: 3, rooms: [update.roomId], update }], 'the other does, with the change itself');
});

t.test('a closed bus does not make a committed write fail', async (t) => {
  const bus = createMemoryBus();
  await bus.close();
  t.doesNotThrow(() => streamNotifierOnBus(bus, silentLogger(), 'presence')({ position: 1, users: ['@a:hearth.test'] }));
  t.doesNotThrow(() => typingRelayOnBus(bus, silentLogger(), 'x').publish({ position: 1 }));
});
