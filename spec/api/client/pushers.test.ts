import t from 'tap';
import { appOn, registerUser } from '../../helpers/app.js';
import { testClient } from '../../helpers/client.js';
import { eachEngine } from '../../helpers/database.js';

const URL = 'https://push.example.org/_matrix/push/v1/notify';
const pusher = (overrides: Record<string, unknown> = {}) => ({
  kind: 'http',
  app_id: 'org.example.app',
  pushkey: 'key-1',
  app_display_name: 'Example',
  device_display_name: 'Phone',
  profile_tag: 'tag',
  lang: 'en',
  data: { url: URL, format: 'event_id_only', custom: 'kept' },
  ...overrides,
});

void eachEngine(t, 'a pusher set is listed as given, updated in place and deleted with kind null', async (t, db) => {
  const { app } = await appOn(t, db);
  const alice = testClient(app, await registerUser(app, 'alice'));
  t.same((await alice.get('/pushers')).body, { pushers: [] });

  t.same((await alice.post('/pushers/set', pusher())).body, {});
  const { kind: _kind, ...expected } = pusher();
  t.same((await alice.get('/pushers')).body, { pushers: [{ kind: 'http', ...expected }] }, 'custom data is kept');

  await alice.post('/pushers/set', pusher({ lang: 'de' }));
  await alice.post('/pushers/set', pusher({ pushkey: 'key-2' }));
  const listed = (await alice.get('/pushers')).body.pushers as Array<{ pushkey: string; lang: string }>;
  t.same(listed.map((p) => [p.pushkey, p.lang]), [['key-1', 'de'], ['key-2', 'en']], 'app_id and pushkey name one pusher');

  t.same((await alice.post('/pushers/set', { kind: null, app_id: 'org.example.app', pushkey: 'key-1' })).body, {});
  t.same(((await alice.get('/pushers')).body.pushers as Array<{ pushkey: string }>).map((p) => p.pushkey), ['key-2']);
  t.equal((await alice.post('/pushers/set', { kind: null, app_id: 'org.example.app', pushkey: 'gone' })).status, 200, 'deleting nothing is fine');
});

void eachEngine(t, 'bad pushers are refused with the spec\'s errcodes', async (t, db) => {
  const { app } = await appOn(t, db);
  const alice = testClient(app, await registerUser(app, 'alice'));
  const { lang: _lang, data: _data, ...noLangNoData } = pusher();
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['missing lang and data', noLangNoData, 'M_MISSING_PARAM'],
    ['an http pusher without a url', pusher({ data: {} }), 'M_MISSING_PARAM'],
    ['a url to another path', pusher({ data: { url: 'https://push.example.org/notify' } }), 'M_INVALID_PARAM'],
    ['a url that is no url', pusher({ data: { url: 'not a url' } }), 'M_INVALID_PARAM'],
    ['an unknown kind', pusher({ kind: 'carrier-pigeon' }), 'M_INVALID_PARAM'],
    ['a long pushkey', pusher({ pushkey: 'k'.repeat(513) }), 'M_INVALID_PARAM'],
    ['an email pusher for an address not bound to the account', pusher({ kind: 'email', app_id: 'm.email', pushkey: 'a@example.org' }), 'M_THREEPID_NOT_FOUND'],
    ['no app_id', { kind: 'http', pushkey: 'k' }, 'M_BAD_JSON'],
  ];
  for (const [label, body, errcode] of cases) {
    const res = await alice.post('/pushers/set', body);
    t.equal(res.status, 400, `${label}: 400`);
    t.equal(res.body.errcode, errcode, `${label}: ${errcode}`);
  }
  t.same((await alice.get('/pushers')).body, { pushers: [] }, 'nothing was stored');
});

void eachEngine(t, 'one app_id and pushkey belong to one user unless set with append', async (t, db) => {
  const { app } = await appOn(t, db);
  const alice = testClient(app, await registerUser(app, 'alice'));
  const bob = testClient(app, await registerUser(app, 'bob'));
  await alice.post('/pushers/set', pusher());
  await bob.post('/pushers/set', pusher({ append: true }));
  t.equal((await alice.get('/pushers')).body.pushers.length, 1, 'append leaves alice\'s pusher');
  await bob.post('/pushers/set', pusher());
  t.equal((await alice.get('/pushers')).body.pushers.length, 0, 'without append the pushkey moves to bob');
  t.equal((await bob.get('/pushers')).body.pushers.length, 1);
});

void eachEngine(t, 'a password change removes pushers of the devices it logs out, not the caller\'s', async (t, db) => {
  const { app } = await appOn(t, db);
  const phone = testClient(app, await registerUser(app, 'alice', 'old-pw'));
  const login = await app.inject({ method: 'POST', url: '/_matrix/client/v3/login', payload: { type: 'm.login.password', user: 'alice', password: 'old-pw' } });
  const laptop = testClient(app, login.json());
  await phone.post('/pushers/set', pusher({ pushkey: 'phone' }));
  await laptop.post('/pushers/set', pusher({ pushkey: 'laptop' }));
  t.equal((await phone.get('/pushers')).body.pushers.length, 2);

  const changed = await phone.post('/account/password', {
    new_password: 'new-pw',
    auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'old-pw' },
  });
  t.equal(changed.status, 200);
  t.same(((await phone.get('/pushers')).body.pushers as Array<{ pushkey: string }>).map((p) => p.pushkey), ['phone']);
});
