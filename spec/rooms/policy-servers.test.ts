import t from 'tap';
import { encodeBase64, signableJson, signBytes, signingKeyFromSeed } from '../../src/crypto/index.js';
import { authEventsSelection, buildEvent, getRoomVersion, redactEvent, type PduJson } from '../../src/events/index.js';
import type { PolicySigner } from '../../src/rooms/policy-servers.js';
import { eachEngine } from '../helpers/database.js';
import { rejectsWith } from '../helpers/errors.js';
import { REMOTE, remoteKey, remoteMembership, roomWorld } from '../helpers/rooms.js';

const alice = '@alice:hearth.test';
const rules = getRoomVersion('11')!;
const policyKey = signingKeyFromSeed('policy_server', new Uint8Array(32).fill(9));
const POLICY = { via: REMOTE, public_keys: { ed25519: encodeBase64(policyKey.publicKey) } };

/** A stand-in policy server at remote.test: signs what `verdict` lets through and refuses the rest as spam. */
function policyServer(verdict: (pdu: PduJson) => boolean = () => true) {
  const asked: PduJson[] = [];
  const signer: PolicySigner & { asked: PduJson[]; down: boolean; onAsk?: () => Promise<void> } = {
    asked,
    down: false,
    async askToSign(via, pdu) {
      asked.push(pdu);
      await signer.onAsk?.();
      if (signer.down) throw new Error('connect ECONNREFUSED');
      if (via !== REMOTE) throw Object.assign(new Error('404'), { remoteStatus: 404, remoteErrcode: 'M_UNRECOGNIZED' });
      if (!verdict(pdu)) throw Object.assign(new Error('400'), { remoteStatus: 400, remoteErrcode: 'M_FORBIDDEN', remoteError: 'This message looks like spam' });
      return { [REMOTE]: { 'ed25519:policy_server': encodeBase64(signBytes(policyKey, signableJson(redactEvent(pdu, rules)))) } };
    },
  };
  return signer;
}

const body = (pdu: PduJson) => (pdu.content as { body?: string }).body;
const text = (content: string) => ({ type: 'm.room.message', sender: alice, content: { msgtype: 'm.text', body: content } });

/** A v11 room of alice's whose m.room.policy names remote.test; `joined`: a remote.test user is in it. */
async function protectedRoom(world: ReturnType<typeof roomWorld>, joined: boolean) {
  const { roomId } = await world.rooms.createRoom({ creator: alice, roomVersion: '11', preset: 'public_chat' });
  await world.rooms.send(roomId, { type: 'm.room.policy', stateKey: '', sender: alice, content: POLICY });
  if (joined) await remoteMembership(world, roomId, `@policy:${REMOTE}`);
  return roomId;
}

