import t from 'tap';
import { appOn, registerUser } from '../../helpers/app.js';
import { testClient } from '../../helpers/client.js';
import { eachEngine } from '../../helpers/database.js';
import { createPushRulesService, defaultPushRules } from '../../../src/push/index.js';
import { createUserDataStore } from '../../../src/storage/index.js';
import type { UserId } from '../../../src/protocol/index.js';

const rule = (kind: string, ruleId: string, suffix = '') => `/pushrules/global/${kind}/${encodeURIComponent(ruleId)}${suffix}`;

void eachEngine(t, 'GET /pushrules/ gives the spec defaults with the user\'s id, at the spec\'s paths', async (t, db) => {
  const { app } = await appOn(t, db);
  const alice = testClient(app, await registerUser(app, 'alice'));
  const defaults = JSON.parse(JSON.stringify(defaultPushRules(alice.user))) as unknown;

  const all = await alice.get('/pushrules/');
  t.equal(all.status, 200);
  t.same(all.body, { global: defaults });
  const invite = all.body.global.override.find((r: { rule_id: string }) => r.rule_id === '.m.rule.invite_for_me');
  t.same(invite.conditions[2], { kind: 'event_match', key: 'state_key', pattern: alice.user }, 'the user id is substituted');
  t.same((await alice.get('/pushrules')).status, 404, 'without the trailing slash it is another path (as Synapse)');
  t.same((await alice.get('/_matrix/client/r0/pushrules/')).body, { global: defaults }, 'r0');
  t.same((await alice.get('/pushrules/global/')).body, defaults, 'the global ruleset alone');
  t.same((await alice.get('/pushrules/global/override/')).body, (defaults as { override: unknown }).override, 'one kind');
  t.same((await alice.get(rule('override', '.m.rule.master'))).body, {
    rule_id: '.m.rule.master', default: true, enabled: false, conditions: [], actions: [],
  });
  t.same((await alice.get(rule('underride', '.m.rule.message', '/actions'))).body, { actions: ['notify'] });
  t.same((await alice.get(rule('underride', '.m.rule.message', '/enabled'))).body, { enabled: true });
  t.equal((await app.inject({ method: 'GET', url: '/_matrix/client/v3/pushrules/' })).json().errcode, 'M_MISSING_TOKEN');
});

void eachEngine(t, 'a room rule shows up in GET, in m.push_rules account data and in /sync, and can be deleted', async (t, db) => {
  const { app } = await appOn(t, db);
  const alice = testClient(app, await registerUser(app, 'alice'));
  const room = '!dj234r78wl45Gh4D:hearth.test';
  const initial = await alice.sync();
  const since = initial.body.next_batch as string;

  t.same((await alice.put(rule('room', room), { actions: [] })).body, {});
  const mute = { rule_id: room, default: false, enabled: true, actions: [] };
  t.same((await alice.get(rule('room', room))).body, mute);
  t.same((await alice.get('/pushrules/')).body.global.room, [mute]);

  const store = createUserDataStore(db.sql);
  const stored = await store.accountData(alice.user as UserId, null, 'm.push_rules');
  t.same((stored as { global: { room: unknown } }).global.room, [mute], 'kept as m.push_rules account data');
  const next = await alice.sync({ since, timeout: 0 });
  const event = next.body.account_data.events.find((e: { type: string }) => e.type === 'm.push_rules');
  t.same(event?.content.global.room, [mute], '/sync delivers the change');

  t.same((await alice.call('DELETE', rule('room', room))).body, {});
  t.equal((await alice.get(rule('room', room))).body.errcode, 'M_NOT_FOUND');
  t.equal((await alice.call('DELETE', rule('room', room))).status, 404, 'deleting it again');
  const service = createPushRulesService({ store });
  t.same((await service.pushRulesAccountData(alice.user as UserId)).content.global.room, [], 'what /sync will send next');
});

