import t from 'tap';
import { SentMembers } from '../../src/sync/sent-members.js';

/** The per-device record of member events sent: bounded, so a busy server forgets (and resends) rather than grows. */

t.test('a device remembers the member events it was sent, per room', async (t) => {
  const sent = new SentMembers();
  const phone = sent.forDevice('@alice:hs', 'PHONE', false);
  phone.remember('!a:hs', '@bob:hs', '$join');
  t.ok(sent.forDevice('@alice:hs', 'PHONE', false).has('!a:hs', '@bob:hs', '$join'), 'the same event is known');
  t.notOk(phone.has('!a:hs', '@bob:hs', '$newer'), "bob's newer member event is not");
  t.notOk(phone.has('!b:hs', '@bob:hs', '$join'), 'nor bob in another room');
  t.notOk(sent.forDevice('@alice:hs', 'LAPTOP', false).has('!a:hs', '@bob:hs', '$join'), 'nor on another device');
  t.notOk(sent.forDevice('@alice:hs', 'PHONE', true).has('!a:hs', '@bob:hs', '$join'), 'an initial sync starts over');
});

t.test('the record is bounded per device and in devices', async (t) => {
  const sent = new SentMembers(2, 2);
  const phone = sent.forDevice('@alice:hs', 'PHONE', false);
  for (const member of ['@a:hs', '@b:hs', '@c:hs']) phone.remember('!r:hs', member, `$${member}`);
  t.notOk(phone.has('!r:hs', '@a:hs', '$@a:hs'), 'the oldest member is forgotten');
  t.ok(phone.has('!r:hs', '@c:hs', '$@c:hs'));
  sent.forDevice('@bob:hs', 'X', false);
  sent.forDevice('@carol:hs', 'Y', false);
  t.notOk(sent.forDevice('@alice:hs', 'PHONE', false).has('!r:hs', '@c:hs', '$@c:hs'), 'the least recently syncing device is forgotten');
});
