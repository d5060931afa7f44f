import t from 'tap';
import {
  actionsHighlight,
  actionsNotify,
  conditionMatches,
  defaultPushRules,
  evaluatePushRules,
  memberCountMatches,
  type PushCondition,
  type PushContext,
  type PushEvent,
  type PushRuleset,
} from '../../src/push/index.js';

const ALICE = '@alice:hearth.test';
const BOB = '@bob:hearth.test';
const ROOM = '!room:hearth.test';
const group: PushContext = { memberCount: 5, displayName: 'Alice Liddell', senderPowerLevel: 0, notificationPowerLevels: {} };
const message = (content: Record<string, unknown>, extra: Record<string, unknown> = {}): PushEvent => ({
  type: 'm.room.message',
  sender: BOB,
  room_id: ROOM,
  event_id: '$e',
  content: { msgtype: 'm.text', ...content },
  ...extra,
});

void t.test('conditions, with the spec\'s examples', async (t) => {
  const create: PushEvent = {
    type: 'm.room.create',
    state_key: '',
    content: { creator: '@example:example.org', 'm.federate': true, room_version: '1' },
  };
  const aliases: PushEvent = {
    type: 'm.room.canonical_alias',
    state_key: '',
    content: { alias: '#somewhere:localhost', alt_aliases: ['#somewhere:example.org', '#myroom:example.com'] },
  };
  const table: Array<[string, PushCondition, PushEvent, boolean, PushContext?]> = [
    ['event_match topic lunc?*', { kind: 'event_match', key: 'content.topic', pattern: 'lunc?*' }, { content: { topic: 'Lunch plans' } }, true],
    ['event_match on null never matches', { kind: 'event_match', key: 'content.topic', pattern: '*' }, { content: { topic: null } }, false],
    ['event_match on a missing key, even *', { kind: 'event_match', key: 'content.topic', pattern: '*' }, { content: {} }, false],
    ['event_match on a number', { kind: 'event_match', key: 'content.n', pattern: '1' }, { content: { n: 1 } }, false],
    ['event_match content.body at word boundaries', { kind: 'event_match', key: 'content.body', pattern: 'ex*ple' }, message({ body: 'An example event.' }), true],
    ['event_match other keys match whole values', { kind: 'event_match', key: 'content.msgtype', pattern: 'm.te' }, message({ body: 'x' }), false],
    ['event_match state_key "" matches only an empty state key', { kind: 'event_match', key: 'state_key', pattern: '' }, { state_key: '' }, true],
    ['event_match state_key "" on a message', { kind: 'event_match', key: 'state_key', pattern: '' }, message({}), false],
    ['event_property_is m.federate true', { kind: 'event_property_is', key: 'content.m\\.federate', value: true }, create, true],
    ['event_property_is: "true" is not true', { kind: 'event_property_is', key: 'content.m\\.federate', value: true }, { content: { 'm.federate': 'true' } }, false],
    ['event_property_is: 1 is not true', { kind: 'event_property_is', key: 'content.m\\.federate', value: true }, { content: { 'm.federate': 1 } }, false],
    ['event_property_is null', { kind: 'event_property_is', key: 'content.x', value: null }, { content: { x: null } }, true],
    ['event_property_is null on an absent key', { kind: 'event_property_is', key: 'content.x', value: null }, { content: {} }, false],
    ['event_property_is integer', { kind: 'event_property_is', key: 'content.n', value: 3 }, { content: { n: 3 } }, true],
    ['event_property_is compound values never match', { kind: 'event_property_is', key: 'content.o', value: {} }, { content: { o: {} } }, false],
    ['event_property_contains alt_aliases', { kind: 'event_property_contains', key: 'content.alt_aliases', value: '#myroom:example.com' }, aliases, true],
    ['event_property_contains: partial values do not match', { kind: 'event_property_contains', key: 'content.alt_aliases', value: ':example.com' }, aliases, false],
    ['event_property_contains on a non-array', { kind: 'event_property_contains', key: 'content.alias', value: '#somewhere:localhost' }, aliases, false],
    ['contains_display_name', { kind: 'contains_display_name' }, message({ body: 'hi alice liddell!' }), true],
    ['contains_display_name inside a word', { kind: 'contains_display_name' }, message({ body: 'xAlice Liddellx' }), false],
    ['contains_display_name without a name', { kind: 'contains_display_name' }, message({ body: 'anything' }), false, { ...group, displayName: null }],
    ['contains_display_name is literal, not a glob', { kind: 'contains_display_name' }, message({ body: 'a.b' }), false, { ...group, displayName: 'a?b' }],
    ['room_member_count 5', { kind: 'room_member_count', is: '5' }, message({}), true],
    ['room_member_count ==5', { kind: 'room_member_count', is: '==5' }, message({}), true],
    ['room_member_count <5', { kind: 'room_member_count', is: '<5' }, message({}), false],
    ['room_member_count <=5', { kind: 'room_member_count', is: '<=5' }, message({}), true],
    ['room_member_count >4', { kind: 'room_member_count', is: '>4' }, message({}), true],
    ['room_member_count garbage', { kind: 'room_member_count', is: 'five' }, message({}), false],
    ['sender_notification_permission: 0 < 50 by default', { kind: 'sender_notification_permission', key: 'room' }, message({}), false],
    ['sender_notification_permission: 50 >= 50', { kind: 'sender_notification_permission', key: 'room' }, message({}), true, { ...group, senderPowerLevel: 50 }],
    ['sender_notification_permission: the room lowered it', { kind: 'sender_notification_permission', key: 'room' }, message({}), true, { ...group, notificationPowerLevels: { room: 0 } }],
    ['sender_notification_permission: string levels of old rooms', { kind: 'sender_notification_permission', key: 'room' }, message({}), false, { ...group, senderPowerLevel: 10, notificationPowerLevels: { room: '20' } }],
    ['an unknown condition never matches', { kind: 'org.example.always' }, message({}), false],
    ['a malformed event_match never matches', { kind: 'event_match', key: 'type' }, message({}), false],
  ];
  for (const [name, condition, event, expected, context] of table) {
    t.equal(conditionMatches(condition, event, context ?? group), expected, name);
  }
});