void eachEngine(t, 'disabling the master rule and changing default actions; defaults cannot be deleted or overwritten', async (t, db) => {
  const { app } = await appOn(t, db);
  const alice = testClient(app, await registerUser(app, 'alice'));
  const bob = testClient(app, await registerUser(app, 'bob'));

  t.same((await alice.put(rule('override', '.m.rule.master', '/enabled'), { enabled: true })).body, {});
  t.same((await alice.get(rule('override', '.m.rule.master', '/enabled'))).body, { enabled: true });
  t.same((await alice.put(rule('override', '.m.rule.master', '/enabled'), { enabled: false })).body, {});
  t.same((await alice.get(rule('override', '.m.rule.master'))).body.enabled, false, 'and back off');

  const ring = ['notify', { set_tweak: 'sound', value: 'ring' }];
  t.same((await alice.put(rule('underride', '.m.rule.message', '/actions'), { actions: ring })).body, {});
  t.same((await alice.get(rule('underride', '.m.rule.message', '/actions'))).body, { actions: ring });
  t.same((await bob.get(rule('underride', '.m.rule.message', '/actions'))).body, { actions: ['notify'] }, 'bob is untouched');

  const del = await alice.call('DELETE', rule('override', '.m.rule.master'));
  t.equal(del.status, 400);
  t.equal(del.body.errcode, 'M_INVALID_PARAM', 'a server-default rule cannot be deleted');
  const overwrite = await alice.put(rule('override', '.m.rule.master'), { actions: ['notify'] });
  t.equal(overwrite.status, 400);
  t.equal(overwrite.body.errcode, 'M_INVALID_PARAM', 'nor overwritten: dot ids are the server\'s');
  t.same((await alice.get(rule('override', '.m.rule.master'))).body.actions, []);
});

void eachEngine(t, 'user rules: the spec\'s cake examples, ordering with before/after, and updates', async (t, db) => {
  const { app } = await appOn(t, db);
  const alice = testClient(app, await registerUser(app, 'alice'));
  const cake = rule('content', 'SSByZWFsbHkgbGlrZSBjYWtl');
  t.equal((await alice.put(cake, { pattern: 'cake', actions: ['notify', { set_tweak: 'sound', value: 'cakealarm.wav' }] })).status, 200);
  const lie = `${rule('content', 'U3BvbmdlIGNha2UgaXMgYmVzdA')}?before=SSByZWFsbHkgbGlrZSBjYWtl`;
  t.equal((await alice.put(lie, { pattern: 'cake*lie', actions: ['notify'] })).status, 200);
  const content = (await alice.get('/pushrules/global/')).body.content;
  t.same(content.map((r: { rule_id: string }) => r.rule_id), ['U3BvbmdlIGNha2UgaXMgYmVzdA', 'SSByZWFsbHkgbGlrZSBjYWtl']);
  t.same(content[1], {
    rule_id: 'SSByZWFsbHkgbGlrZSBjYWtl', default: false, enabled: true, pattern: 'cake',
    actions: ['notify', { set_tweak: 'sound', value: 'cakealarm.wav' }],
  });

  const beer = rule('override', 'U2VlIHlvdSBpbiBUaGUgRHVrZQ');
  const conditions = [{ kind: 'event_match', key: 'content.body', pattern: 'beer' }, { kind: 'room_member_count', is: '<=10' }];
  t.equal((await alice.put(beer, { conditions, actions: ['notify'] })).status, 200);
  const override = (await alice.get('/pushrules/')).body.global.override;
  t.same(override.slice(0, 2).map((r: { rule_id: string }) => r.rule_id), ['.m.rule.master', 'U2VlIHlvdSBpbiBUaGUgRHVrZQ'], 'below master, above the other defaults');
  t.same(override[1].conditions, conditions);

  t.equal((await alice.put(`${beer}/enabled`, { enabled: false })).status, 200);
  t.equal((await alice.put(beer, { conditions: [], actions: [] })).status, 200);
  t.same((await alice.get(beer)).body, { rule_id: 'U2VlIHlvdSBpbiBUaGUgRHVrZQ', default: false, enabled: false, conditions: [], actions: [] }, 'an update keeps the enabled flag');

  t.equal((await alice.put(rule('sender', '@spambot:matrix.org'), { actions: [] })).status, 200);
  t.same((await alice.get('/pushrules/')).body.global.sender[0].rule_id, '@spambot:matrix.org');

  // The spec says the id is the room's (or sender's), but like Synapse any id is taken: sytest and older
  // clients use aliases; such a rule matches no event.
  t.equal((await alice.put(rule('room', '#spam:example.com'), { actions: ['notify'] })).status, 200);
  t.same((await alice.get('/pushrules/global/room/')).body.map((r: { rule_id: string }) => r.rule_id), ['#spam:example.com']);
});

