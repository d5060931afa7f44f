import t from 'tap';
import {
  eventPowerLevel,
  parsePowerLevelValue,
  powerLevelsContent,
  userPowerLevel,
} from '../../../src/events/index.js';
import { rules } from '../../helpers/events.js';
import { ALICE, ALL_VERSIONS, BOB, CAROL, DAVE, TestRoom, allows, refuses, standardRoom } from '../fixtures/room-builder.js';

t.test('power level values: strings before v10, floats before v6', async (t) => {
  const cases: [unknown, Record<'v1' | 'v6' | 'v10', number | undefined>][] = [
    [50, { v1: 50, v6: 50, v10: 50 }],
    ['50', { v1: 50, v6: 50, v10: undefined }],
    [' +0100 ', { v1: 100, v6: 100, v10: undefined }],
    ['-5', { v1: -5, v6: -5, v10: undefined }],
    ['5.5', { v1: undefined, v6: undefined, v10: undefined }],
    ['abc', { v1: undefined, v6: undefined, v10: undefined }],
    [50.57, { v1: 50, v6: undefined, v10: undefined }],
    [5.114698e4, { v1: 51146, v6: undefined, v10: undefined }],
    [null, { v1: undefined, v6: undefined, v10: undefined }],
    [true, { v1: undefined, v6: undefined, v10: undefined }],
  ];
  for (const [value, expected] of cases) {
    t.equal(parsePowerLevelValue(value, rules('1')), expected.v1, `v1 ${JSON.stringify(value)}`);
    t.equal(parsePowerLevelValue(value, rules('6')), expected.v6, `v6 ${JSON.stringify(value)}`);
    t.equal(parsePowerLevelValue(value, rules('10')), expected.v10, `v10 ${JSON.stringify(value)}`);
  }
});

t.test('defaults without an m.room.power_levels event', async (t) => {
  for (const v of ALL_VERSIONS) {
    const room = new TestRoom(v);
    const levels = powerLevelsContent(room.lookup, room.rules);
    t.equal(levels.fromEvent, false);
    t.same([levels.ban, levels.kick, levels.redact, levels.invite], [50, 50, 50, 0], `v${v} ban kick redact invite`);
    t.same([levels.usersDefault, levels.eventsDefault, levels.stateDefault], [0, 0, 50], `v${v} defaults (state_default 50, as the m.room.power_levels schema says)`);
    t.equal(userPowerLevel(ALICE, room.lookup, room.rules), room.rules.privilegedCreators ? Infinity : 100, `v${v} creator`);
    t.equal(userPowerLevel(BOB, room.lookup, room.rules), 0, `v${v} others`);
    t.equal(eventPowerLevel('m.room.topic', true, levels), 50, `v${v} state events`);
  }
  // v1-10 take the creator from content.creator.
  const room = new TestRoom('10', ALICE, { creator: BOB });
  t.equal(userPowerLevel(BOB, room.lookup, room.rules), 100);
  t.equal(userPowerLevel(ALICE, room.lookup, room.rules), 0);
});

t.test('levels from the event, with per-field defaults', async (t) => {
  const room = standardRoom('9', 'public', { users: { [ALICE]: '75' }, users_default: '5', events: { 'm.room.name': '20' } });
  const levels = powerLevelsContent(room.lookup, room.rules);
  t.equal(levels.fromEvent, true);
  t.equal(userPowerLevel(ALICE, room.lookup, room.rules), 75, 'string level in v9');
  t.equal(userPowerLevel(BOB, room.lookup, room.rules), 5, 'users_default');
  t.equal(eventPowerLevel('m.room.name', true, levels), 20);
  t.equal(eventPowerLevel('m.room.topic', true, levels), 50, 'state_default defaults to 50 with an event');
  t.equal(eventPowerLevel('m.room.message', false, levels), 0);
  t.equal(levels.invite, 0);
});

