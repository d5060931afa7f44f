import t from 'tap';
import { fixedClock } from '../../src/platform/clock.js';
import { silentLogger } from '../../src/platform/logger.js';
import { rejectsWith } from '../helpers/errors.js';
import { createSpaceHierarchy, type HierarchyStore, type RoomSummaryRow, type SpaceChildRow } from '../../src/rooms/index.js';

/** The space hierarchy over a store of plain data, and a remote server that answers as the test says. */

const room = (roomId: string, joinRule: string, extra: Record<string, Record<string, unknown>> = {}): RoomSummaryRow => ({
  roomId,
  roomVersion: '10',
  joinedMembers: 2,
  state: new Map<string, Record<string, unknown>>([['m.room.join_rules', { join_rule: joinRule }], ...Object.entries(extra)]),
});
const child = (roomId: string, stateKey: string, ts: number): SpaceChildRow => ({
  roomId, stateKey, sender: '@alice:here.test', originServerTs: ts, content: { via: [stateKey.split(':')[1]!] },
});

function world(rooms: RoomSummaryRow[], children: SpaceChildRow[], members: Record<string, string[]> = {}) {
  const store: HierarchyStore = {
    async summaries(ids) {
      return new Map(rooms.filter((r) => ids.includes(r.roomId)).map((r) => [r.roomId, r]));
    },
    async spaceChildren(ids) {
      const found = new Map<string, SpaceChildRow[]>();
      for (const row of children.filter((c) => ids.includes(c.roomId))) found.set(row.roomId, [...(found.get(row.roomId) ?? []), row]);
      return found;
    },
    async memberships() {
      return new Map();
    },
    async roomsWithServer(server, ids) {
      return new Set(ids.filter((id) => (members[id] ?? []).some((user) => user.endsWith(`:${server}`))));
    },
  };
  return store;
}

const space = (roomId: string, joinRule = 'public') => room(roomId, joinRule, { 'm.room.create': { type: 'm.space' } });

t.test('other servers get the space and the children their users could reach', async (t) => {
  const store = world(
    [space('!space:here.test'), room('!open:here.test', 'public'), room('!closed:here.test', 'invite'), room('!shared:here.test', 'invite'), room('!gated:here.test', 'restricted')],
    ['!open:here.test', '!closed:here.test', '!shared:here.test', '!gated:here.test', '!elsewhere:far.test'].map((id, i) => child('!space:here.test', id, i)),
    { '!shared:here.test': ['@bob:there.test'] },
  );
  const hierarchy = createSpaceHierarchy({ store, joinedRooms: async () => [], serverName: 'here.test', clock: fixedClock(0), log: silentLogger() });
  const answer = await hierarchy.forServer('there.test', '!space:here.test', false);
  t.equal(answer.room.room_id, '!space:here.test');
  t.same(answer.room.children_state.map((c) => c.state_key), ['!open:here.test', '!closed:here.test', '!shared:here.test', '!gated:here.test', '!elsewhere:far.test']);
  t.same(answer.children.map((c) => c.room_id), ['!open:here.test', '!shared:here.test', '!gated:here.test'],
    'public rooms, rooms with a user of theirs, and restricted rooms (they check the allow list)');
  t.same(answer.inaccessible_children, ['!closed:here.test'], 'what they cannot reach is named as such');
  await rejectsWith(t, hierarchy.forServer('there.test', '!closed:here.test', false), 'M_NOT_FOUND', undefined, 'an invite-only room of no concern to them');
  await rejectsWith(t, hierarchy.forServer('there.test', '!unknown:here.test', false), 'M_NOT_FOUND');
});

t.test('rooms this server has no state for are asked of the via servers, once for a while', async (t) => {
  const clock = fixedClock(1_000_000);
  const store = world([space('!space:here.test')], [child('!space:here.test', '!far:far.test', 1), child('!space:here.test', '!hidden:far.test', 2)]);
  const asked: string[] = [];
  const hierarchy = createSpaceHierarchy({
    store,
    joinedRooms: async () => [],
    serverName: 'here.test',
    clock,
    log: silentLogger(),
    remote: async (server, roomId) => {
      asked.push(`${server} ${roomId}`);
      if (roomId === '!hidden:far.test') throw new Error('404');
      return {
        room: { room_id: roomId, num_joined_members: 5, world_readable: false, guest_can_join: false, join_rule: 'public', name: 'Far away', children_state: [] },
        children: [],
        inaccessible_children: [],
      };
    },
  });
  const caller = { userId: '@bob:here.test', deviceId: 'D' };
  const page = await hierarchy.forUser(caller, '!space:here.test', {});
  t.same(page.rooms.map((r) => [r.room_id, r.name]), [['!space:here.test', undefined], ['!far:far.test', 'Far away']]);
  t.same(asked, ['far.test !far:far.test', 'far.test !hidden:far.test'], 'each asked of the server its child event names');
  await hierarchy.forUser(caller, '!space:here.test', {});
  t.equal(asked.filter((a) => a.endsWith('!far:far.test')).length, 1, 'an answer is kept');
  t.equal(asked.filter((a) => a.endsWith('!hidden:far.test')).length, 1, 'and so is the failure to get one, for a minute');
  clock.advance(6 * 60_000);
  await hierarchy.forUser(caller, '!space:here.test', {});
  t.equal(asked.filter((a) => a.endsWith('!far:far.test')).length, 2, 'for a few minutes');
  t.equal(asked.filter((a) => a.endsWith('!hidden:far.test')).length, 2, 'the failed room is asked again too');
});
