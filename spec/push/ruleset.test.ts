import t, { type Test } from 'tap';
import { defaultPushRules, effectiveRuleset, userPushRules, type PushRule } from '../../src/push/index.js';
import { changeRule, deleteOwnRule, putOwnRule, ruleFromRequest, withRoomRulesCopied } from '../../src/push/ruleset.js';
import { rejectsWith } from '../helpers/errors.js';

const ALICE = '@alice:hearth.test';
const own = (ruleId: string): PushRule => ({ rule_id: ruleId, default: false, enabled: true, actions: ['notify'], conditions: [] });
const ids = (rules: readonly PushRule[]) => rules.map((rule) => rule.rule_id);
const fails = (t: Test, fn: () => unknown, errcode: string, label: string) =>
  rejectsWith(t, Promise.resolve().then(fn), errcode, undefined, label);

void t.test('a user who changed nothing has the defaults', async (t) => {
  t.same(effectiveRuleset(userPushRules(ALICE, undefined)), defaultPushRules(ALICE));
  t.same(effectiveRuleset(userPushRules(ALICE, { global: 'junk' })), defaultPushRules(ALICE), 'malformed content is ignored');
});

void t.test('own rules sit above the defaults of their kind, but below the master rule', async (t) => {
  let rules = userPushRules(ALICE, undefined);
  rules = putOwnRule(rules, 'override', own('mine'), {});
  const override = ids(effectiveRuleset(rules).override);
  t.same(override.slice(0, 3), ['.m.rule.master', 'mine', '.m.rule.suppress_notices']);
  rules = putOwnRule(rules, 'underride', own('low'), {});
  t.same(ids(effectiveRuleset(rules).underride)[0], 'low');
});

void t.test('before and after place a rule; a new rule is the most important; an update keeps its place', async (t) => {
  let rules = userPushRules(ALICE, undefined);
  rules = putOwnRule(rules, 'override', own('a'), {});
  rules = putOwnRule(rules, 'override', own('b'), {});
  t.same(ids(rules.own.override), ['b', 'a'], 'newest first');
  rules = putOwnRule(rules, 'override', own('c'), { after: 'a' });
  rules = putOwnRule(rules, 'override', own('d'), { before: 'a' });
  t.same(ids(rules.own.override), ['b', 'd', 'a', 'c']);
  rules = putOwnRule(rules, 'override', own('e'), { before: 'b', after: 'c' });
  t.same(ids(rules.own.override), ['e', 'b', 'd', 'a', 'c'], 'before wins over after');
  rules = changeRule(rules, 'override', 'a', { enabled: false });
  rules = putOwnRule(rules, 'override', { ...own('a'), actions: [] }, {});
  t.same(ids(rules.own.override), ['e', 'b', 'd', 'a', 'c'], 'an update stays in place');
  t.equal(rules.own.override[3]?.enabled, false, 'and keeps its enabled flag');
  t.same(rules.own.override[3]?.actions, [], 'with the new actions');
  await fails(t, () => putOwnRule(rules, 'override', own('f'), { before: 'nope' }), 'M_UNKNOWN', 'a missing anchor');
  await fails(t, () => putOwnRule(rules, 'override', own('f'), { after: '.m.rule.message' }), 'M_INVALID_PARAM', 'a default anchor');
});

void t.test('the stored ruleset round-trips, and defaults carry only their enabled flag and actions', async (t) => {
  let rules = userPushRules(ALICE, undefined);
  rules = putOwnRule(rules, 'room', { rule_id: '!r:hearth.test', default: false, enabled: true, actions: [] }, {});
  rules = changeRule(rules, 'override', '.m.rule.master', { enabled: true });
  rules = changeRule(rules, 'underride', '.m.rule.message', { actions: ['notify', { set_tweak: 'sound', value: 'x' }] });
  const stored = JSON.parse(JSON.stringify({ global: effectiveRuleset(rules) })) as Record<string, unknown>;
  t.same(effectiveRuleset(userPushRules(ALICE, stored)), effectiveRuleset(rules), 'read back as written');

  const tampered = {
    global: {
      override: [
        { rule_id: '.m.rule.master', default: true, enabled: true, conditions: [{ kind: 'nonsense' }], actions: ['dont_notify'] },
        { rule_id: '.m.rule.contains_display_name', default: true, enabled: true, conditions: [], actions: ['notify'] },
      ],
    },
  };
  const read = effectiveRuleset(userPushRules(ALICE, tampered));
  t.same(read.override[0], { ...defaultPushRules(ALICE).override[0], enabled: true }, 'a default keeps its own conditions; dont_notify is stripped');
  t.notOk(ids(read.override).includes('.m.rule.contains_display_name'), 'a default the server no longer has is dropped');
});

