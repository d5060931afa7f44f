import t from 'tap';
import { accountsApp, registerUser } from '../../helpers/app.js';
import { ROOM_VERSIONS } from '../../../src/events/index.js';

t.test('GET /capabilities: room versions, profile fields and password change on, 3PIDs off without mail', async (t) => {
  const { app } = await accountsApp(t);
  const alice = await registerUser(app, 'alice');
  const none = await app.inject({ method: 'GET', url: '/_matrix/client/v3/capabilities' });
  t.equal(none.statusCode, 401, 'needs an access token');

  const res = await app.inject({ method: 'GET', url: '/_matrix/client/v3/capabilities', headers: { authorization: `Bearer ${alice.access_token}` } });
  t.equal(res.statusCode, 200);
  const { capabilities } = res.json();
  t.same(capabilities['m.change_password'], { enabled: true }, 'POST /account/password is served');
  t.same(capabilities['m.set_displayname'], { enabled: true });
  t.same(capabilities['m.set_avatar_url'], { enabled: true });
  t.same(capabilities['m.3pid_changes'], { enabled: false });
  t.same(capabilities['m.get_login_token'], { enabled: false });
  t.same(capabilities['m.profile_fields'], { enabled: true, allowed: ['displayname', 'avatar_url'] });
  t.equal(capabilities['m.room_versions'].default, '12');
  t.same(Object.keys(capabilities['m.room_versions'].available).sort((a, b) => Number(a) - Number(b)), [...ROOM_VERSIONS.keys()]);
  t.ok(Object.values(capabilities['m.room_versions'].available).every((v) => v === 'stable'));
});
