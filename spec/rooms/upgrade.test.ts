import t from 'tap';
import { stateKey } from '../../src/events/index.js';
import { MatrixError, parseRoomId } from '../../src/protocol/index.js';
import { createRoomUpgrades } from '../../src/rooms/upgrade.js';
import { fixedClock } from '../../src/platform/clock.js';
import { eachEngine } from '../helpers/database.js';
import { rejectsWith } from '../helpers/errors.js';
import { roomWorld } from '../helpers/rooms.js';

const alice = '@alice:hearth.test';
const caller = { userId: alice, deviceId: null };

/** Upgrades over a real room server and store; aliases and the directory are empty stand-ins. */
function upgradesOf(world: ReturnType<typeof roomWorld>, rooms: Parameters<typeof createRoomUpgrades>[0]['rooms'] = world.rooms) {
  return createRoomUpgrades({
    rooms,
    store: world.store,
    aliases: { alias: async () => undefined, createAlias: async () => true, deleteAlias: async () => false, roomAliases: async () => [] },
    directory: { isPublished: async () => false, setPublished: async () => undefined },
    clock: fixedClock(1_700_000_000_000),
  });
}

async function tombstoneOf(world: ReturnType<typeof roomWorld>, roomId: string) {
  const id = (await world.store.currentState(roomId)).get(stateKey('m.room.tombstone', ''));
  return id === undefined ? undefined : (await world.store.events([id])).get(id)?.event;
}

t.test('room upgrades', async (t) => {
  await eachEngine(t, 'to v1-11 the tombstone comes first and is the predecessor event; to v12 it follows', async (t, db) => {
    const world = roomWorld(t, db);
    const upgrades = upgradesOf(world);
    const { roomId: old10 } = await world.rooms.createRoom({ creator: alice, roomVersion: '10', preset: 'public_chat' });
    const to11 = await upgrades.upgrade(caller, parseRoomId(old10), '11');
    const tombstone = await tombstoneOf(world, old10);
    t.equal(tombstone?.content.replacement_room, to11);
    const create11 = (await world.store.events([(await world.store.currentState(to11)).get(stateKey('m.room.create', ''))!])).values().next().value?.event;
    t.same(create11?.content.predecessor, { room_id: old10, event_id: tombstone?.eventId }, 'the predecessor is the tombstone');

    const to12 = await upgrades.upgrade(caller, parseRoomId(to11), '12');
    const create12 = (await world.store.events([(await world.store.currentState(to12)).get(stateKey('m.room.create', ''))!])).values().next().value?.event;
    t.equal(create12?.roomId, to12, 'the v12 id is the create event\'s');
    t.equal((await tombstoneOf(world, to11))?.content.replacement_room, to12, 'the tombstone names the v12 room');
    t.not((create12?.content.predecessor as { event_id?: string }).event_id, (await tombstoneOf(world, to11))?.eventId, 'and follows its create event');
  });

  await eachEngine(t, 'a replacement room that cannot be made leaves no tombstone pointing at it', async (t, db) => {
    const world = roomWorld(t, db);
    const failing = {
      ...world.rooms,
      createRoom: async () => {
        throw new MatrixError('M_UNKNOWN', 'the disk is full');
      },
    };
    const { roomId } = await world.rooms.createRoom({ creator: alice, roomVersion: '10', preset: 'public_chat' });
    await rejectsWith(t, upgradesOf(world, failing).upgrade(caller, parseRoomId(roomId), '11'), 'M_UNKNOWN');
    t.same((await tombstoneOf(world, roomId))?.content, {}, 'the tombstone sent first is emptied');
    const sent = await world.rooms.send(roomId, { type: 'm.room.message', sender: alice, content: { msgtype: 'm.text', body: 'still here' } });
    t.ok(sent.event.eventId, 'the old room goes on');
  });
});