t.test('v12: creators and additional creators have infinite power', async (t) => {
  const room = standardRoom('12', 'public', {}, { additional_creators: [BOB] });
  t.equal(userPowerLevel(ALICE, room.lookup, room.rules), Infinity);
  t.equal(userPowerLevel(BOB, room.lookup, room.rules), Infinity);
  t.equal(userPowerLevel(CAROL, room.lookup, room.rules), 0);
  const v11 = standardRoom('11', 'public', {}, { additional_creators: [BOB] });
  t.equal(userPowerLevel(BOB, v11.lookup, v11.rules), 0, 'v11 has no additional creators');
});

/** A power levels event by `sender` with `content`, checked against the room. */
function change(room: TestRoom, sender: string, content: Record<string, unknown>) {
  return room.check(room.event({ type: 'm.room.power_levels', stateKey: '', sender, content }));
}

t.test('power level changes: own level is the ceiling', async (t) => {
  for (const v of ALL_VERSIONS) {
    const room = new TestRoom(v);
    room.setMember(ALICE, 'join');
    room.set('m.room.join_rules', '', ALICE, { join_rule: 'public' });
    room.setMember(BOB, 'join');
    room.setMember(CAROL, 'join');
    room.setMember(DAVE, 'join');
    const creator = room.rules.privilegedCreators ? {} : { [ALICE]: 100 };
    allows(t, change(room, ALICE, { users: { ...creator, [BOB]: 50, [CAROL]: 50 } }), `v${v} the first power levels event`);
    room.set('m.room.power_levels', '', ALICE, { users: { ...creator, [BOB]: 50, [CAROL]: 50, [DAVE]: 10 }, state_default: 50, ban: 50 });
    const base = { ...creator, [BOB]: 50, [CAROL]: 50, [DAVE]: 10 };

    refuses(t, change(room, BOB, { users: { ...base, [BOB]: 51 }, state_default: 50, ban: 50 }), `new users[${BOB}] is above`, `v${v} raise self above own level`);
    allows(t, change(room, BOB, { users: { ...base, [BOB]: 20 }, state_default: 50, ban: 50 }), `v${v} lower self`);
    allows(t, change(room, BOB, { users: { ...base, [DAVE]: 50 }, state_default: 50, ban: 50 }), `v${v} raise another to own level`);
    refuses(t, change(room, BOB, { users: { ...base, [CAROL]: 0 }, state_default: 50, ban: 50 }), `users[${CAROL}] is not below`, `v${v} demote an equal`);
    const { [CAROL]: _carol, ...withoutCarol } = base;
    refuses(t, change(room, BOB, { users: withoutCarol, state_default: 50, ban: 50 }), `users[${CAROL}] is not below`, `v${v} remove an equal`);
    const { [DAVE]: _dave, ...withoutDave } = base;
    allows(t, change(room, BOB, { users: withoutDave, state_default: 50, ban: 50 }), `v${v} remove a lower user`);
    refuses(t, change(room, BOB, { users: base, state_default: 50, ban: 50, kick: 51 }), 'new kick is above', `v${v} add kick above own level`);
    allows(t, change(room, BOB, { users: base, state_default: 50, ban: 50, kick: 50 }), `v${v} add kick at own level`);
    refuses(t, change(room, DAVE, { users: base, state_default: 50 }), 'below the required 50', `v${v} not allowed to send power levels at all`);
    refuses(t, change(room, BOB, { users: base, state_default: 50, ban: 50, events: { 'm.room.name': 60 } }), 'new events[m.room.name] is above', `v${v} events above own level`);
    refuses(t, change(room, BOB, { users: { ...base, 'not a user': 0 }, state_default: 50, ban: 50 }), 'not a user ID', `v${v} invalid user id`);
    refuses(t, change(room, BOB, { users: [], state_default: 50 }), 'users is not an object', `v${v} users as an array`);
  }
});

