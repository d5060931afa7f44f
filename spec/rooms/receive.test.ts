import t from 'tap';
import { buildEvent, type EventDraft } from '../../src/events/builder.js';
import { authEventsSelection, getRoomVersion, stateKey, type PduJson, type RoomEvent, type StateMap } from '../../src/events/index.js';
import type { RoomStore } from '../../src/rooms/ports.js';
import { eachEngine } from '../helpers/database.js';
import { localKey, REMOTE, remoteKey, roomWorld } from '../helpers/rooms.js';

const alice = '@alice:hearth.test';
const rob = '@rob:remote.test';
const eve = '@eve:remote.test';
const rules = getRoomVersion('10')!;

/** Builds an event as the remote server would: on the given prev events, with auth events from `state`. */
async function remoteEvent(
  store: RoomStore,
  roomId: string,
  draft: EventDraft,
  prevIds: readonly string[],
  state: StateMap,
  options: { key?: typeof remoteKey; now?: number } = {},
): Promise<RoomEvent> {
  const prev = await store.events(prevIds);
  const selection = authEventsSelection({ ...draft, stateKey: draft.stateKey }, rules);
  const authIds = selection.map((key) => state.get(key)).filter((id): id is string => id !== undefined);
  const auth = await store.events(authIds);
  return buildEvent(draft, {
    rules,
    roomId,
    origin: REMOTE,
    key: options.key ?? remoteKey,
    now: options.now ?? 1_700_000_100_000,
    prevEvents: prevIds.map((id) => prev.get(id)!.event),
    authEvents: authIds.map((id) => auth.get(id)!.event),
  });
}

async function setup(t: Parameters<Parameters<typeof eachEngine>[2]>[0], db: Parameters<Parameters<typeof eachEngine>[2]>[1]) {
  const world = roomWorld(t, db);
  const { roomId } = await world.rooms.createRoom({ creator: alice, roomVersion: '10', preset: 'public_chat' });
  const head = async () => (await world.store.forwardExtremities(roomId))[0]!;
  const current = () => world.store.currentState(roomId);
  const join = await remoteEvent(world.store, roomId, { type: 'm.room.member', stateKey: rob, sender: rob, content: { membership: 'join' } }, [await head()], await current());
  const outcome = await world.receive.receivePdu(roomId, join.pdu, REMOTE);
  return { ...world, roomId, head, current, join, joinOutcome: outcome };
}

