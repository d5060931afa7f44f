import t from 'tap';
import { historyVisibilityOf, mayUserSee, type HistoryVisibility, type VisibilityState } from '../../src/rooms/visibility.js';
import { redactionApplies } from '../../src/rooms/redactions.js';
import { fakeEvent } from '../helpers/room-events.js';

const me = '@me:hearth.test';
const message = { type: 'm.room.message', stateKey: undefined };
const at = (visibility: HistoryVisibility, membership?: string): VisibilityState => ({ visibility, membership });

t.test('the spec rules, at the event', async (t) => {
  const cases: Array<[string, VisibilityState, boolean, boolean]> = [
    ['world_readable: anyone', at('world_readable'), false, true],
    ['joined at the event', at('joined', 'join'), false, true],
    ['joined visibility, not yet joined', at('joined', 'invite'), true, false],
    ['shared, joined later', at('shared', 'leave'), true, true],
    ['shared, never joined after', at('shared', 'leave'), false, false],
    ['invited visibility, invited at the event', at('invited', 'invite'), false, true],
    ['shared visibility, only invited', at('shared', 'invite'), false, false],
    ['left, joined visibility', at('joined', 'leave'), false, false],
  ];
  for (const [name, state, joinedLater, expected] of cases) {
    t.equal(mayUserSee({ userId: me, event: message, before: state, after: state, joinedLater }), expected, name);
  }
  const ownJoin = { type: 'm.room.member', stateKey: me };
  t.ok(mayUserSee({ userId: me, event: ownJoin, before: at('joined', 'invite'), after: at('joined', 'join'), joinedLater: false }), 'one sees one\'s own join');
  t.notOk(
    mayUserSee({ userId: me, event: { type: 'm.room.member', stateKey: '@other:hearth.test' }, before: at('joined'), after: at('joined'), joinedLater: false }),
    'but not another user\'s before one joined',
  );
  const change = { type: 'm.room.history_visibility', stateKey: '' };
  t.ok(mayUserSee({ userId: me, event: change, before: at('joined'), after: at('world_readable'), joinedLater: false }), 'a change to world_readable is visible');
  t.same(['world_readable', 'invited', 'joined', 'shared', 'bogus', undefined].map((v) => historyVisibilityOf(v === undefined ? undefined : { history_visibility: v })),
    ['world_readable', 'invited', 'joined', 'shared', 'shared', 'shared'], 'unknown or missing reads as shared');
});

t.test('whether a redaction applies', async (t) => {
  const target = fakeEvent({ id: '$t:a.test', roomId: '!r:a.test', sender: '@x:a.test' });
  const redaction = (sender: string, roomId = '!r:a.test') => ({ ...fakeEvent({ id: '$r:a.test', roomId, sender, type: 'm.room.redaction' }), redacts: '$t:a.test' });
  t.ok(redactionApplies(target, redaction('@y:a.test'), false), 'same server as the sender');
  t.notOk(redactionApplies(target, redaction('@y:b.test'), false), 'another server without the power');
  t.ok(redactionApplies(target, redaction('@y:b.test'), true), 'another server with the power');
  t.notOk(redactionApplies(target, redaction('@x:a.test', '!other:a.test'), true), 'never across rooms');
});
