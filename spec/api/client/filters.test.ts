import t from 'tap';
import { appOn, registerUser } from '../../helpers/app.js';
import { eachEngine } from '../../helpers/database.js';

const V3 = '/_matrix/client/v3';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const filterUrl = (userId: string, id?: string) => `${V3}/user/${encodeURIComponent(userId)}/filter${id === undefined ? '' : `/${id}`}`;

const ELEMENT_LIKE = {
  room: {
    state: { lazy_load_members: true, types: ['m.room.*'] },
    timeline: { limit: 20, not_senders: ['@spam:hearth.test'], unread_thread_notifications: true },
    include_leave: false,
  },
  presence: { not_types: ['*'] },
  event_fields: ['type', 'content.body'],
  event_format: 'client',
  'org.example.custom': { kept: true },
};

void eachEngine(t, 'a filter round trips, the same one again gets the same id, another a new id', async (t, db) => {
  const { app } = await appOn(t, db);
  const alice = await registerUser(app, 'alice');
  const auth = bearer(alice.access_token);

  const made = await app.inject({ method: 'POST', url: filterUrl(alice.user_id), headers: auth, payload: ELEMENT_LIKE });
  t.equal(made.statusCode, 200);
  const id = made.json().filter_id;
  t.type(id, 'string');

  const read = await app.inject({ method: 'GET', url: filterUrl(alice.user_id, id), headers: auth });
  t.equal(read.statusCode, 200);
  t.same(read.json(), ELEMENT_LIKE, 'as uploaded, unknown keys included');

  const again = await app.inject({ method: 'POST', url: filterUrl(alice.user_id), headers: auth, payload: ELEMENT_LIKE });
  t.equal(again.json().filter_id, id);
  const other = await app.inject({ method: 'POST', url: filterUrl(alice.user_id), headers: auth, payload: { room: { rooms: [] } } });
  t.not(other.json().filter_id, id);
  t.same((await app.inject({ method: 'GET', url: filterUrl(alice.user_id, other.json().filter_id), headers: auth })).json(), { room: { rooms: [] } });
});

void eachEngine(t, 'bad filters, unknown ids and other users are refused', async (t, db) => {
  const { app } = await appOn(t, db);
  const alice = await registerUser(app, 'alice');
  const bob = await registerUser(app, 'bob');
  const auth = bearer(alice.access_token);

  for (const bad of [
    { room: 'everything' },
    { room: { timeline: { limit: 'ten' } } },
    { room: { state: { types: 'm.room.member' } } },
    { event_format: 'xml' },
    { presence: { senders: [1] } },
  ]) {
    const res = await app.inject({ method: 'POST', url: filterUrl(alice.user_id), headers: auth, payload: bad });
    t.equal(res.statusCode, 400, JSON.stringify(bad));
    t.equal(res.json().errcode, 'M_BAD_JSON');
  }
  const floats = await app.inject({ method: 'POST', url: filterUrl(alice.user_id), headers: auth, payload: { 'x.y': 1.5 } });
  t.equal(floats.json().errcode, 'M_BAD_JSON', 'what cannot be canonical JSON is refused, not a 500');

  for (const id of ['0', '999', 'abc']) {
    const res = await app.inject({ method: 'GET', url: filterUrl(alice.user_id, id), headers: auth });
    t.equal(res.statusCode, 404, `filter ${id}`);
    t.equal(res.json().errcode, 'M_NOT_FOUND');
  }

  const made = await app.inject({ method: 'POST', url: filterUrl(alice.user_id), headers: auth, payload: {} });
  const id = made.json().filter_id;
  const bobReads = await app.inject({ method: 'GET', url: filterUrl(alice.user_id, id), headers: bearer(bob.access_token) });
  t.equal(bobReads.statusCode, 403);
  const bobOwn = await app.inject({ method: 'GET', url: filterUrl(bob.user_id, id), headers: bearer(bob.access_token) });
  t.equal(bobOwn.statusCode, 404, "filter ids are per user: alice's is not bob's");
  const bobMakes = await app.inject({ method: 'POST', url: filterUrl(alice.user_id), headers: bearer(bob.access_token), payload: {} });
  t.equal(bobMakes.json().errcode, 'M_FORBIDDEN');
});

void eachEngine(t, 'a filter naming something that is no user or room id is refused', async (t, db) => {
  const { app } = await appOn(t, db);
  const alice = await registerUser(app, 'alice');
  const auth = bearer(alice.access_token);
  const post = (payload: unknown) => app.inject({ method: 'POST', url: filterUrl(alice.user_id), headers: auth, payload: payload as object });

  for (const bad of [
    { room: { timeline: { senders: ['not_a_sender_id'] } } },
    { room: { state: { not_senders: ['alice'] } } },
    { room: { timeline: { rooms: ['not_a_room_id'] } } },
    { room: { ephemeral: { not_rooms: ['#alias:hearth.test'] } } },
    { room: { rooms: ['lobby'] } },
    { presence: { senders: ['@nocolon'] } },
    { account_data: { not_senders: ['!room:hearth.test'] } },
  ]) {
    const res = await post(bad);
    t.same([res.statusCode, res.json().errcode], [400, 'M_BAD_JSON'], JSON.stringify(bad));
  }
  const message = (await post({ room: { timeline: { rooms: ['not_a_room_id'] } } })).json().error;
  t.match(message, /room\.timeline\.rooms.*not_a_room_id/, 'the error says which entry is wrong');

  const good = await post({
    room: { rooms: ['!abc:hearth.test'], timeline: { senders: ['@bob:elsewhere.test'], not_rooms: ['!def:hearth.test'] } },
    presence: { not_senders: ['@carol:hearth.test'] },
  });
  t.equal(good.statusCode, 200, 'real ids, local or remote, are fine');
});