void t.test('deleting: own rules go, defaults are refused, unknown ids are not found', async (t) => {
  let rules = putOwnRule(userPushRules(ALICE, undefined), 'sender', { rule_id: '@bob:x', default: false, enabled: true, actions: [] }, {});
  rules = deleteOwnRule(rules, 'sender', '@bob:x');
  t.same(rules.own.sender, []);
  await fails(t, () => deleteOwnRule(rules, 'override', '.m.rule.master'), 'M_INVALID_PARAM', 'a default');
  await fails(t, () => deleteOwnRule(rules, 'override', 'nope'), 'M_NOT_FOUND', 'an unknown rule');
  await fails(t, () => changeRule(rules, 'content', '.m.rule.master', { enabled: true }), 'M_NOT_FOUND', 'a rule of another kind');
});

void t.test('a rule from a request is checked against its kind', async (t) => {
  t.same(ruleFromRequest('content', 'cake', { actions: ['notify', 'dont_notify'], pattern: 'cake*', conditions: [{ kind: 'x' }] }), {
    rule_id: 'cake', default: false, enabled: true, actions: ['notify'], pattern: 'cake*',
  });
  t.same(ruleFromRequest('override', 'o', { actions: [] }), { rule_id: 'o', default: false, enabled: true, actions: [], conditions: [] });
  t.same(ruleFromRequest('room', '!r:hearth.test', { actions: [], pattern: 'ignored' }), { rule_id: '!r:hearth.test', default: false, enabled: true, actions: [] });
  // As Synapse: a room or sender rule's id is not checked; one that names no room or user matches nothing.
  t.same(ruleFromRequest('room', '#spam:example.com', { actions: [] }), { rule_id: '#spam:example.com', default: false, enabled: true, actions: [] });
  const refusals: Array<[string, () => unknown, string]> = [
    ['a dot id', () => ruleFromRequest('override', '.m.rule.master', { actions: [] }), 'M_INVALID_PARAM'],
    ['a slash', () => ruleFromRequest('override', 'a/b', { actions: [] }), 'M_INVALID_PARAM'],
    ['a backslash', () => ruleFromRequest('override', 'a\\b', { actions: [] }), 'M_INVALID_PARAM'],
    ['a content rule without a pattern', () => ruleFromRequest('content', 'c', { actions: [] }), 'M_MISSING_PARAM'],
    ['an unknown action', () => ruleFromRequest('override', 'o', { actions: ['explode'] }), 'M_BAD_JSON'],
    ['an object action without set_tweak', () => ruleFromRequest('override', 'o', { actions: [{ value: 1 }] }), 'M_BAD_JSON'],
  ];
  for (const [label, fn, errcode] of refusals) await fails(t, fn, errcode, label);
});

void t.test('a room upgrade copies the user\'s rules for the old room to the new one', async (t) => {
  const OLD = '!old:hearth.test';
  const NEW = '!new:hearth.test';
  const roomMatch = (room: string) => [{ kind: 'event_match', key: 'room_id', pattern: room }];
  let rules = userPushRules(ALICE, undefined);
  rules = putOwnRule(rules, 'room', { ...own(OLD), actions: [] }, {});
  rules = putOwnRule(rules, 'override', { ...own(`mute ${OLD}`), conditions: roomMatch(OLD) }, {});
  rules = putOwnRule(rules, 'override', { ...own(`both ${OLD}`), conditions: [...roomMatch(OLD), ...roomMatch('!other:hearth.test')] }, {});
  rules = putOwnRule(rules, 'override', { ...own('keyword'), conditions: roomMatch(OLD) }, {});
  const copied = withRoomRulesCopied(rules, OLD, NEW);
  t.same(ids(copied.own.room), [OLD, NEW], 'the room rule gets a twin named after the new room');
  t.same(copied.own.room[1]!.actions, [], 'with the same actions');
  const override = copied.own.override;
  t.ok(ids(override).includes(`mute ${NEW}`), 'a rule named after the old room is copied');
  t.same(override.find((rule) => rule.rule_id === `mute ${NEW}`)?.conditions, roomMatch(NEW), 'its room condition names the new room');
  t.notOk(ids(override).includes(`both ${NEW}`), 'a rule about another room too is not');
  t.same(ids(override).filter((id) => id === 'keyword'), ['keyword'], 'a rule whose id does not name the room stays single');
  t.equal(withRoomRulesCopied(copied, OLD, NEW), copied, 'copying again changes nothing');
});
