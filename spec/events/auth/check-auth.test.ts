import t from 'tap';
import { checkAuth } from '../../../src/events/index.js';
import {
  ALICE,
  ALL_VERSIONS,
  BOB,
  CAROL,
  DAVE,
  TestRoom,
  allows,
  refuses,
  standardRoom,
  versions,
} from '../fixtures/room-builder.js';

const none = () => undefined;

t.test('m.room.create: prev_events, room id domain, room_version, creator', async (t) => {
  for (const v of ALL_VERSIONS) {
    const room = new TestRoom(v);
    allows(t, checkAuth(room.create, none, room.rules), `v${v} a fresh create event`);
    const withPrev = room.event({ ...room.create, stateKey: '', content: room.create.content, prevEvents: ['$x'] });
    refuses(t, checkAuth(withPrev, none, room.rules), 'm.room.create: has prev_events', `v${v} prev_events`);
    const badVersion = room.event({ type: 'm.room.create', sender: ALICE, stateKey: '', prevEvents: [], content: { ...room.create.content, room_version: '99' } });
    refuses(t, checkAuth(badVersion, none, room.rules), 'unknown room_version', `v${v} unknown room_version`);
    const numberVersion = room.event({ type: 'm.room.create', sender: ALICE, stateKey: '', prevEvents: [], content: { ...room.create.content, room_version: 10 } });
    refuses(t, checkAuth(numberVersion, none, room.rules), 'unknown room_version', `v${v} room_version as a number`);
    const known = room.event({ type: 'm.room.create', sender: ALICE, stateKey: '', prevEvents: [], content: { ...room.create.content, room_version: v } });
    allows(t, checkAuth(known, none, room.rules), `v${v} room_version ${v}`);
  }
});

t.test('m.room.create v1-11: the room id must be on the sender server', async (t) => {
  for (const v of versions(1, 11)) {
    const room = new TestRoom(v);
    const elsewhere = room.event({ ...room.create, content: room.create.content, stateKey: '', prevEvents: [], roomId: '!r:b.test' });
    refuses(t, checkAuth(elsewhere, none, room.rules), "room_id's server is not the sender's", `v${v}`);
  }
});

t.test('m.room.create: content.creator is required up to v10, not from v11', async (t) => {
  for (const v of ALL_VERSIONS) {
    const room = new TestRoom(v);
    const noCreator = room.event({ type: 'm.room.create', sender: ALICE, stateKey: '', prevEvents: [], content: {} });
    const verdict = checkAuth(noCreator, none, room.rules);
    if (Number(v) <= 10) refuses(t, verdict, 'no creator in content', `v${v}`);
    else allows(t, verdict, `v${v} needs no creator`);
  }
});

t.test('m.room.create v12: no room_id, additional_creators must be user ids', async (t) => {
  const room = new TestRoom('12');
  const withRoomId = room.event({ type: 'm.room.create', sender: ALICE, stateKey: '', prevEvents: [], pdu: { room_id: room.roomId } });
  refuses(t, checkAuth(withRoomId, none, room.rules), 'm.room.create: has a room_id', 'room_id present');
  const good = room.event({ type: 'm.room.create', sender: ALICE, stateKey: '', prevEvents: [], content: { additional_creators: [BOB, CAROL] } });
  allows(t, checkAuth(good, none, room.rules), 'additional creators as user ids');
  for (const bad of [BOB, [BOB, 'carol'], [42], { BOB }]) {
    const event = room.event({ type: 'm.room.create', sender: ALICE, stateKey: '', prevEvents: [], content: { additional_creators: bad } });
    refuses(t, checkAuth(event, none, room.rules), 'additional_creators', `additional_creators ${JSON.stringify(bad)}`);
  }
  // v11 does not know additional_creators: any value passes rule 1.
  const v11 = new TestRoom('11');
  const ignored = v11.event({ type: 'm.room.create', sender: ALICE, stateKey: '', prevEvents: [], content: { additional_creators: 'x' } });
  allows(t, checkAuth(ignored, none, v11.rules), 'v11 ignores additional_creators');
});

t.test('v12: the room id must name the create event', async (t) => {
  const room = standardRoom('12');
  const other = new TestRoom('12');
  const message = room.event({ type: 'm.room.message', sender: ALICE, content: { body: 'hi' }, roomId: other.roomId });
  refuses(t, room.check(message), "room_id is not the event id of the room's m.room.create", 'room id of another create');
  allows(t, room.check(room.event({ type: 'm.room.message', sender: ALICE })), 'room id of its create');
});

