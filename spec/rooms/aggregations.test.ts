import t from 'tap';
import { isValidEdit, latestEdit, relationOf } from '../../src/rooms/index.js';
import type { RoomEvent } from '../../src/events/index.js';

const message = (fields: Partial<RoomEvent>): RoomEvent => ({
  eventId: '$original',
  roomId: '!room:hearth.test',
  type: 'm.room.message',
  stateKey: undefined,
  sender: '@alice:hearth.test',
  origin: 'hearth.test',
  content: { msgtype: 'm.text', body: 'teh cake' },
  originServerTs: 1000,
  depth: 3,
  prevEvents: [],
  authEvents: [],
  redacts: undefined,
  pdu: {} as RoomEvent['pdu'],
  ...fields,
});
const replaces = (target: string, extra: Record<string, unknown> = { 'm.new_content': { msgtype: 'm.text', body: 'the cake' } }) =>
  ({ msgtype: 'm.text', body: '* the cake', 'm.relates_to': { rel_type: 'm.replace', event_id: target }, ...extra });

t.test('relationOf reads a well-formed m.relates_to only', async (t) => {
  t.same(relationOf({ content: { 'm.relates_to': { rel_type: 'm.thread', event_id: '$root' } } }), { relType: 'm.thread', eventId: '$root' });
  t.equal(relationOf({ content: { 'm.relates_to': { 'm.in_reply_to': { event_id: '$x' } } } }), undefined, 'a plain reply has no rel_type');
  t.equal(relationOf({ content: { 'm.relates_to': ['m.thread', '$root'] } }), undefined);
  t.equal(relationOf({ content: { 'm.relates_to': { rel_type: 'm.thread', event_id: 7 } } }), undefined);
  t.equal(relationOf({ content: {} }), undefined);
});

t.test('isValidEdit follows the spec\'s validity rules', async (t) => {
  const original = message({});
  const edit = message({ eventId: '$edit', content: replaces('$original') });
  t.ok(isValidEdit(original, edit));
  t.notOk(isValidEdit(original, { ...edit, sender: '@mallory:hearth.test' }), 'another sender may not edit');
  t.notOk(isValidEdit(original, { ...edit, type: 'm.sticker' }), 'the type must match');
  t.notOk(isValidEdit(original, { ...edit, roomId: '!other:hearth.test' }), 'the room must match');
  t.notOk(isValidEdit(original, { ...edit, stateKey: '' }), 'no state events');
  t.notOk(isValidEdit(original, { ...edit, content: replaces('$original', {}) }), 'm.new_content is required');
  t.notOk(isValidEdit({ ...original, content: replaces('$older') }, edit), 'an edit is not edited');
  const encrypted = message({ type: 'm.room.encrypted', content: { ciphertext: 'x' } });
  t.ok(isValidEdit(encrypted, { ...encrypted, eventId: '$e2', content: { ciphertext: 'y', 'm.relates_to': { rel_type: 'm.replace', event_id: '$original' } } }),
    'an encrypted edit carries m.new_content inside the ciphertext');
});

t.test('latestEdit takes the newest timestamp, then the largest event id', async (t) => {
  const at = (eventId: string, originServerTs: number) => ({ event: message({ eventId, originServerTs }) });
  t.equal(latestEdit([at('$a', 1), at('$b', 3), at('$c', 2)])?.event.eventId, '$b');
  t.equal(latestEdit([at('$b', 5), at('$z', 5), at('$m', 5)])?.event.eventId, '$z');
  t.equal(latestEdit([]), undefined);
});
