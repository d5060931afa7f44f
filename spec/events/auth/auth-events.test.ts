import t from 'tap';
import { authEventsSelection, checkAuthEvents, parseStateKey, type RoomEvent } from '../../../src/events/index.js';
import { ALICE, ALL_VERSIONS, BOB, CAROL, TestRoom, allows, refuses, standardRoom } from '../fixtures/room-builder.js';

const keys = (list: readonly string[]) => list.map((k) => parseStateKey(k as never).join('|')).sort();

t.test('auth events selection', async (t) => {
  for (const v of ALL_VERSIONS) {
    const room = new TestRoom(v);
    const create = room.rules.roomIdFormat === 'create-event-hash' ? [] : ['m.room.create|'];
    t.same(authEventsSelection({ type: 'm.room.create', stateKey: '', sender: ALICE, content: {} }, room.rules), [], `v${v} create`);
    t.same(
      keys(authEventsSelection({ type: 'm.room.message', sender: BOB, content: {} }, room.rules)),
      [...create, `m.room.member|${BOB}`, 'm.room.power_levels|'].sort(),
      `v${v} message`,
    );
    t.same(
      keys(authEventsSelection({ type: 'm.room.member', stateKey: CAROL, sender: BOB, content: { membership: 'ban' } }, room.rules)),
      [...create, `m.room.member|${BOB}`, `m.room.member|${CAROL}`, 'm.room.power_levels|'].sort(),
      `v${v} ban: no join rules`,
    );
    t.same(
      keys(authEventsSelection({ type: 'm.room.member', stateKey: CAROL, sender: BOB, content: { membership: 'invite', third_party_invite: { signed: { token: 'tok' } } } }, room.rules)),
      [...create, `m.room.member|${BOB}`, `m.room.member|${CAROL}`, 'm.room.join_rules|', 'm.room.power_levels|', 'm.room.third_party_invite|tok'].sort(),
      `v${v} third-party invite`,
    );
    const restricted = keys(
      authEventsSelection({ type: 'm.room.member', stateKey: BOB, sender: BOB, content: { membership: 'join', join_authorised_via_users_server: ALICE } }, room.rules),
    );
    const expected = [...create, `m.room.member|${BOB}`, 'm.room.join_rules|', 'm.room.power_levels|'];
    if (room.rules.restrictedJoins) expected.push(`m.room.member|${ALICE}`);
    t.same(restricted, expected.sort(), `v${v} restricted join`);
  }
});

/** A room and Bob's join with auth events cited by id. */
function setup(version: string) {
  const room = standardRoom(version);
  const create = room.create;
  const pl = room.lookup('m.room.power_levels', '') as RoomEvent;
  const jr = room.lookup('m.room.join_rules', '') as RoomEvent;
  const aliceJoin = room.lookup('m.room.member', ALICE) as RoomEvent;
  const v12 = room.rules.roomIdFormat === 'create-event-hash';
  const cite = (events: RoomEvent[]) => events.map((e) => e.eventId);
  const join = (authEvents: RoomEvent[], content: Record<string, unknown> = { membership: 'join' }) =>
    room.event({ type: 'm.room.member', stateKey: BOB, sender: BOB, content, authEvents: cite(authEvents) });
  const base = v12 ? [pl, jr] : [create, pl, jr];
  return { room, create, pl, jr, aliceJoin, v12, join, base };
}

t.test('checkAuthEvents: the auth events themselves', async (t) => {
  for (const v of ALL_VERSIONS) {
    const { room, create, pl, jr, aliceJoin, v12, join, base } = setup(v);
    const supplied = [create, pl, jr, aliceJoin];
    allows(t, checkAuthEvents(join(base), supplied, room.rules), `v${v} a correct join`);
    refuses(t, checkAuthEvents(join([...base, pl]), supplied, room.rules), 'is listed twice', `v${v} same event twice`);
    const otherPl = room.event({ type: 'm.room.power_levels', stateKey: '', sender: ALICE, content: {} });
    refuses(t, checkAuthEvents(join([...base, otherPl]), [...supplied, otherPl], room.rules), 'two entries for (m.room.power_levels, )', `v${v} duplicate pair`);
    refuses(t, checkAuthEvents(join([...base, aliceJoin]), supplied, room.rules), `(m.room.member, ${ALICE}) is not called for`, `v${v} an entry the selection does not call for`);
    const topic = room.event({ type: 'm.room.topic', stateKey: '', sender: ALICE });
    refuses(t, checkAuthEvents(join([...base, topic]), [...supplied, topic], room.rules), '(m.room.topic, ) is not called for', `v${v} unrelated state`);
    refuses(t, checkAuthEvents(join(base), [create, jr], room.rules), 'was not supplied', `v${v} a cited event is missing`);
    refuses(
      t,
      checkAuthEvents(join(base), supplied, room.rules, { isRejected: (e) => e.eventId === pl.eventId }),
      `${pl.eventId} was rejected`,
      `v${v} a rejected auth event`,
    );
    const foreignJr = room.event({ type: 'm.room.join_rules', stateKey: '', sender: ALICE, content: { join_rule: 'public' }, roomId: new TestRoom(v).roomId });
    const withForeign = v12 ? [pl, foreignJr] : [create, pl, foreignJr];
    refuses(t, checkAuthEvents(join(withForeign), [...supplied, foreignJr], room.rules), 'is in another room', `v${v} auth event in another room`);
    // The rules then run against the state the auth events make up: without the join rules, invite-only.
    refuses(t, checkAuthEvents(join(v12 ? [pl] : [create, pl]), supplied, room.rules), 'join rule is invite', `v${v} join rules not cited`);
    if (v12) {
      refuses(t, checkAuthEvents(join([create, pl, jr]), supplied, room.rules), '(m.room.create, ) is not called for', 'v12 create must not be cited');
      refuses(t, checkAuthEvents(join(base), [pl, jr], room.rules), 'room_id is not the event id of a known m.room.create', 'v12 create not supplied');
      refuses(
        t,
        checkAuthEvents(join(base), supplied, room.rules, { isRejected: (e) => e.type === 'm.room.create' }),
        'm.room.create event the room_id names was rejected',
        'v12 rejected create',
      );
    } else {
      refuses(t, checkAuthEvents(join([pl, jr]), supplied, room.rules), 'no m.room.create event among them', `v${v} create not cited`);
    }
  }
});

t.test('checkAuthEvents: restricted joins cite the authoriser', async (t) => {
  for (const v of ['8', '10', '12']) {
    const { room, create, pl, aliceJoin, v12 } = setup(v);
    const jr = room.set('m.room.join_rules', '', ALICE, { join_rule: 'restricted', allow: [] });
    const content = { membership: 'join', join_authorised_via_users_server: ALICE };
    const cited = v12 ? [pl, jr, aliceJoin] : [create, pl, jr, aliceJoin];
    const event = room.event({
      type: 'm.room.member',
      stateKey: BOB,
      sender: BOB,
      content,
      authEvents: cited.map((e) => e.eventId),
      pdu: { signatures: { 'b.test': { 'ed25519:k': 's' }, 'a.test': { 'ed25519:k': 's' } } },
    });
    allows(t, checkAuthEvents(event, [create, pl, jr, aliceJoin], room.rules), `v${v} authorised join`);
  }
});

t.test('checkAuthEvents: the create event needs no auth events', async (t) => {
  for (const v of ALL_VERSIONS) {
    const room = new TestRoom(v);
    allows(t, checkAuthEvents(room.create, [], room.rules), `v${v}`);
  }
});
