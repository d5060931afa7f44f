import t from 'tap';
import { createKeysService, type KeyStore } from '../../src/e2ee/index.js';
import { createEduProducers, type EduQueue } from '../../src/federation/index.js';
import { silentLogger } from '../../src/platform/logger.js';

interface Queued {
  readonly destinations: string[];
  readonly eduType: string;
  readonly content: Readonly<Record<string, unknown>>;
  readonly dedupeKey: string | undefined;
}

/** A sender that records what is queued; rooms !r1 (a.test, b.test) and !r2 (b.test, c.test). */
function fakeSender(): EduQueue & { queued: Queued[] } {
  const queued: Queued[] = [];
  const servers: Record<string, string[]> = { '!r1:local.test': ['a.test', 'b.test'], '!r2:local.test': ['b.test', 'c.test'] };
  return {
    queued,
    async enqueueEdu(destinations, eduType, content, dedupeKey) {
      queued.push({ destinations: [...destinations], eduType, content, dedupeKey });
    },
    roomDestinations: async (roomId) => servers[roomId] ?? [],
  };
}

function producers(sender = fakeSender(), previous = 0) {
  const edus = createEduProducers({
    sender,
    roomsWithMembership: async (userId) => (userId === '@me:local.test' ? ['!r1:local.test', '!r2:local.test'] : []),
    previousDeviceListPosition: async () => previous,
    serverName: 'local.test',
    log: silentLogger(),
  });
  return { edus, sender };
}

t.test('m.receipt goes to the room\'s other servers, keyed for dedupe; private and remote receipts stay here', async (t) => {
  const { edus, sender } = producers();
  await edus.receipt({ roomId: '!r1:local.test', userId: '@me:local.test', receiptType: 'm.read', eventId: '$e', threadId: null, ts: 5 });
  t.same(sender.queued, [{
    destinations: ['a.test', 'b.test'],
    eduType: 'm.receipt',
    content: { '!r1:local.test': { 'm.read': { '@me:local.test': { event_ids: ['$e'], data: { ts: 5 } } } } },
    dedupeKey: 'receipt:!r1:local.test:@me:local.test:m.read',
  }]);
  await edus.receipt({ roomId: '!r1:local.test', userId: '@me:local.test', receiptType: 'm.read', eventId: '$f', threadId: '$root', ts: 6 });
  t.match(sender.queued[1], {
    content: { '!r1:local.test': { 'm.read': { '@me:local.test': { data: { ts: 6, thread_id: '$root' } } } } },
    dedupeKey: 'receipt:!r1:local.test:@me:local.test:m.read:$root',
  }, 'a threaded receipt carries thread_id and does not replace the unthreaded one');
  await edus.receipt({ roomId: '!r1:local.test', userId: '@me:local.test', receiptType: 'm.read.private', eventId: '$e', threadId: null, ts: 7 });
  await edus.receipt({ roomId: '!r1:local.test', userId: '@them:a.test', receiptType: 'm.read', eventId: '$e', threadId: null, ts: 7 });
  t.equal(sender.queued.length, 2, 'private receipts and remote users\' receipts are not sent');
});

t.test('m.presence goes to every server sharing a room with the user, latest only', async (t) => {
  const { edus, sender } = producers();
  await edus.presence('@me:local.test', { presence: 'online', last_active_ago: 0, currently_active: true, status_msg: 'hi' });
  t.same(sender.queued, [{
    destinations: ['a.test', 'b.test', 'c.test'],
    eduType: 'm.presence',
    content: { push: [{ user_id: '@me:local.test', presence: 'online', last_active_ago: 0, currently_active: true, status_msg: 'hi' }] },
    dedupeKey: 'presence:@me:local.test',
  }]);
  await edus.presence('@lonely:local.test', { presence: 'offline' });
  t.same(sender.queued[1]?.destinations ?? [], [], 'no room, no destination');
});

