import t from 'tap';
import { appOn, registerUser } from '../../helpers/app.js';
import { testClient } from '../../helpers/client.js';
import { eachEngine } from '../../helpers/database.js';
import { OPENID_TOKEN_LIFETIME_MS } from '../../../src/users/index.js';

const USERINFO = '/_matrix/federation/v1/openid/userinfo';

void eachEngine(t, 'an OpenID token is traded for the user id, and for nothing once it expires', async (t, db) => {
  let now = 1_700_000_000_000;
  const { app } = await appOn(t, db, { clock: { now: () => now } });
  const alice = testClient(app, await registerUser(app, 'alice'));
  const issued = await alice.post(`/user/${encodeURIComponent(alice.user)}/openid/request_token`, {});
  t.equal(issued.status, 200);
  t.match(issued.body, { access_token: String, token_type: 'Bearer', matrix_server_name: 'hearth.test', expires_in: 3600 });

  const info = await app.inject({ method: 'GET', url: `${USERINFO}?access_token=${encodeURIComponent(issued.body.access_token)}` });
  t.equal(info.statusCode, 200);
  t.same(info.json(), { sub: '@alice:hearth.test' });

  const asAccessToken = await app.inject({ method: 'GET', url: '/_matrix/client/v3/account/whoami', headers: { authorization: `Bearer ${issued.body.access_token}` } });
  t.equal(asAccessToken.json().errcode, 'M_UNKNOWN_TOKEN', 'it is no access token');

  const unknown = await app.inject({ method: 'GET', url: `${USERINFO}?access_token=an%2Finvalid%2Ftoken` });
  t.same([unknown.statusCode, unknown.json().errcode], [401, 'M_UNKNOWN_TOKEN']);
  const missing = await app.inject({ method: 'GET', url: USERINFO });
  t.same([missing.statusCode, missing.json().errcode], [401, 'M_MISSING_TOKEN']);

  const forBob = await alice.post('/user/%40bob%3Ahearth.test/openid/request_token', {});
  t.same([forBob.status, forBob.body.errcode], [403, 'M_FORBIDDEN'], 'only for yourself');

  now += OPENID_TOKEN_LIFETIME_MS + 1;
  const expired = await app.inject({ method: 'GET', url: `${USERINFO}?access_token=${encodeURIComponent(issued.body.access_token)}` });
  t.same([expired.statusCode, expired.json().errcode], [401, 'M_UNKNOWN_TOKEN'], 'an hour later it is no good');
});

void eachEngine(t, 'whois shows each device\'s last address, time and client, to the user and to admins only', async (t, db) => {
  const { app } = await appOn(t, db);
  const session = await registerUser(app, 'alice');
  const alice = testClient(app, session);
  const bob = testClient(app, await registerUser(app, 'bob'));
  const whoisUrl = `/_matrix/client/v3/admin/whois/${encodeURIComponent(alice.user)}`;
  await app.inject({ method: 'GET', url: '/_matrix/client/v3/account/whoami', headers: { authorization: `Bearer ${session.access_token}`, 'user-agent': 'TestClient/1.0' } });
  // The last-seen write does not hold up the request it comes with; give it a moment.
  let body: any;
  for (let i = 0; i < 50; i++) {
    body = (await alice.get(whoisUrl)).body;
    if (body.devices?.[alice.device]?.sessions[0].connections.length) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  t.equal(body.user_id, alice.user);
  t.match(body.devices[alice.device].sessions[0].connections[0], { ip: String, last_seen: Number, user_agent: 'TestClient/1.0' });

  const byBob = await bob.get(whoisUrl);
  t.same([byBob.status, byBob.body.errcode], [403, 'M_FORBIDDEN'], 'another user may not look');
  await db.sql`update users set admin = true where user_id = ${bob.user}`;
  t.equal((await bob.get(whoisUrl)).status, 200, 'an admin may');
  t.equal((await bob.get('/_matrix/client/v3/admin/whois/%40nobody%3Ahearth.test')).body.errcode, 'M_NOT_FOUND');
});

void eachEngine(t, 'a device not used since it logged in has no connection in whois yet', async (t, db) => {
  const { app } = await appOn(t, db);
  const alice = testClient(app, await registerUser(app, 'alice'));
  const login = await app.inject({ method: 'POST', url: '/_matrix/client/v3/login', payload: { type: 'm.login.password', user: 'alice', password: 'pw', device_id: 'IDLE' } });
  t.equal(login.statusCode, 200);
  const body = (await alice.get(`/_matrix/client/v3/admin/whois/${encodeURIComponent(alice.user)}`)).body;
  t.same(body.devices.IDLE, { sessions: [{ connections: [] }] });
});
