import t from 'tap';
import { eachEngine } from '../../helpers/database.js';
import { enc, threeUsers } from '../../helpers/directory-client.js';

const room = (roomId: string) => `/rooms/${enc(roomId)}`;

t.test('tags set on a room read back, and are the room\'s m.tag account data', async (t) => {
  await eachEngine(t, 'tags', async (t, db) => {
    const { alice, bob } = await threeUsers(t, db);
    const roomId = await alice.createRoom();
    const tags = `/user/${enc(alice.user)}/rooms/${enc(roomId)}/tags`;

    t.same((await alice.get(tags)).body, { tags: {} }, 'no tags yet');
    t.same(await alice.put(`${tags}/m.favourite`, { order: 0.25 }), { status: 200, body: {} });
    t.same(await alice.put(`${tags}/u.work`, {}), { status: 200, body: {} });
    t.same((await alice.get(tags)).body, { tags: { 'm.favourite': { order: 0.25 }, 'u.work': {} } });
    t.same((await alice.get(`/user/${enc(alice.user)}/rooms/${enc(roomId)}/account_data/m.tag`)).body,
      { tags: { 'm.favourite': { order: 0.25 }, 'u.work': {} } }, 'stored as m.tag room account data, which sync delivers');

    t.same(await alice.call('DELETE', `${tags}/u.work`), { status: 200, body: {} });
    t.same(await alice.call('DELETE', `${tags}/u.never`), { status: 200, body: {} }, 'removing an absent tag is fine');
    t.same((await alice.get(tags)).body, { tags: { 'm.favourite': { order: 0.25 } } });

    t.same((await bob.get(tags)).body.errcode, 'M_FORBIDDEN', 'another user\'s tags are private');
    t.same((await bob.put(`${tags}/u.x`, {})).body.errcode, 'M_FORBIDDEN');
    t.same((await alice.put(`${tags}/u.x`, { order: 'first' })).body.errcode, 'M_BAD_JSON', 'order must be a number');
    t.same((await alice.put(`${tags}/u.x`, { order: 2 })).body.errcode, 'M_BAD_JSON', 'order is between 0 and 1');
    t.same((await alice.put(`${tags}/${'x'.repeat(256)}`, {})).body.errcode, 'M_INVALID_PARAM', 'a tag is at most 255 bytes');
    t.same((await alice.get(`/user/${enc(alice.user)}/rooms/not-a-room/tags`)).body.errcode, 'M_INVALID_PARAM');
  });
});

t.test('reports are stored; reporting outside one\'s rooms is M_NOT_FOUND', async (t) => {
  await eachEngine(t, 'reports', async (t, db) => {
    const { alice, bob, carol } = await threeUsers(t, db);
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    await bob.post(`${room(roomId)}/join`);
    const other = await carol.createRoom();
    const bad = (await bob.send(roomId, 'something nasty', 'b1')).body.event_id as string;
    const elsewhere = (await carol.send(other, 'in carol\'s room', 'c1')).body.event_id as string;

    t.same(await alice.post(`${room(roomId)}/report/${enc(bad)}`, { reason: 'rude', score: -100 }), { status: 200, body: {} });
    t.same(await alice.post(`${room(roomId)}/report/${enc(bad)}`, {}), { status: 200, body: {} }, 'the reason is optional');

    const wrongRoom = await alice.post(`${room(roomId)}/report/${enc(elsewhere)}`, { reason: 'x' });
    t.same([wrongRoom.status, wrongRoom.body.errcode], [404, 'M_NOT_FOUND'], 'an event of another room');
    const notMember = await alice.post(`${room(other)}/report/${enc(elsewhere)}`, { reason: 'x' });
    t.same([notMember.status, notMember.body.errcode], [404, 'M_NOT_FOUND'], 'a room the reporter is not in');
    const noEvent = await alice.post(`${room(roomId)}/report/${enc('$nothing:hearth.test')}`, { reason: 'x' });
    t.same(noEvent.body.errcode, 'M_NOT_FOUND');

    t.same(await carol.post(`${room(roomId)}/report`, { reason: 'spam room' }), { status: 200, body: {} }, 'a room report needs no membership');
    t.same((await carol.post(`${room('!nope:hearth.test')}/report`, { reason: 'x' })).body.errcode, 'M_NOT_FOUND');
    t.same(await carol.post(`/users/${enc(bob.user)}/report`, { reason: 'harassment' }), { status: 200, body: {} });
    t.same((await carol.post(`/users/${enc('@ghost:hearth.test')}/report`, { reason: 'x' })).body.errcode, 'M_NOT_FOUND');
    t.same((await carol.post(`/users/${enc(bob.user)}/report`, {})).body.errcode, 'M_BAD_JSON', 'a user report needs a reason');

    const rows = await db.sql<{ kind: string; reporter: string; room_id: string | null; event_id: string | null; target_user_id: string | null; reason: string | null; score: number | null }[]>`
      select kind, reporter, room_id, event_id, target_user_id, reason, score from reports order by report_id`;
    t.same(rows.map((r) => ({ ...r })), [
      { kind: 'event', reporter: alice.user, room_id: roomId, event_id: bad, target_user_id: null, reason: 'rude', score: -100 },
      { kind: 'event', reporter: alice.user, room_id: roomId, event_id: bad, target_user_id: null, reason: null, score: null },
      { kind: 'room', reporter: carol.user, room_id: roomId, event_id: null, target_user_id: null, reason: 'spam room', score: null },
      { kind: 'user', reporter: carol.user, room_id: null, event_id: null, target_user_id: bob.user, reason: 'harassment', score: null },
    ], 'every accepted report is stored, nothing else');

    // Synapse's admin API: admins only.
    t.same((await alice.get('/_synapse/admin/v1/event_reports')).body.errcode, 'M_FORBIDDEN', 'not for ordinary users');
    await db.sql`update users set admin = true where user_id = ${carol.user}`;
    const list = await carol.get('/_synapse/admin/v1/event_reports?limit=1');
    t.match(list.body, { total: 2, next_token: 1, event_reports: [{ room_id: roomId, event_id: bad, user_id: alice.user, reason: null }] },
      'newest first, paged');
    const one = await carol.get(`/_synapse/admin/v1/event_reports/${list.body.event_reports[0].id}`);
    t.match(one.body, { event_id: bad, sender: bob.user, event_json: { content: { body: 'something nasty' } } });
    t.same((await carol.get('/_synapse/admin/v1/event_reports/999')).body.errcode, 'M_NOT_FOUND');
  });
});
