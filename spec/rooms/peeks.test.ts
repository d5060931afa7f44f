import t from 'tap';
import { createRoomPeeks, type PeekStore, type RoomPeeksDeps } from '../../src/rooms/index.js';
import { isMatrixError } from '../../src/protocol/index.js';

/** The peek service's refusals (src/rooms/peeks.ts); the whole flow is in spec/api/client/peeks.test.ts. */

const ROOM = '!room:hearth.test';
const VISIBILITY_EVENT = '$visibility';

/** A world_readable room this server is in, as the room store reads it; `over` changes what differs. */
function peeksWith(over: Partial<RoomPeeksDeps> & { resident?: boolean }) {
  const peeked: string[] = [];
  // Only what the peek service reads of a room, its state and events: the rest of each type is left out.
  const store: RoomPeeksDeps['store'] = {
    room: async () => ({ roomId: ROOM, roomVersion: '10', creator: '@alice:hearth.test' }) as never,
    hasJoinedMember: async () => over.resident ?? true,
    currentStateEntries: async () => new Map([['["m.room.history_visibility",""]', VISIBILITY_EVENT]]) as never,
    events: async () => new Map([[VISIBILITY_EVENT, { event: { content: { history_visibility: 'world_readable' } } }]]) as never,
  };
  const peeks: PeekStore = {
    peek: async (_user, _device, roomId) => peeked.push(roomId),
    unpeek: async () => null,
  };
  return { service: createRoomPeeks({ store, peeks, serverName: 'hearth.test', resolve: async (value) => value, ...over }), peeked };
}

async function errcodeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (err) {
    return isMatrixError(err) ? err.errcode : String(err);
  }
}

const BOB = { userId: '@bob:hearth.test', deviceId: 'PHONE' };

t.test('a world_readable room this server is in can be peeked into', async (t) => {
  const { service, peeked } = peeksWith({});
  t.equal(await service.peek(BOB, ROOM), ROOM);
  t.same(peeked, [ROOM]);
});

t.test('a room a server admin blocked cannot be peeked into', async (t) => {
  const { service, peeked } = peeksWith({ roomBlocked: async (roomId) => roomId === ROOM });
  t.equal(await errcodeOf(service.peek(BOB, ROOM)), 'M_FORBIDDEN');
  t.same(peeked, [], 'nothing recorded');
});

t.test('a room no user of this server is in cannot be peeked into', async (t) => {
  const { service, peeked } = peeksWith({ resident: false });
  t.equal(await errcodeOf(service.peek(BOB, ROOM)), 'M_NOT_FOUND');
  t.same(peeked, [], 'nothing recorded');
});