t.test('current values above the sender cannot be changed', async (t) => {
  for (const v of ALL_VERSIONS) {
    const room = standardRoom(v, 'public', { ban: 80, events: { 'm.room.tombstone': 90 } });
    room.setMember(BOB, 'join');
    const users = room.rules.privilegedCreators ? { [BOB]: 60 } : { [ALICE]: 100, [BOB]: 60 };
    room.set('m.room.power_levels', '', ALICE, { users, ban: 80, events: { 'm.room.tombstone': 90 } });
    refuses(t, change(room, BOB, { users, ban: 10, events: { 'm.room.tombstone': 90 } }), 'current ban is above', `v${v} lower ban from above`);
    refuses(t, change(room, BOB, { users, ban: 80 }), 'current events[m.room.tombstone] is above', `v${v} remove a high events entry`);
    allows(t, change(room, BOB, { users, ban: 80, events: { 'm.room.tombstone': 90, 'm.room.topic': 10 } }), `v${v} add a low events entry`);
  }
});

t.test('notifications are checked from v6', async (t) => {
  for (const v of ALL_VERSIONS) {
    const room = standardRoom(v);
    room.setMember(BOB, 'join');
    const users = room.rules.privilegedCreators ? { [BOB]: 50 } : { [ALICE]: 100, [BOB]: 50 };
    room.set('m.room.power_levels', '', ALICE, { users, notifications: { room: 80 } });
    const raise = change(room, BOB, { users, notifications: { room: 100 } });
    const lower = change(room, BOB, { users, notifications: { room: 0 } });
    if (room.rules.limitNotificationsPowerLevels) {
      refuses(t, raise, 'notifications[room] is above', `v${v} raise`);
      refuses(t, lower, 'current notifications[room] is above', `v${v} lower from above`);
    } else {
      allows(t, raise, `v${v} notifications are not checked`);
      allows(t, lower, `v${v} notifications are not checked`);
    }
  }
});

t.test('v10: integers only; v1-9 accept string integers', async (t) => {
  for (const v of ALL_VERSIONS) {
    const room = standardRoom(v);
    const users = room.rules.privilegedCreators ? {} : { [ALICE]: 100 };
    const stringy = [
      { users, ban: '50' },
      { users, events: { 'm.room.name': '50' } },
      { users, notifications: { room: '50' } },
      { users: { ...users, [BOB]: '10' } },
    ];
    for (const content of stringy) {
      const verdict = change(room, ALICE, content);
      if (room.rules.integerPowerLevels) refuses(t, verdict, 'is not an integer', `v${v} ${JSON.stringify(content)}`);
      else allows(t, verdict, `v${v} ${JSON.stringify(content)}`);
    }
    refuses(t, change(room, ALICE, { users, kick: 'lots' }), 'kick is not an integer', `v${v} garbage`);
    refuses(t, change(room, ALICE, { users, events: 5 }), 'events is not an object', `v${v} events not an object`);
  }
});

t.test('v12: creators may not appear in users, and hold any level', async (t) => {
  const room = standardRoom('12', 'public', {}, { additional_creators: [BOB] });
  room.setMember(BOB, 'join');
  room.setMember(CAROL, 'join');
  refuses(t, change(room, ALICE, { users: { [ALICE]: 100 } }), `room creator ${ALICE} may not be listed`, 'the sender creator');
  refuses(t, change(room, ALICE, { users: { [BOB]: 100 } }), `room creator ${BOB} may not be listed`, 'an additional creator');
  allows(t, change(room, BOB, { users: { [CAROL]: 1_000_000 }, ban: 9_000_000 }), 'a creator sets any level');
  room.set('m.room.power_levels', '', ALICE, { users: { [CAROL]: 1_000_000 } });
  allows(t, change(room, ALICE, { users: {} }), 'a creator demotes anyone');
  refuses(t, change(room, CAROL, { users: { [CAROL]: 1_000_000, [ALICE]: 0 } }), `room creator ${ALICE}`, 'no one can demote a creator');
  // v11: the creator is an ordinary entry in users.
  const v11 = standardRoom('11');
  allows(t, change(v11, ALICE, { users: { [ALICE]: 100 } }), 'v11 lists the creator');
});