t.test('the receive pipeline', async (t) => {
  await eachEngine(t, 'accepts a remote join and messages, and moves the room along', async (t, db) => {
    const { store, receive, roomId, head, current, join, joinOutcome, positions } = await setup(t, db);
    t.match(joinOutcome, { status: 'accepted', eventId: join.eventId });
    t.equal((await current()).get(stateKey('m.room.member', rob)), join.eventId, 'rob is in the current state');
    t.same(await store.forwardExtremities(roomId), [join.eventId]);
    const message = await remoteEvent(store, roomId, { type: 'm.room.message', sender: rob, content: { body: 'hello' } }, [await head()], await current());
    t.match(await receive.receivePdu(roomId, message.pdu, REMOTE), { status: 'accepted' });
    t.match(await receive.receivePdu(roomId, message.pdu, REMOTE), { status: 'duplicate' }, 'a second copy changes nothing');
    t.ok(positions.length > 0);
    const stored = (await store.events([message.eventId])).get(message.eventId);
    t.equal(JSON.stringify(stored?.event.pdu), JSON.stringify(message.pdu), 'stored verbatim');
  });

  await eachEngine(t, 'refuses bad signatures and wrong origins without storing anything', async (t, db) => {
    const { store, receive, roomId, head, current } = await setup(t, db);
    const forged = await remoteEvent(store, roomId, { type: 'm.room.message', sender: rob, content: { body: 'forged' } }, [await head()], await current(), { key: localKey });
    t.match(await receive.receivePdu(roomId, forged.pdu, REMOTE), { status: 'rejected', reason: /no valid signature from remote\.test/ });
    t.equal((await store.events([forged.eventId])).size, 0, 'nothing stored');
    const genuine = await remoteEvent(store, roomId, { type: 'm.room.message', sender: rob, content: { body: 'x' } }, [await head()], await current());
    t.match(await receive.receivePdu(roomId, genuine.pdu, 'evil.test'), { status: 'rejected', reason: /format/ }, 'a server may not relay as its own another server’s event');
    const malformed = { ...genuine.pdu, depth: 'deep' } as PduJson;
    t.match(await receive.receivePdu(roomId, malformed, REMOTE), { status: 'rejected', reason: /format: .*depth/ });
  });

  await eachEngine(t, 'an event whose content was tampered with is kept in its redacted form', async (t, db) => {
    const { store, receive, roomId, head, current } = await setup(t, db);
    const message = await remoteEvent(store, roomId, { type: 'm.room.message', sender: rob, content: { body: 'original' } }, [await head()], await current());
    const tampered = { ...message.pdu, content: { body: 'tampered' } };
    t.match(await receive.receivePdu(roomId, tampered, REMOTE), { status: 'accepted', eventId: message.eventId });
    const stored = (await store.events([message.eventId])).get(message.eventId);
    t.same(stored?.event.content, {}, 'the content is gone, not the tampered text');
  });

  await eachEngine(t, 'an event failing auth is stored as rejected and its followers are rejected too', async (t, db) => {
    const { store, receive, roomId, head, current } = await setup(t, db);
    const intruder = await remoteEvent(store, roomId, { type: 'm.room.message', sender: eve, content: { body: 'let me in' } }, [await head()], await current());
    const outcome = await receive.receivePdu(roomId, intruder.pdu, REMOTE);
    t.match(outcome, { status: 'rejected', eventId: intruder.eventId });
    const stored = (await store.events([intruder.eventId])).get(intruder.eventId);
    t.ok(stored?.rejectedReason, 'kept as rejected');
    t.equal(stored?.streamPosition, null, 'never on the stream');
    t.notSame(await store.forwardExtremities(roomId), [intruder.eventId], 'not an extremity');
    t.same(await store.stateAfter(intruder.eventId), await current(), 'kept with the state before it, which it leaves as it was');
    const follower = await remoteEvent(store, roomId, { type: 'm.room.message', sender: rob, content: { body: 'after the intruder' } }, [intruder.eventId], await current());
    t.match(await receive.receivePdu(roomId, follower.pdu, REMOTE), { status: 'accepted' }, 'an event built on it needs nothing fetched');
  });

  await eachEngine(t, 'an event allowed by the state before it but not the current state is soft-failed', async (t, db) => {
    const { store, rooms, receive, roomId, head, current } = await setup(t, db);
    const beforeBan = await head();
    const stateBeforeBan = await current();
    const ban = await rooms.ban(roomId, alice, rob, 'spam');
    const late = await remoteEvent(store, roomId, { type: 'm.room.message', sender: rob, content: { body: 'after my ban' } }, [beforeBan], stateBeforeBan);
    t.match(await receive.receivePdu(roomId, late.pdu, REMOTE), { status: 'soft-failed' });
    t.same(await store.forwardExtremities(roomId), [ban.event.eventId], 'the room does not build on it');
    t.equal((await store.events([late.eventId])).get(late.eventId)?.softFailed, true);
  });

  await eachEngine(t, 'a redaction naming an event of another room is soft-failed and redacts nothing', async (t, db) => {
    const { store, rooms, receive, roomId, head, current } = await setup(t, db);
    const message = await remoteEvent(store, roomId, { type: 'm.room.message', sender: rob, content: { body: 'keep me' } }, [await head()], await current());
    t.match(await receive.receivePdu(roomId, message.pdu, REMOTE), { status: 'accepted' });

    const { roomId: other } = await rooms.createRoom({ creator: alice, roomVersion: '10', preset: 'public_chat' });
    const otherHead = async () => (await store.forwardExtremities(other))[0]!;
    const robInOther = await remoteEvent(store, other, { type: 'm.room.member', stateKey: rob, sender: rob, content: { membership: 'join' } }, [await otherHead()], await store.currentState(other));
    t.match(await receive.receivePdu(other, robInOther.pdu, REMOTE), { status: 'accepted' });
    const crossRoom = await remoteEvent(store, other, { type: 'm.room.redaction', sender: rob, redacts: message.eventId, content: {} }, [await otherHead()], await store.currentState(other));
    t.match(await receive.receivePdu(other, crossRoom.pdu, REMOTE), { status: 'soft-failed', reason: /another room/ });
    t.same(await store.forwardExtremities(other), [robInOther.eventId], 'not built upon');
    t.same((await store.redactionsOf([message.eventId])).get(message.eventId), undefined, 'the message keeps its content');

    const sameRoom = await remoteEvent(store, roomId, { type: 'm.room.redaction', sender: rob, redacts: message.eventId, content: {} }, [await head()], await current());
    t.match(await receive.receivePdu(roomId, sameRoom.pdu, REMOTE), { status: 'accepted' }, 'a redaction in the same room is accepted as before');
  });

  await eachEngine(t, 'unknown prev events are reported, not guessed', async (t, db) => {
    const { store, receive, roomId, current } = await setup(t, db);
    const base = await remoteEvent(store, roomId, { type: 'm.room.message', sender: rob, content: { body: 'first' } }, [(await store.forwardExtremities(roomId))[0]!], await current());
    const follower = buildEvent(
      { type: 'm.room.message', sender: rob, content: { body: 'second' } },
      { rules, roomId, origin: REMOTE, key: remoteKey, now: 1_700_000_200_000, prevEvents: [base], authEvents: (await store.events(base.authEvents)).size ? [...(await store.events(base.authEvents)).values()].map((s) => s.event) : [] },
    );
    t.match(await receive.receivePdu(roomId, follower.pdu, REMOTE), { status: 'missing', missing: [base.eventId] });
    t.match(await receive.receivePdu(roomId, base.pdu, REMOTE), { status: 'accepted' });
    t.match(await receive.receivePdu(roomId, follower.pdu, REMOTE), { status: 'accepted' }, 'accepted once the gap is filled');
  });

  await eachEngine(t, 'a branch makes two extremities; the next local event joins them and state is resolved', async (t, db) => {
    const { store, rooms, receive, roomId, head, current } = await setup(t, db);
    const forkPoint = await head();
    const stateAtFork = await current();
    const topic = await rooms.send(roomId, { type: 'm.room.topic', stateKey: '', sender: alice, content: { topic: 'local branch' } });
    const remoteName = await remoteEvent(store, roomId, { type: 'm.room.message', sender: rob, content: { body: 'from the other branch' } }, [forkPoint], stateAtFork);
    t.match(await receive.receivePdu(roomId, remoteName.pdu, REMOTE), { status: 'accepted' });
    t.same(new Set(await store.forwardExtremities(roomId)), new Set([topic.event.eventId, remoteName.eventId]), 'two extremities');
    t.equal((await current()).get(stateKey('m.room.topic', '')), topic.event.eventId, 'the resolved state keeps the topic');
    const merge = await rooms.send(roomId, { type: 'm.room.message', sender: alice, content: { body: 'merging' } });
    t.same(new Set(merge.event.prevEvents), new Set([topic.event.eventId, remoteName.eventId]), 'the next event follows both');
    t.same(await store.forwardExtremities(roomId), [merge.event.eventId]);
  });
});
