import t from 'tap';
import { MatrixError } from '../../src/protocol/index.js';
import { createFederationReads } from '../../src/rooms/index.js';
import { createDirectoryStore } from '../../src/storage/index.js';
import { eachEngine } from '../helpers/database.js';
import { remoteEvent } from '../helpers/federation.js';
import { LOCAL, REMOTE, roomWorld } from '../helpers/rooms.js';

const alice = '@alice:hearth.test';
const rob = '@rob:remote.test';

t.test('federation reads and history visibility for servers', async (t) => {
  await eachEngine(t, "'joined' history: a server sees what came after its user joined, earlier events only redacted", async (t, db) => {
    const { store, rooms, receive } = roomWorld(t, db);
    const reads = createFederationReads({ store, aliases: createDirectoryStore(db.sql), serverName: LOCAL });
    const { roomId } = await rooms.createRoom({ creator: alice, roomVersion: '10', preset: 'public_chat' });
    await rooms.send(roomId, { type: 'm.room.history_visibility', stateKey: '', sender: alice, content: { history_visibility: 'joined' } });
    const before = (await rooms.send(roomId, { type: 'm.room.message', sender: alice, content: { body: 'before rob' } })).event;
    await t.rejects(reads.event(REMOTE, before.eventId), new MatrixError('M_FORBIDDEN', ''), 'not in the room: refused');

    const join = await remoteEvent(store, roomId, { type: 'm.room.member', stateKey: rob, sender: rob, content: { membership: 'join' } }, await store.forwardExtremities(roomId), await store.currentState(roomId));
    t.match(await receive.receivePdu(roomId, join.pdu, REMOTE), { status: 'accepted' });
    const after = (await rooms.send(roomId, { type: 'm.room.message', sender: alice, content: { body: 'after rob' } })).event;

    t.same((await reads.event(REMOTE, after.eventId)).content, { body: 'after rob' });
    t.same((await reads.event(REMOTE, before.eventId)).content, {}, 'in the room now, but not then: redacted');
    t.same((await reads.event(REMOTE, join.eventId)).content, { membership: 'join' }, 'its own join');
    const walk = await reads.backfill(REMOTE, roomId, [after.eventId], 3);
    t.same(walk.map((pdu) => pdu.content), [{ body: 'after rob' }, { membership: 'join' }, {}]);
    const { roomId: otherRoom } = await rooms.createRoom({ creator: alice, roomVersion: '10', preset: 'private_chat' });
    const secret = (await rooms.send(otherRoom, { type: 'm.room.message', sender: alice, content: { body: 'secret' } })).event;
    t.same(await reads.backfill(REMOTE, roomId, [secret.eventId, '$unknown'], 5), [], "backfill from another room's event or an unknown one: nothing, not a 404");
    const missing = await reads.missingEvents(REMOTE, roomId, { earliestEvents: [], latestEvents: [after.eventId], limit: 2 });
    t.same(missing.map((pdu) => pdu.content), [{}, { membership: 'join' }], 'oldest first');
  });

  await eachEngine(t, "'shared' history: a server whose user joined later sees what came before", async (t, db) => {
    const { store, rooms, receive } = roomWorld(t, db);
    const reads = createFederationReads({ store, aliases: createDirectoryStore(db.sql), serverName: LOCAL });
    const { roomId } = await rooms.createRoom({ creator: alice, roomVersion: '10', preset: 'public_chat' });
    const before = (await rooms.send(roomId, { type: 'm.room.message', sender: alice, content: { body: 'early' } })).event;
    const join = await remoteEvent(store, roomId, { type: 'm.room.member', stateKey: rob, sender: rob, content: { membership: 'join' } }, await store.forwardExtremities(roomId), await store.currentState(roomId));
    t.match(await receive.receivePdu(roomId, join.pdu, REMOTE), { status: 'accepted' });
    t.same((await reads.event(REMOTE, before.eventId)).content, { body: 'early' });
    t.same(await reads.stateIds(REMOTE, roomId, before.eventId).then((s) => s.pduIds.length > 0), true);
    await t.rejects(reads.event('other.test', before.eventId), new MatrixError('M_FORBIDDEN', ''), 'a server with no user in the room');
  });
});