void t.test('room_member_count operators', async (t) => {
  const table: Array<[string, number, boolean]> = [
    ['2', 2, true], ['2', 3, false], ['<10', 9, true], ['<10', 10, false], ['>=10', 10, true], ['>10', 10, false], ['<=10', 10, true], ['', 0, false], ['=2', 2, false],
  ];
  for (const [is, count, expected] of table) t.equal(memberCountMatches(is, count), expected, `${is} with ${count}`);
});

void t.test('the default rules decide what notifies and highlights', async (t) => {
  const rules = defaultPushRules(ALICE);
  const dm: PushContext = { ...group, memberCount: 2 };
  const cases: Array<[string, PushEvent, PushContext, boolean, boolean]> = [
    ['a message in a group notifies', message({ body: 'hello' }), group, true, false],
    ['a message in a DM notifies', message({ body: 'hello' }), dm, true, false],
    ['a notice does not', message({ msgtype: 'm.notice', body: 'bot' }), group, false, false],
    ['a user mention highlights', message({ body: 'hi', 'm.mentions': { user_ids: [ALICE] } }), group, true, true],
    ['someone else\'s mention is a plain message', message({ body: 'hi', 'm.mentions': { user_ids: [BOB] } }), group, true, false],
    ['@room from a low sender is a plain message', message({ body: 'all', 'm.mentions': { room: true } }), group, true, false],
    ['@room from a moderator highlights', message({ body: 'all', 'm.mentions': { room: true } }), { ...group, senderPowerLevel: 50 }, true, true],
    ['an edit does not notify', message({ body: '* x', 'm.relates_to': { rel_type: 'm.replace', event_id: '$o' } }), group, false, false],
    ['a body mention alone no longer highlights', message({ body: 'alice liddell, look' }), group, true, false],
    ['an encrypted event in a group notifies', { type: 'm.room.encrypted', sender: BOB, room_id: ROOM, content: {} }, group, true, false],
    ['a reaction does not', { type: 'm.reaction', sender: BOB, room_id: ROOM, content: {} }, group, false, false],
    ['an invite for me notifies', { type: 'm.room.member', state_key: ALICE, sender: BOB, room_id: ROOM, content: { membership: 'invite' } }, group, true, false],
    ['someone else\'s join does not', { type: 'm.room.member', state_key: BOB, sender: BOB, room_id: ROOM, content: { membership: 'join' } }, group, false, false],
    ['a tombstone highlights', { type: 'm.room.tombstone', state_key: '', sender: BOB, room_id: ROOM, content: {} }, group, true, true],
    ['a call rings', { type: 'm.call.invite', sender: BOB, room_id: ROOM, content: {} }, group, true, false],
    ['an unknown event type does nothing', { type: 'org.example', sender: BOB, room_id: ROOM, content: {} }, group, false, false],
  ];
  for (const [name, event, context, notify, highlight] of cases) {
    const actions = evaluatePushRules(rules, event, context);
    t.equal(actionsNotify(actions), notify, `${name}: notify`);
    t.equal(actionsHighlight(actions), highlight, `${name}: highlight`);
  }
  t.equal(evaluatePushRules(rules, { type: 'org.example', content: {} }, group), null, 'no rule matched: null');
  t.same(
    evaluatePushRules(rules, { type: 'm.call.invite', content: {} }, group),
    ['notify', { set_tweak: 'sound', value: 'ring' }],
    'the matching rule\'s actions, as they are',
  );
});

