import t from 'tap';
import { toClientEvent } from '../../src/rooms/index.js';
import type { RoomEvent } from '../../src/events/index.js';

const base: RoomEvent = {
  eventId: '$abc',
  roomId: '!room:hearth.test',
  type: 'm.room.message',
  stateKey: undefined,
  sender: '@alice:hearth.test',
  origin: 'hearth.test',
  content: { msgtype: 'm.text', body: 'hi' },
  originServerTs: 1000,
  depth: 3,
  prevEvents: ['$prev'],
  authEvents: ['$auth'],
  redacts: undefined,
  pdu: { unsigned: { from_remote: true }, hashes: { sha256: 'x' }, signatures: {} } as unknown as RoomEvent['pdu'],
};

t.test('a message event: the client fields, age from the given clock, nothing of the PDU graph or proofs', async (t) => {
  const event = toClientEvent(base, { now: 1500 });
  t.same(event, {
    content: { msgtype: 'm.text', body: 'hi' },
    event_id: '$abc',
    origin_server_ts: 1000,
    room_id: '!room:hearth.test',
    sender: '@alice:hearth.test',
    type: 'm.room.message',
    unsigned: { age: 500 },
  });
  t.notOk('state_key' in event, 'no state_key on a message event');
  t.notOk('hashes' in event || 'signatures' in event || 'prev_events' in event || 'depth' in event);
});

t.test('state events keep the empty state key; a transaction id and redacts are carried; age is never negative', async (t) => {
  const state = toClientEvent({ ...base, type: 'm.room.name', stateKey: '', content: { name: 'Lobby' } }, { now: 900 });
  t.equal(state.state_key, '', 'the empty state key is kept');
  t.equal(state.unsigned.age, 0, 'a timestamp ahead of our clock gives age 0');
  const mine = toClientEvent({ ...base, type: 'm.room.redaction', redacts: '$target' }, { now: 1000, transactionId: 'txn1' });
  t.equal(mine.redacts, '$target');
  t.equal(mine.unsigned.transaction_id, 'txn1');
});