t.test('local sends in a room with a policy server', async (t) => {
  await eachEngine(t, 'the policy server signs what is sent, and refuses what it will not have', async (t, db) => {
    const ps = policyServer((pdu) => body(pdu) !== 'buy cheap pills');
    const world = roomWorld(t, db, { policySigner: ps });
    const roomId = await protectedRoom(world, true);
    const joinsAsked = ps.asked.length;
    t.equal(joinsAsked, 0, 'its own user\'s join came before the room used it, and was not asked about');

    const sent = await world.rooms.send(roomId, text('hello'));
    t.equal(ps.asked.length, joinsAsked + 1, 'a message is sent to it first');
    const stored = (await world.store.events([sent.event.eventId])).get(sent.event.eventId)!;
    t.ok(((stored.event.pdu.signatures as Record<string, Record<string, string>>)[REMOTE] ?? {})['ed25519:policy_server'],
      'and stored with its signature, to go to the other servers');
    t.ok((stored.event.pdu.signatures as Record<string, unknown>)['hearth.test'], 'beside this server\'s own');

    const head = await world.store.forwardExtremities(roomId);
    await rejectsWith(t, world.rooms.send(roomId, text('buy cheap pills')), 'M_FORBIDDEN', /looks like spam/, 'its refusal reaches the client as it was given');
    t.same(await world.store.forwardExtremities(roomId), head, 'and nothing of the refused event is stored');

    const before = ps.asked.length;
    await world.rooms.send(roomId, { type: 'm.room.policy', stateKey: '', sender: alice, content: {} });
    t.equal(ps.asked.length, before, 'the m.room.policy state event itself is never sent to it');
    await world.rooms.send(roomId, text('unchecked now'));
    t.equal(ps.asked.length, before, 'and once emptied, the room uses no policy server');
  });

  await eachEngine(t, 'a policy server without a joined user in the room is not used', async (t, db) => {
    const ps = policyServer();
    const world = roomWorld(t, db, { policySigner: ps });
    const roomId = await protectedRoom(world, false);
    await world.rooms.send(roomId, text('hello'));
    t.equal(ps.asked.length, 0);
  });

  await eachEngine(t, 'a policy server that cannot be reached fails the send', async (t, db) => {
    const ps = policyServer();
    const world = roomWorld(t, db, { policySigner: ps });
    const roomId = await protectedRoom(world, true);
    ps.down = true;
    const head = await world.store.forwardExtremities(roomId);
    await rejectsWith(t, world.rooms.send(roomId, text('hello')), 'M_UNKNOWN', /could not be asked/);
    t.same(await world.store.forwardExtremities(roomId), head, 'nothing is stored');
  });

  await eachEngine(t, 'an event signed while the room moved on is built and signed again', async (t, db) => {
    const ps = policyServer();
    const world = roomWorld(t, db, { policySigner: ps });
    const roomId = await protectedRoom(world, true);
    let meanwhile: string | undefined;
    ps.onAsk = async () => {
      if (meanwhile !== undefined) return;
      meanwhile = '';
      meanwhile = (await world.rooms.send(roomId, text('meanwhile'))).event.eventId;
    };
    const asked = ps.asked.length;
    const sent = await world.rooms.send(roomId, text('first asked'));
    t.same(sent.event.prevEvents, [meanwhile], 'the first message asked about is built again on the one sent meanwhile');
    t.same(await world.store.forwardExtremities(roomId), [sent.event.eventId], 'the DAG stays a line');
    t.equal(ps.asked.length - asked, 3, 'and signed again (the message sent meanwhile was signed once)');
    t.ok(((sent.event.pdu.signatures as Record<string, Record<string, string>>)[REMOTE] ?? {})['ed25519:policy_server']);
  });
});

t.test('events received over federation in a room with a policy server', async (t) => {
  await eachEngine(t, 'unsigned ones are signed on arrival, or soft-failed when the policy server refuses them', async (t, db) => {
    const ps = policyServer((pdu) => body(pdu) !== 'spam from afar');
    const world = roomWorld(t, db, { policySigner: ps });
    const roomId = await protectedRoom(world, true);
    const remoteSend = async (content: string) => {
      const head = (await world.store.forwardExtremities(roomId))[0]!;
      const state = await world.store.currentState(roomId);
      const draft = { type: 'm.room.message', sender: `@policy:${REMOTE}`, content: { msgtype: 'm.text', body: content } };
      const auth = authEventsSelection(draft, rules).map((key) => state.get(key)!);
      const known = await world.store.events([head, ...auth]);
      const event = buildEvent(draft, {
        rules, roomId, origin: REMOTE, key: remoteKey, now: 1_700_000_200_000,
        prevEvents: [known.get(head)!.event], authEvents: auth.map((id) => known.get(id)!.event),
      });
      return world.receive.receivePdu(roomId, event.pdu, REMOTE);
    };
    t.match(await remoteSend('hi from afar'), { status: 'accepted' }, 'an event it signs is accepted');
    t.match(await remoteSend('spam from afar'), { status: 'soft-failed', reason: /policy server remote\.test/ }, 'one it refuses is soft-failed');
    ps.down = true;
    t.match(await remoteSend('while it is down'), { status: 'soft-failed' }, 'as is one it could not be asked about');
  });
});
