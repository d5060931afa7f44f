import t from 'tap';
import { applyDeviceListUpdate, parseUserDevices, queriedDeviceKeys, type RemoteDeviceList } from '../../src/e2ee/index.js';

const bob = '@bob:b.test';

t.test('a /user/devices answer is read for the user it names only', async (t) => {
  t.equal(parseUserDevices(bob, { user_id: '@other:b.test', stream_id: 1, devices: [] }), undefined, 'another user');
  t.equal(parseUserDevices(bob, { user_id: bob, stream_id: -1, devices: [] }), undefined, 'a negative stream id');
  t.equal(parseUserDevices(bob, { user_id: bob, stream_id: 1.5, devices: [] }), undefined, 'a fractional stream id');
  t.equal(parseUserDevices(bob, { user_id: bob, stream_id: 1 }), undefined, 'no devices');
  const list = parseUserDevices(bob, {
    user_id: bob,
    stream_id: 7,
    devices: [
      { device_id: 'A', keys: { user_id: bob, device_id: 'A' }, device_display_name: 'Laptop' },
      { device_id: 'B' },
      { device_id: 'C', keys: { user_id: bob, device_id: 'NOT_C' } },
      { device_id: 42 },
      'junk',
    ],
  });
  t.same(list, { streamId: 7, knownIds: [7], devices: { A: { keys: { user_id: bob, device_id: 'A' }, displayName: 'Laptop' }, B: { keys: {} } } });
});

t.test('m.device_list_update applies on top when it follows what the copy has seen', async (t) => {
  const list: RemoteDeviceList = { streamId: 5, knownIds: [3, 5], devices: { A: { keys: { user_id: bob, device_id: 'A' } } } };
  const update = (content: Record<string, unknown>) => applyDeviceListUpdate(list, { user_id: bob, device_id: 'A', stream_id: 6, prev_id: [5], ...content });

  t.same(applyDeviceListUpdate(undefined, { user_id: bob, device_id: 'A', stream_id: 1 }), { kind: 'resync' }, 'no copy: fetch the list');
  t.match(update({}), { kind: 'apply', list: { streamId: 6, knownIds: [3, 5, 6], devices: { A: { keys: {} } } } }, 'the device replaced');
  t.match(update({ device_display_name: 'Phone' }), { kind: 'apply', list: { devices: { A: { displayName: 'Phone' } } } });
  t.match(update({ deleted: true }), { kind: 'apply', list: { devices: {} } });
  t.match(update({ prev_id: [] }), { kind: 'apply' }, 'no prev_id: nothing in between');
  t.match(update({ prev_id: [3] }), { kind: 'apply' }, 'a prev_id seen before');
  t.same(update({ prev_id: [4] }), { kind: 'resync' }, 'a prev_id never seen: an update was missed');
  t.same(update({ stream_id: 4, prev_id: [3] }), { kind: 'ignore', reason: 'already seen' });
  t.match(update({ stream_id: 5, prev_id: [3], device_id: 'B' }), { kind: 'apply', list: { streamId: 5, devices: { A: {}, B: {} } } }, 'another device of the same change');
  for (const bad of [{ stream_id: 'six' }, { prev_id: 5 }, { prev_id: ['5'] }, { device_id: '' }, { keys: { user_id: '@eve:b.test' } }, { keys: 'k' }]) {
    t.same(update(bad), { kind: 'ignore', reason: 'malformed' }, JSON.stringify(bad));
  }
  const many = { ...list, knownIds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], streamId: 10 };
  const applied = applyDeviceListUpdate(many, { user_id: bob, device_id: 'A', stream_id: 11, prev_id: [10] });
  t.same(applied.kind === 'apply' ? applied.list.knownIds : [], [2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 'the most recent ten stream ids are remembered');
});

t.test('/keys/query answers from the list, display names under unsigned', async (t) => {
  const list: RemoteDeviceList = {
    streamId: 1,
    knownIds: [1],
    devices: { A: { keys: { device_id: 'A', unsigned: { other: 1 } }, displayName: 'Laptop' }, B: { keys: { device_id: 'B' } } },
  };
  t.same(queriedDeviceKeys(list, []), { A: { device_id: 'A', unsigned: { other: 1, device_display_name: 'Laptop' } }, B: { device_id: 'B' } });
  t.same(Object.keys(queriedDeviceKeys(list, ['B', 'Z'])), ['B'], 'only the devices asked for');
});
