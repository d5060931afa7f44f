import t from 'tap';
import { defaultPushRules } from '../../src/push/index.js';

const ALICE = '@alice:hearth.test';

void t.test('the server-default rules are the spec\'s (v1.19), in its order', async (t) => {
  const rules = defaultPushRules(ALICE);
  t.same(rules.override.map((rule) => rule.rule_id), [
    '.m.rule.master',
    '.m.rule.suppress_notices',
    '.m.rule.invite_for_me',
    '.m.rule.member_event',
    '.m.rule.is_user_mention',
    '.m.rule.is_room_mention',
    '.m.rule.tombstone',
    '.m.rule.reaction',
    '.m.rule.room.server_acl',
    '.m.rule.suppress_edits',
  ]);
  t.same(rules.content, [], 'the body-matching defaults were removed in v1.17');
  t.same(rules.room, []);
  t.same(rules.sender, []);
  t.same(rules.underride.map((rule) => rule.rule_id), [
    '.m.rule.call',
    '.m.rule.encrypted_room_one_to_one',
    '.m.rule.room_one_to_one',
    '.m.rule.message',
    '.m.rule.encrypted',
  ]);
  for (const rule of [...rules.override, ...rules.underride]) {
    t.equal(rule.default, true, `${rule.rule_id} is a default`);
    t.equal(rule.enabled, rule.rule_id !== '.m.rule.master', `${rule.rule_id} enabled unless master`);
  }
});

void t.test('the user\'s id is substituted where the spec says, and definitions match the spec', async (t) => {
  const rules = defaultPushRules(ALICE);
  const byId = new Map([...rules.override, ...rules.underride].map((rule) => [rule.rule_id, rule]));
  t.same(byId.get('.m.rule.invite_for_me'), {
    rule_id: '.m.rule.invite_for_me',
    default: true,
    enabled: true,
    conditions: [
      { kind: 'event_match', key: 'type', pattern: 'm.room.member' },
      { kind: 'event_match', key: 'content.membership', pattern: 'invite' },
      { kind: 'event_match', key: 'state_key', pattern: ALICE },
    ],
    actions: ['notify', { set_tweak: 'sound', value: 'default' }],
  });
  t.same(byId.get('.m.rule.is_user_mention')?.conditions, [
    { kind: 'event_property_contains', key: 'content.m\\.mentions.user_ids', value: ALICE },
  ]);
  t.same(byId.get('.m.rule.is_user_mention')?.actions, ['notify', { set_tweak: 'sound', value: 'default' }, { set_tweak: 'highlight' }]);
  t.same(byId.get('.m.rule.is_room_mention')?.conditions, [
    { kind: 'event_property_is', key: 'content.m\\.mentions.room', value: true },
    { kind: 'sender_notification_permission', key: 'room' },
  ]);
  t.same(byId.get('.m.rule.suppress_edits')?.conditions, [
    { kind: 'event_property_is', key: 'content.m\\.relates_to.rel_type', value: 'm.replace' },
  ]);
  t.same(byId.get('.m.rule.call')?.actions, ['notify', { set_tweak: 'sound', value: 'ring' }]);
  t.same(byId.get('.m.rule.master'), { rule_id: '.m.rule.master', default: true, enabled: false, conditions: [], actions: [] });
  t.same(byId.get('.m.rule.message')?.actions, ['notify']);
});