void t.test('kinds are checked in order, disabled rules never match, and the master rule silences all', async (t) => {
  const defaults = defaultPushRules(ALICE);
  const rules: PushRuleset = {
    ...defaults,
    content: [{ rule_id: 'cake', default: false, enabled: true, pattern: 'cake', actions: ['notify', { set_tweak: 'highlight' }] }],
    room: [{ rule_id: ROOM, default: false, enabled: true, actions: [] }],
    sender: [{ rule_id: BOB, default: false, enabled: true, actions: ['notify', { set_tweak: 'sound', value: 'bob' }] }],
  };
  t.same(evaluatePushRules(rules, message({ body: 'Cake time' }), group), ['notify', { set_tweak: 'highlight' }], 'content before room');
  t.same(evaluatePushRules(rules, message({ body: 'tea' }), group), [], 'room before sender: a muted room');
  const elsewhere = message({ body: 'tea' }, { room_id: '!other:hearth.test' });
  t.same(evaluatePushRules(rules, elsewhere, group), ['notify', { set_tweak: 'sound', value: 'bob' }], 'sender before underride');
  const offRoom = { ...rules, room: [{ ...rules.room[0]!, enabled: false }] };
  t.same(evaluatePushRules(offRoom, message({ body: 'tea' }), group), ['notify', { set_tweak: 'sound', value: 'bob' }], 'a disabled rule is skipped');
  const master = { ...rules, override: rules.override.map((rule) => (rule.rule_id === '.m.rule.master' ? { ...rule, enabled: true } : rule)) };
  const actions = evaluatePushRules(master, message({ body: 'Cake', 'm.mentions': { user_ids: [ALICE] } }), group);
  t.same(actions, [], 'the master rule matches first');
  t.notOk(actionsNotify(actions));
});

void t.test('highlight tweaks: no value is true, false is false', async (t) => {
  t.ok(actionsHighlight(['notify', { set_tweak: 'highlight' }]));
  t.ok(actionsHighlight([{ set_tweak: 'highlight', value: true }]));
  t.notOk(actionsHighlight(['notify', { set_tweak: 'highlight', value: false }]));
  t.notOk(actionsHighlight(['notify']));
  t.notOk(actionsHighlight(null));
});
