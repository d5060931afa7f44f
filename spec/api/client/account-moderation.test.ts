import t from 'tap';
import { registerUser } from '../../helpers/app.js';
import { roomPath, testClient } from '../../helpers/client.js';
import { engines } from '../../helpers/database.js';
import { startTestServer } from '../../helpers/server.js';

/**
 * Account moderation (client-server API 1.18): a server admin locks an account (nothing but logout works,
 * answered M_USER_LOCKED with soft_logout, and its sessions survive for when it is unlocked) or suspends
 * it (it reads and leaves, but cannot join, send, invite or change its profile: M_USER_SUSPENDED).
 */

const V1_ADMIN = '/_matrix/client/v1/admin';
const login = (user: string, password: string) => ({ type: 'm.login.password', identifier: { type: 'm.id.user', user }, password });

for (const engine of engines()) {
  t.test(`${engine}: locking`, async (t) => {
    const server = await startTestServer(t, engine);
    const root = await registerUser(server.app, 'root', 'root password');
    await server.database.sql`update users set admin = true where user_id = ${root.user_id}`;
    const admin = testClient(server.app, root);
    const mallory = testClient(server.app, await registerUser(server.app, 'mallory', 'mallory password'));
    const lock = (client: typeof admin, userId: string, locked: unknown) => client.put(`${V1_ADMIN}/lock/${encodeURIComponent(userId)}`, { locked });
    const lockStatus = (client: typeof admin, userId: string) => client.get(`${V1_ADMIN}/lock/${encodeURIComponent(userId)}`);

    t.same((await admin.get('/capabilities')).body.capabilities['m.account_moderation'], { suspend: true, lock: true }, 'admins are told they may');
    t.equal((await mallory.get('/capabilities')).body.capabilities['m.account_moderation'], undefined, 'others are not');
    t.match(await lockStatus(mallory, '@nobody:hearth.test'), { status: 403, body: { errcode: 'M_FORBIDDEN' } }, 'only admins, before any lookup');
    t.match(await lockStatus(admin, '@nobody:hearth.test'), { status: 404, body: { errcode: 'M_NOT_FOUND' } });
    t.match(await lockStatus(admin, '@someone:elsewhere.test'), { status: 400, body: { errcode: 'M_INVALID_PARAM' } });
    t.match(await lockStatus(admin, 'mallory'), { status: 400, body: { errcode: 'M_INVALID_PARAM' } });
    t.match(await lock(admin, mallory.user, 'yes'), { status: 400, body: { errcode: 'M_BAD_JSON' } });
    t.same((await lockStatus(admin, mallory.user)).body, { locked: false });
    t.match(await lock(admin, root.user_id, true), { status: 403, body: { errcode: 'M_FORBIDDEN' } }, 'not one\'s own account');

    t.same((await lock(admin, mallory.user, true)).body, { locked: true });
    t.same((await lockStatus(admin, mallory.user)).body, { locked: true });
    t.same(await mallory.get('/account/whoami'), {
      status: 401,
      body: { errcode: 'M_USER_LOCKED', error: 'This account has been locked by a server admin', soft_logout: true },
    });
    t.match(await mallory.sync(), { status: 401, body: { errcode: 'M_USER_LOCKED' } });
    const anonymous = testClient(server.app, null);
    t.match(await anonymous.post('/login', login('mallory', 'mallory password')), { status: 401, body: { errcode: 'M_USER_LOCKED', soft_logout: true } }, 'no new sessions');
    t.match((await admin.get(`/_synapse/admin/v2/users/${encodeURIComponent(mallory.user)}`)).body, { locked: true, suspended: false });

    t.same((await lock(admin, mallory.user, false)).body, { locked: false });
    t.equal((await mallory.get('/account/whoami')).body.user_id, mallory.user, 'unlocked, the same session works again');

    await lock(admin, mallory.user, true);
    t.equal((await mallory.post('/logout')).status, 200, 'a locked account may log out');
  });

  t.test(`${engine}: suspension`, async (t) => {
    const server = await startTestServer(t, engine);
    const root = await registerUser(server.app, 'root', 'root password');
    await server.database.sql`update users set admin = true where user_id = ${root.user_id}`;
    const admin = testClient(server.app, root);
    const carol = testClient(server.app, await registerUser(server.app, 'carol', 'carol password'));
    const mallory = testClient(server.app, await registerUser(server.app, 'mallory', 'mallory password'));
    const room = await carol.createRoom({ preset: 'public_chat', room_version: '10', power_level_content_override: { users: { [carol.user]: 100, [mallory.user]: 50 } } });
    const other = await carol.createRoom({ preset: 'public_chat' });
    await mallory.post(`/join/${encodeURIComponent(room)}`);
    const own = (await mallory.send(room, 'mine', 't1')).body.event_id as string;
    const carols = (await carol.send(room, 'carol\'s', 't2')).body.event_id as string;
    const suspend = (client: typeof admin, userId: string, suspended: boolean) => client.put(`${V1_ADMIN}/suspend/${encodeURIComponent(userId)}`, { suspended });

    t.match(await suspend(mallory, carol.user, true), { status: 403, body: { errcode: 'M_FORBIDDEN' } });
    const otherAdmin = await registerUser(server.app, 'deputy', 'deputy password');
    await server.database.sql`update users set admin = true where user_id = ${otherAdmin.user_id}`;
    t.match(await suspend(admin, otherAdmin.user_id, true), { status: 403, body: { errcode: 'M_FORBIDDEN' } }, 'not another admin');
    t.same((await suspend(admin, mallory.user, true)).body, { suspended: true });
    t.same((await admin.get(`${V1_ADMIN}/suspend/${encodeURIComponent(mallory.user)}`)).body, { suspended: true });

    const refused = { status: 403, body: { errcode: 'M_USER_SUSPENDED' } };
    t.match(await mallory.send(room, 'spam', 't3'), refused, 'no messages');
    t.match(await mallory.put(`${roomPath(room)}/state/m.room.topic/`, { topic: 'spam' }), refused, 'no state');
    t.match(await mallory.post(`/join/${encodeURIComponent(other)}`), refused, 'no joins');
    t.match(await mallory.post(`${roomPath(room)}/invite`, { user_id: carol.user }), refused, 'no invites');
    t.match(await mallory.post('/createRoom', {}), refused, 'no new rooms');
    t.match(await mallory.put(`/profile/${encodeURIComponent(mallory.user)}/displayname`, { displayname: 'Not Mallory' }), refused, 'no profile changes');
    t.match((await mallory.get('/capabilities')).body.capabilities, { 'm.set_displayname': { enabled: false }, 'm.set_avatar_url': { enabled: false } });
    t.match(await mallory.put(`${roomPath(room)}/redact/${encodeURIComponent(carols)}/r1`, {}), refused, 'no redacting others');

    t.equal((await mallory.sync()).status, 200, 'syncing goes on');
    t.equal((await mallory.get(`${roomPath(room)}/messages?dir=b`)).status, 200, 'and reading');
    t.equal((await mallory.put(`${roomPath(room)}/redact/${encodeURIComponent(own)}/r2`, {})).status, 200, 'taking back one\'s own');
    t.equal((await mallory.post(`${roomPath(room)}/leave`)).status, 200, 'and leaving');

    t.same((await suspend(admin, mallory.user, false)).body, { suspended: false });
    t.equal((await mallory.post(`/join/${encodeURIComponent(other)}`)).status, 200, 'lifted, everything works again');
    t.equal((await mallory.send(other, 'hello again', 't4')).status, 200);
  });
}