t.test('every event needs a create event in the state', async (t) => {
  for (const v of ALL_VERSIONS) {
    const room = standardRoom(v);
    const message = room.event({ type: 'm.room.message', sender: ALICE });
    refuses(t, checkAuth(message, none, room.rules), 'no m.room.create', `v${v}`);
  }
});

t.test('m.federate false keeps other servers out', async (t) => {
  for (const v of ALL_VERSIONS) {
    const room = standardRoom(v, 'public', {}, { 'm.federate': false });
    refuses(t, room.check(room.member(BOB, 'join')), 'm.federate is false', `v${v} remote join`);
    allows(t, room.check(room.member(DAVE, 'join')), `v${v} a user of the creator's server joins`);
  }
});

t.test('events by non-members are refused', async (t) => {
  for (const v of ALL_VERSIONS) {
    const room = standardRoom(v);
    refuses(t, room.check(room.event({ type: 'm.room.message', sender: BOB })), 'sender is not joined', `v${v} never joined`);
    room.setMember(BOB, 'invite', ALICE);
    refuses(t, room.check(room.event({ type: 'm.room.message', sender: BOB })), 'sender is not joined', `v${v} invited`);
    room.setMember(BOB, 'join');
    allows(t, room.check(room.event({ type: 'm.room.message', sender: BOB })), `v${v} joined`);
    room.setMember(BOB, 'leave');
    refuses(t, room.check(room.event({ type: 'm.room.topic', sender: BOB, stateKey: '' })), 'sender is not joined', `v${v} left`);
  }
});

t.test('required power level of the event type', async (t) => {
  for (const v of ALL_VERSIONS) {
    const room = standardRoom(v, 'public', { events: { 'm.room.name': 60 }, events_default: 10, state_default: 50 });
    room.setMember(BOB, 'join');
    refuses(t, room.check(room.event({ type: 'm.room.message', sender: BOB })), 'below the required 10', `v${v} events_default`);
    refuses(t, room.check(room.event({ type: 'm.room.topic', sender: BOB, stateKey: '' })), 'below the required 50', `v${v} state_default`);
    allows(t, room.check(room.event({ type: 'm.room.name', sender: ALICE, stateKey: '' })), `v${v} events entry`);
    room.set('m.room.power_levels', '', ALICE, {
      users: room.rules.privilegedCreators ? { [BOB]: 59 } : { [ALICE]: 100, [BOB]: 59 },
      events: { 'm.room.name': 60 },
      events_default: 10,
    });
    allows(t, room.check(room.event({ type: 'm.room.topic', sender: BOB, stateKey: '' })), `v${v} 59 >= state_default 50`);
    refuses(t, room.check(room.event({ type: 'm.room.name', sender: BOB, stateKey: '' })), 'below the required 60', `v${v} 59 < 60`);
  }
});

t.test('without power levels: creator 100, others 0, state_default 50', async (t) => {
  for (const v of ALL_VERSIONS) {
    const room = new TestRoom(v);
    room.setMember(ALICE, 'join');
    room.set('m.room.join_rules', '', ALICE, { join_rule: 'public' });
    room.setMember(BOB, 'join');
    refuses(t, room.check(room.event({ type: 'm.room.topic', sender: BOB, stateKey: '' })), 'power level', `v${v} a member (0) may not set state`);
    refuses(
      t,
      room.check(room.event({ type: 'm.room.power_levels', sender: BOB, stateKey: '', content: { users: { [BOB]: 100 } } })),
      'power level',
      `v${v} nor make himself the room's admin with the first power levels event`,
    );
    allows(t, room.check(room.event({ type: 'm.room.topic', sender: ALICE, stateKey: '' })), `v${v} the creator sets state`);
    allows(t, room.check(room.event({ type: 'm.room.message', sender: BOB, content: { body: 'hi' } })), `v${v} anyone may send messages (events_default 0)`);
    refuses(t, room.check(room.member(ALICE, 'ban', BOB)), 'ban', `v${v} Bob (0) cannot ban the creator`);
    allows(t, room.check(room.member(BOB, 'ban', ALICE)), `v${v} the creator (100 or more) bans`);
  }
});