t.test('m.device_list_update: one per device, stream_id and prev_id, keys or deleted', async (t) => {
  const { edus, sender } = producers(fakeSender(), 41);
  await edus.deviceListChanged('@me:local.test', 42, [
    { deviceId: 'NEW', deleted: false, keys: { user_id: '@me:local.test', device_id: 'NEW' }, displayName: 'Phone' },
    { deviceId: 'OLD', deleted: true },
  ]);
  t.same(sender.queued.map((q) => [q.destinations, q.eduType, q.content, q.dedupeKey]), [
    [['a.test', 'b.test', 'c.test'], 'm.device_list_update', {
      user_id: '@me:local.test', device_id: 'NEW', stream_id: 42, prev_id: [41], deleted: false,
      keys: { user_id: '@me:local.test', device_id: 'NEW' }, device_display_name: 'Phone',
    }, undefined],
    [['a.test', 'b.test', 'c.test'], 'm.device_list_update', { user_id: '@me:local.test', device_id: 'OLD', stream_id: 42, prev_id: [41], deleted: true }, undefined],
  ]);
  const first = producers(fakeSender(), 0);
  await first.edus.deviceListChanged('@me:local.test', 1, [{ deviceId: 'A', deleted: false }]);
  t.same(first.sender.queued[0]?.content.prev_id, [], 'the first update has no prev_id');
});

t.test('the keys service names the changed devices as remote servers see them', async (t) => {
  const updates: unknown[] = [];
  const store = {
    deviceIds: async () => ['KEPT', 'BARE'],
    publishedDevices: async () => [{ userId: '@me:local.test', deviceId: 'KEPT', displayName: 'Laptop', keys: { user_id: '@me:local.test', device_id: 'KEPT' } }],
    crossSigningKeys: async () => [],
    signaturesOn: async () => [],
  } as unknown as KeyStore;
  const keys = createKeysService({
    store, log: silentLogger(), serverName: 'local.test', joinedRooms: async () => [], notify: () => undefined,
    federateDevices: async (userId, position, list) => void updates.push({ userId, position, list }),
  });
  await keys.announce('@me:local.test', 7, ['KEPT', 'GONE', 'BARE']);
  t.same(updates, [{ userId: '@me:local.test', position: 7, list: [
    { deviceId: 'KEPT', deleted: false, keys: { user_id: '@me:local.test', device_id: 'KEPT' }, displayName: 'Laptop' },
    { deviceId: 'GONE', deleted: true },
    { deviceId: 'BARE', deleted: false },
  ] }]);
  await keys.announce('@me:local.test', 8);
  await keys.announce('@them:a.test', 9, ['X']);
  t.equal(updates.length, 1, 'no device named, or a remote user: nothing to send');
});

t.test('m.signing_key_update carries the master and self-signing keys', async (t) => {
  const { edus, sender } = producers();
  await edus.signingKeysChanged('@me:local.test', { master: { usage: ['master'] }, selfSigning: { usage: ['self_signing'] } });
  t.same(sender.queued, [{
    destinations: ['a.test', 'b.test', 'c.test'],
    eduType: 'm.signing_key_update',
    content: { user_id: '@me:local.test', master_key: { usage: ['master'] }, self_signing_key: { usage: ['self_signing'] } },
    dedupeKey: undefined,
  }]);
  await edus.signingKeysChanged('@me:local.test', {});
  t.equal(sender.queued.length, 1, 'nothing new, nothing sent');
});

t.test('m.direct_to_device: one EDU per server with that server\'s users', async (t) => {
  const { edus, sender } = producers();
  await edus.toDevice({
    sender: '@me:local.test',
    type: 'm.room_key',
    messageId: 'mid',
    byServer: new Map<string, Record<string, Record<string, Record<string, unknown>>>>([
      ['a.test', { '@a:a.test': { D: { k: 1 } }, '@b:a.test': { '*': { k: 2 } } }],
      ['c.test', { '@c:c.test': { E: { k: 3 } } }],
    ]),
  });
  t.same(sender.queued, [
    { destinations: ['a.test'], eduType: 'm.direct_to_device', content: { sender: '@me:local.test', type: 'm.room_key', message_id: 'mid', messages: { '@a:a.test': { D: { k: 1 } }, '@b:a.test': { '*': { k: 2 } } } }, dedupeKey: 'to-device:@me:local.test:mid' },
    { destinations: ['c.test'], eduType: 'm.direct_to_device', content: { sender: '@me:local.test', type: 'm.room_key', message_id: 'mid', messages: { '@c:c.test': { E: { k: 3 } } } }, dedupeKey: 'to-device:@me:local.test:mid' },
  ]);
});

t.test('a failing queue is logged, never thrown into the change that produced the EDU', async (t) => {
  const sender = fakeSender();
  sender.enqueueEdu = async () => { throw new Error('database gone'); };
  const { edus } = producers(sender);
  await t.resolves(edus.presence('@me:local.test', { presence: 'online' }));
});
