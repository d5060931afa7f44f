import t from 'tap';
import { getRoomVersion, redactEvent, type PduJson, type RoomVersionRules } from '../../src/events/index.js';

function rules(v: number): RoomVersionRules {
  const found = getRoomVersion(String(v));
  if (found === undefined) throw new Error(`room version ${v} missing`);
  return found;
}

const ALL_VERSIONS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

/** [first version, last version, expected] rows that must cover 1..12 exactly once. */
type ByVersion = ReadonlyArray<readonly [number, number, unknown]>;

function expectedFor(table: ByVersion, v: number): unknown {
  const rows = table.filter(([from, to]) => v >= from && v <= to);
  if (rows.length !== 1) throw new Error(`table covers v${v} ${rows.length} times`);
  return (rows[0] as (typeof rows)[0])[2];
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

const base = {
  room_id: '!room:example.org',
  sender: '@alice:example.org',
  origin_server_ts: 1700000000000,
  depth: 12,
  prev_events: ['$prev'],
  auth_events: ['$auth'],
  hashes: { sha256: 'hash' },
  signatures: { 'example.org': { 'ed25519:1': 'sig' } },
  unsigned: { age_ts: 5 },
};

const signed = { mxid: '@carol:example.org', token: 'tok', signatures: { 'id.example': { 'ed25519:0': 's' } } };

const CONTENT_CASES: ReadonlyArray<{ name: string; type: string; stateKey?: string; content: object; table: ByVersion }> = [
  {
    name: 'm.room.member',
    type: 'm.room.member',
    stateKey: '@alice:example.org',
    content: {
      membership: 'join',
      displayname: 'Alice',
      avatar_url: 'mxc://example.org/a',
      reason: 'hello',
      join_authorised_via_users_server: '@admin:example.org',
      third_party_invite: { display_name: 'carol@example', signed },
    },
    table: [
      [1, 8, { membership: 'join' }],
      [9, 10, { membership: 'join', join_authorised_via_users_server: '@admin:example.org' }],
      [
        11,
        12,
        {
          membership: 'join',
          join_authorised_via_users_server: '@admin:example.org',
          third_party_invite: { signed },
        },
      ],
    ],
  },
  {
    name: 'm.room.member with a third_party_invite that has no signed',
    type: 'm.room.member',
    stateKey: '@alice:example.org',
    content: { membership: 'invite', third_party_invite: { display_name: 'x' } },
    table: [
      [1, 10, { membership: 'invite' }],
      [11, 12, { membership: 'invite', third_party_invite: {} }],
    ],
  },
  {
    name: 'm.room.member with a third_party_invite that is not an object',
    type: 'm.room.member',
    stateKey: '@alice:example.org',
    content: { membership: 'invite', third_party_invite: 'junk' },
    table: [[1, 12, { membership: 'invite' }]],
  },
  {
    name: 'm.room.create',
    type: 'm.room.create',
    stateKey: '',
    content: {
      creator: '@alice:example.org',
      room_version: '9',
      'm.federate': false,
      predecessor: { room_id: '!old:example.org' },
      additional_creators: ['@bob:example.org'],
    },
    table: [
      [1, 10, { creator: '@alice:example.org' }],
      [
        11,
        12,
        {
          creator: '@alice:example.org',
          room_version: '9',
          'm.federate': false,
          predecessor: { room_id: '!old:example.org' },
          additional_creators: ['@bob:example.org'],
        },
      ],
    ],
  },
  {
    name: 'm.room.join_rules',
    type: 'm.room.join_rules',
    stateKey: '',
    content: { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: '!s:x' }], extra: 1 },
    table: [
      [1, 7, { join_rule: 'restricted' }],
      [8, 12, { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: '!s:x' }] }],
    ],
  },
  {
    name: 'm.room.power_levels',
    type: 'm.room.power_levels',
    stateKey: '',
    content: {
      ban: 50,
      events: { 'm.room.name': 50 },
      events_default: 0,
      invite: 0,
      kick: 50,
      notifications: { room: 50 },
      redact: 50,
      state_default: 50,
      users: { '@alice:example.org': 100 },
      users_default: 0,
    },
    table: [
      [
        1,
        10,
        {
          ban: 50,
          events: { 'm.room.name': 50 },
          events_default: 0,
          kick: 50,
          redact: 50,
          state_default: 50,
          users: { '@alice:example.org': 100 },
          users_default: 0,
        },
      ],
      [
        11,
        12,
        {
          ban: 50,
          events: { 'm.room.name': 50 },
          events_default: 0,
          invite: 0,
          kick: 50,
          redact: 50,
          state_default: 50,
          users: { '@alice:example.org': 100 },
          users_default: 0,
        },
      ],
    ],
  },
  {
    name: 'm.room.history_visibility',
    type: 'm.room.history_visibility',
    stateKey: '',
    content: { history_visibility: 'shared', other: true },
    table: [[1, 12, { history_visibility: 'shared' }]],
  },
  {
    name: 'm.room.aliases',
    type: 'm.room.aliases',
    stateKey: 'example.org',
    content: { aliases: ['#a:example.org'], other: 1 },
    table: [
      [1, 5, { aliases: ['#a:example.org'] }],
      [6, 12, {}],
    ],
  },
  {
    name: 'm.room.redaction',
    type: 'm.room.redaction',
    content: { redacts: '$target', reason: 'spam' },
    table: [
      [1, 10, {}],
      [11, 12, { redacts: '$target' }],
    ],
  },
  {
    name: 'm.room.message',
    type: 'm.room.message',
    content: { msgtype: 'm.text', body: 'secret' },
    table: [[1, 12, {}]],
  },
  {
    name: 'm.room.name (state, but nothing protected)',
    type: 'm.room.name',
    stateKey: '',
    content: { name: 'Room' },
    table: [[1, 12, {}]],
  },
];