t.test("state_key starting with @ must be the sender's", async (t) => {
  for (const v of ALL_VERSIONS) {
    const room = standardRoom(v);
    allows(t, room.check(room.event({ type: 'org.example', sender: ALICE, stateKey: ALICE })), `v${v} own key`);
    refuses(t, room.check(room.event({ type: 'org.example', sender: ALICE, stateKey: BOB })), 'state_key starts with @', `v${v} other's key`);
    allows(t, room.check(room.event({ type: 'org.example', sender: ALICE, stateKey: 'x@y' })), `v${v} @ not first`);
  }
});

t.test('m.room.aliases: its own rule in v1-5, an ordinary state event from v6', async (t) => {
  for (const v of ALL_VERSIONS) {
    const room = standardRoom(v, 'public', { state_default: 50 });
    // Carol is not even a member: v1-5 only look at the server.
    const ownServer = room.event({ type: 'm.room.aliases', sender: CAROL, stateKey: 'c.test', content: { aliases: [] } });
    const otherServer = room.event({ type: 'm.room.aliases', sender: CAROL, stateKey: 'a.test', content: { aliases: [] } });
    if (room.rules.aliasesSpecialCase) {
      allows(t, room.check(ownServer), `v${v} own server, no membership needed`);
      refuses(t, room.check(otherServer), "state_key is not the sender's server", `v${v} another server`);
      const noKey = room.event({ type: 'm.room.aliases', sender: CAROL, content: { aliases: [] } });
      refuses(t, room.check(noKey), 'm.room.aliases: no state_key', `v${v} no state_key`);
    } else {
      refuses(t, room.check(ownServer), 'sender is not joined', `v${v} non-member`);
      room.setMember(CAROL, 'join');
      refuses(t, room.check(ownServer), 'below the required 50', `v${v} needs state_default`);
      allows(t, room.check(room.event({ type: 'm.room.aliases', sender: ALICE, stateKey: 'c.test' })), `v${v} any key by a moderator`);
    }
  }
});

t.test('m.room.third_party_invite needs the invite level', async (t) => {
  for (const v of ALL_VERSIONS) {
    const room = standardRoom(v, 'public', { invite: 50, events: { 'm.room.third_party_invite': 0 } });
    room.setMember(BOB, 'join');
    const invite = (sender: string) => room.event({ type: 'm.room.third_party_invite', sender, stateKey: 'tok', content: {} });
    refuses(t, room.check(invite(BOB)), 'm.room.third_party_invite: sender is below the invite level', `v${v} Bob`);
    allows(t, room.check(invite(ALICE)), `v${v} Alice`);
  }
});

t.test('redactions: rule 11 in v1-2, only the event power level from v3', async (t) => {
  for (const v of ALL_VERSIONS) {
    const room = standardRoom(v, 'public', { redact: 50 });
    room.setMember(BOB, 'join');
    const bobsMessage = room.apply(room.event({ type: 'm.room.message', sender: BOB }));
    const alicesMessage = room.apply(room.event({ type: 'm.room.message', sender: ALICE }));
    const redact = (target: string, eventId?: string) =>
      room.event({ type: 'm.room.redaction', sender: BOB, redacts: target, content: {}, ...(eventId === undefined ? {} : { eventId }) });
    if (room.rules.redactionsCheckedByAuth) {
      // The event ids of v1-2 carry the sending server: b.test may redact b.test's events.
      allows(t, room.check(redact(bobsMessage.eventId, '$r1:b.test')), `v${v} own server's event`);
      refuses(t, room.check(redact(alicesMessage.eventId, '$r2:b.test')), 'm.room.redaction', `v${v} another server's event`);
      const byAlice = room.event({ type: 'm.room.redaction', sender: ALICE, redacts: bobsMessage.eventId });
      allows(t, room.check(byAlice), `v${v} at the redact level`);
    } else {
      allows(t, room.check(redact(alicesMessage.eventId)), `v${v} checked when served, not by auth`);
    }
  }
  const room = standardRoom('11', 'public', { events: { 'm.room.redaction': 50 } });
  room.setMember(BOB, 'join');
  refuses(t, room.check(room.event({ type: 'm.room.redaction', sender: BOB, content: { redacts: '$x' } })), 'below the required 50', 'v11 events level for m.room.redaction');
});

t.test('other events are allowed once the rules pass', async (t) => {
  const room = standardRoom('10');
  room.setMember(BOB, 'join');
  allows(t, room.check(room.event({ type: 'm.room.message', sender: BOB, content: { body: 'hello' } })), 'a message');
});