void eachEngine(t, 'bad kinds, ids, positions and bodies get the spec\'s errcodes', async (t, db) => {
  const { app } = await appOn(t, db);
  const alice = testClient(app, await registerUser(app, 'alice'));
  const cases: Array<[string, Promise<{ status: number; body: { errcode?: string } }>, number, string]> = [
    ['an unknown kind', alice.put(rule('everything', 'x'), { actions: [] }), 400, 'M_INVALID_PARAM'],
    ['an unknown kind, read', alice.get(rule('everything', 'x')), 400, 'M_INVALID_PARAM'],
    ['a dot id', alice.put(rule('override', '.mine'), { actions: [] }), 400, 'M_INVALID_PARAM'],
    ['a slash in the id', alice.put(rule('override', 'a/b'), { actions: [] }), 400, 'M_INVALID_PARAM'],
    ['no scope', alice.put('/pushrules/', { actions: [] }), 400, 'M_UNRECOGNIZED'],
    ['another scope', alice.put('/pushrules/device/room/%23spam%3Aexample.com', { actions: [] }), 400, 'M_UNRECOGNIZED'],
    ['no kind', alice.put('/pushrules/global', { actions: [] }), 400, 'M_UNRECOGNIZED'],
    ['no rule id', alice.put('/pushrules/global/room', { actions: [] }), 400, 'M_UNRECOGNIZED'],
    ['an empty rule id', alice.put('/pushrules/global/room/', { actions: [] }), 400, 'M_UNRECOGNIZED'],
    ['a scope without its slash, read', alice.get('/pushrules/global'), 400, 'M_UNRECOGNIZED'],
    ['a kind without its slash, read', alice.get('/pushrules/global/room'), 400, 'M_UNRECOGNIZED'],
    ['another scope, read', alice.get('/pushrules/device/'), 400, 'M_UNRECOGNIZED'],
    ['an unknown attribute', alice.put(rule('override', '.m.rule.master', '/colour'), { enabled: true }), 400, 'M_UNRECOGNIZED'],
    ['an unknown attribute, read', alice.get(rule('override', '.m.rule.master', '/colour')), 400, 'M_UNRECOGNIZED'],
    ['a content rule with no pattern', alice.put(rule('content', 'c'), { actions: [] }), 400, 'M_MISSING_PARAM'],
    ['no actions', alice.put(rule('override', 'o'), { conditions: [] }), 400, 'M_BAD_JSON'],
    ['an unknown action', alice.put(rule('override', 'o'), { actions: ['explode'] }), 400, 'M_BAD_JSON'],
    ['conditions not a list', alice.put(rule('override', 'o'), { actions: [], conditions: {} }), 400, 'M_BAD_JSON'],
    ['before a missing rule', alice.put(`${rule('override', 'o')}?before=ghost`, { actions: [] }), 400, 'M_UNKNOWN'],
    ['after a default rule', alice.put(`${rule('override', 'o')}?after=.m.rule.message`, { actions: [] }), 400, 'M_INVALID_PARAM'],
    ['enabled not a boolean', alice.put(rule('override', '.m.rule.master', '/enabled'), { enabled: 'yes' }), 400, 'M_BAD_JSON'],
    ['enabled of a missing rule', alice.put(rule('override', 'ghost', '/enabled'), { enabled: true }), 404, 'M_NOT_FOUND'],
    ['actions of a missing rule', alice.get(rule('room', '!ghost:hearth.test', '/actions')), 404, 'M_NOT_FOUND'],
    ['a default under the wrong kind', alice.get(rule('content', '.m.rule.master')), 404, 'M_NOT_FOUND'],
  ];
  for (const [label, pending, status, errcode] of cases) {
    const res = await pending;
    t.equal(res.status, status, `${label}: status`);
    t.equal(res.body.errcode, errcode, `${label}: ${errcode}`);
  }
  t.same((await alice.get('/pushrules/')).body.global.override.length, defaultPushRules(alice.user).override.length, 'nothing was added');
});