t.test('content keys kept per event type and room version', async (t) => {
  for (const c of CONTENT_CASES) {
    const event = deepFreeze({
      ...base,
      type: c.type,
      ...(c.stateKey === undefined ? {} : { state_key: c.stateKey }),
      content: c.content,
    });
    for (const v of ALL_VERSIONS) {
      t.strictSame(redactEvent(event, rules(v)).content, expectedFor(c.table, v), `${c.name} v${v}`);
    }
  }
});

t.test('top-level keys kept per room version', async (t) => {
  const event: PduJson = deepFreeze({
    ...base,
    event_id: '$id:example.org',
    type: 'm.room.redaction',
    state_key: 'sk',
    content: { redacts: '$target' },
    redacts: '$target',
    origin: 'example.org',
    membership: 'join',
    prev_state: [],
    age_ts: 5,
    outlier: true,
    'org.example.custom': 1,
  });
  const always = [
    'auth_events',
    'content',
    'depth',
    'event_id',
    'hashes',
    'origin_server_ts',
    'prev_events',
    'room_id',
    'sender',
    'signatures',
    'state_key',
    'type',
  ];
  const table: ByVersion = [
    [1, 10, [...always, 'membership', 'origin', 'prev_state'].sort()],
    [11, 12, always],
  ];
  for (const v of ALL_VERSIONS) {
    const redacted = redactEvent(event, rules(v));
    t.strictSame(Object.keys(redacted).sort(), expectedFor(table, v), `v${v}`);
    t.equal(redacted.room_id, event.room_id, 'kept values are unchanged');
    t.strictSame(redacted.signatures, event.signatures);
  }
});

t.test('redaction returns a new object and never mutates its input', async (t) => {
  const event = { ...base, type: 'm.room.member', state_key: '@a:x', content: { membership: 'join', displayname: 'A' } };
  const before = structuredClone(event);
  const redacted = redactEvent(event, rules(11));
  t.not(redacted, event);
  t.not(redacted.content, event.content);
  t.strictSame(event, before);
});

t.test('odd shapes still redact to something sensible', async (t) => {
  const r = rules(11);
  t.strictSame(redactEvent({ type: 'm.room.member', sender: '@a:x' }, r), { type: 'm.room.member', sender: '@a:x', content: {} });
  t.strictSame(redactEvent({ type: 'm.room.member', content: 'x' }, r), { type: 'm.room.member', content: {} });
  t.strictSame(redactEvent({ type: 'm.room.member', content: ['membership'] }, r), { type: 'm.room.member', content: {} });
  t.strictSame(redactEvent({ type: 7, content: { membership: 'join' } }, r), { type: 7, content: {} });
  const parsed = JSON.parse('{"type":"m.room.create","content":{"__proto__":{"x":1},"creator":"@a:x"}}') as PduJson;
  t.strictSame(Object.keys(redactEvent(parsed, r).content as object), ['__proto__', 'creator']);
});

t.test('redacting twice changes nothing more', async (t) => {
  for (const v of ALL_VERSIONS) {
    for (const c of CONTENT_CASES) {
      const once = redactEvent({ ...base, type: c.type, content: c.content }, rules(v));
      t.strictSame(redactEvent(once, rules(v)), once, `${c.name} v${v}`);
    }
  }
});
