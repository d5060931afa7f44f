import t from 'tap';
import { encodeBase64Url } from '../../src/crypto/index.js';
import {
  PduFormatError,
  checkAuth,
  computeReferenceHash,
  eventIdFor,
  parsePdu,
  requiredSignatureServers,
  type RoomVersionRules,
} from '../../src/events/index.js';
import { rules } from '../helpers/events.js';
import { ALL_VERSIONS } from './fixtures/room-builder.js';

const HASH = 'A'.repeat(43);
const V12_ROOM = '!' + 'B'.repeat(43);

function ref(r: RoomVersionRules, n: number): unknown {
  return r.eventIdFormat === 'server-generated' ? [`$ev${n}:a.test`, { sha256: HASH }] : '$' + String(n).padEnd(43, 'C');
}

/** A well-formed message PDU of the version, with `overrides` merged (undefined deletes a key). */
function pdu(r: RoomVersionRules, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    type: 'm.room.message',
    room_id: r.roomIdFormat === 'create-event-hash' ? V12_ROOM : '!room:a.test',
    sender: '@alice:a.test',
    content: { body: 'hi' },
    origin_server_ts: 1_700_000_000_000,
    depth: 5,
    prev_events: [ref(r, 1)],
    auth_events: [ref(r, 2), ref(r, 3)],
    hashes: { sha256: HASH },
    signatures: { 'a.test': { 'ed25519:k': 'sig' } },
  };
  if (r.eventIdFormat === 'server-generated') base.event_id = '$msg:a.test';
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete base[key];
    else base[key] = value;
  }
  return base;
}

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof PduFormatError) return err.reason;
    throw err;
  }
  return '(accepted)';
}

t.test('a valid PDU of each version', async (t) => {
  for (const v of ALL_VERSIONS) {
    const r = rules(v);
    const json = pdu(r, { state_key: '', type: 'm.room.topic', content: { topic: 'x' } });
    const event = parsePdu(json, r);
    t.equal(event.pdu, json, `v${v} pdu is the input itself`);
    t.equal(event.type, 'm.room.topic');
    t.equal(event.stateKey, '');
    t.equal(event.sender, '@alice:a.test');
    t.equal(event.depth, 5);
    t.equal(event.prevEvents.length, 1);
    t.equal(event.authEvents.length, 2);
    t.equal(event.eventId, r.eventIdFormat === 'server-generated' ? '$msg:a.test' : eventIdFor(json, r), `v${v} event id`);
    t.equal(event.prevEvents[0], r.eventIdFormat === 'server-generated' ? '$ev1:a.test' : '$1'.padEnd(44, 'C'));
  }
});

t.test('each failing check names its reason', async (t) => {
  const common: [string, Record<string, unknown>, string][] = [
    ['no type', { type: undefined }, 'type must be a string'],
    ['long type', { type: 'x'.repeat(256) }, 'type is longer than 255 bytes'],
    ['state_key not a string', { state_key: 5 }, 'state_key must be a string'],
    ['long state_key', { state_key: 'é'.repeat(128) }, 'state_key is longer than 255 bytes'],
    ['no sender', { sender: undefined }, 'sender'],
    ['bad sender', { sender: 'alice' }, 'sender'],
    ['content not an object', { content: [] }, 'content must be an object'],
    ['no origin_server_ts', { origin_server_ts: undefined }, 'origin_server_ts must be an integer'],
    ['float depth', { depth: 1.5 }, 'depth must be an integer'],
    ['negative depth', { depth: -1 }, 'depth -1 is outside'],
    ['string depth', { depth: '5' }, 'depth must be an integer'],
    ['no hashes', { hashes: undefined }, 'hashes must be an object with a sha256 string'],
    ['hashes without sha256', { hashes: { md5: 'x' } }, 'hashes must be an object with a sha256 string'],
    ['no signatures', { signatures: undefined }, 'signatures must map'],
    ['signatures of the wrong shape', { signatures: { 'a.test': 'sig' } }, 'signatures must map'],
    ['unsigned not an object', { unsigned: 1 }, 'unsigned must be an object'],
    ['no prev_events', { prev_events: undefined }, 'prev_events must be an array'],
    ['no auth_events', { auth_events: undefined }, 'auth_events must be an array'],
    ['origin not a string', { origin: 1 }, 'origin must be a string'],
    ['no room_id', { room_id: undefined }, 'room_id'],
    ['huge content', { content: { body: 'x'.repeat(65_536) } }, 'bytes, more than 65536'],
  ];
  for (const v of ALL_VERSIONS) {
    const r = rules(v);
    for (const [name, overrides, reason] of common) {
      t.match(reasonOf(() => parsePdu(pdu(r, overrides), r)), reason, `v${v} ${name}`);
    }
    const many = (n: number) => Array.from({ length: n }, (_, i) => ref(r, i + 10));
    t.match(reasonOf(() => parsePdu(pdu(r, { prev_events: many(21) }), r)), 'prev_events has 21 entries, more than 20', `v${v} 21 prev`);
    t.equal(reasonOf(() => parsePdu(pdu(r, { prev_events: many(20) }), r)), '(accepted)', `v${v} 20 prev`);
    t.match(reasonOf(() => parsePdu(pdu(r, { auth_events: many(11) }), r)), 'auth_events has 11 entries, more than 10', `v${v} 11 auth`);
    t.equal(reasonOf(() => parsePdu(pdu(r, { auth_events: many(10) }), r)), '(accepted)', `v${v} 10 auth`);
    t.equal(reasonOf(() => parsePdu(pdu(r, { state_key: 'é'.repeat(127) }), r)), '(accepted)', `v${v} 254-byte state_key`);
    t.match(reasonOf(() => parsePdu(pdu(r), r, { origin: 'b.test' })), 'does not belong to the sending server b.test', `v${v} origin`);
    t.equal(reasonOf(() => parsePdu(pdu(r), r, { origin: 'a.test' })), '(accepted)', `v${v} from its own server`);
    t.match(reasonOf(() => parsePdu('{}', r)), 'a PDU must be a JSON object', `v${v} not an object`);
  }
});

t.test('prev_events and auth_events: pairs in v1-2, ids from v3', async (t) => {
  for (const v of ALL_VERSIONS) {
    const r = rules(v);
    const pairs = r.eventIdFormat === 'server-generated';
    const asId = reasonOf(() => parsePdu(pdu(r, { prev_events: ['$ev1:a.test'] }), r));
    const asPair = reasonOf(() => parsePdu(pdu(r, { prev_events: [['$ev1:a.test', { sha256: HASH }]] }), r));
    if (pairs) {
      t.match(asId, 'prev_events[0] must be an [event_id, hashes] pair', `v${v} bare id`);
      t.equal(asPair, '(accepted)', `v${v} pair`);
      t.equal(reasonOf(() => parsePdu(pdu(r, { auth_events: [['$ev1:a.test', {}]] }), r)), '(accepted)', `v${v} pair with empty hashes (servers send them; nobody checks them)`);
      t.match(reasonOf(() => parsePdu(pdu(r, { auth_events: [['$ev1:a.test', 'x']] }), r)), 'auth_events[0][1] must be an object', `v${v} pair without a hashes object`);
      t.match(reasonOf(() => parsePdu(pdu(r, { auth_events: [['nope', { sha256: HASH }]] }), r)), 'auth_events[0]', `v${v} pair with a bad id`);
      t.match(reasonOf(() => parsePdu(pdu(r, { event_id: undefined }), r)), 'event_id', `v${v} no event_id`);
      t.match(reasonOf(() => parsePdu(pdu(r, { event_id: '$' + HASH }), r)), 'event_id', `v${v} event_id without a server`);
    } else {
      t.match(asPair, 'prev_events[0] must be an event id string', `v${v} pair`);
      t.match(reasonOf(() => parsePdu(pdu(r, { auth_events: ['nope'] }), r)), 'auth_events[0]', `v${v} bad id`);
      // A stray event_id is tolerated; the id is still the reference hash of what was received.
      const stray = pdu(r, { event_id: '$claimed:a.test' });
      t.equal(parsePdu(stray, r).eventId, eventIdFor(stray, r), `v${v} stray event_id ignored`);
    }
  }
});

t.test('depth and timestamps: int64 up to v5, canonical integers from v6', async (t) => {
  for (const v of ALL_VERSIONS) {
    const r = rules(v);
    const big = 2 ** 60;
    const verdict = reasonOf(() => parsePdu(pdu(r, { depth: big }), r));
    if (r.strictCanonicalJson) t.match(verdict, 'is outside [0, 9007199254740991]', `v${v} depth 2^60`);
    else if (r.eventIdFormat === 'server-generated') t.equal(verdict, '(accepted)', `v${v} depth 2^60`);
    // v3-5 may hold such numbers, but src/crypto's canonical encoder (strict in every version) cannot hash them.
    else t.match(verdict, 'cannot hash the event', `v${v} depth 2^60: no event id`);
    const float = reasonOf(() => parsePdu(pdu(r, { content: { power: 1.5 } }), r));
    if (r.strictCanonicalJson) t.match(float, 'not canonical JSON', `v${v} float in content`);
    else if (r.eventIdFormat === 'server-generated') t.equal(float, '(accepted)', `v${v} float in content`);
    t.equal(reasonOf(() => parsePdu(pdu(r, { depth: Number.MAX_SAFE_INTEGER }), r)), '(accepted)', `v${v} depth 2^53-1`);
  }
});

t.test('room ids: with a server name up to v11, a create event hash in v12', async (t) => {
  for (const v of ALL_VERSIONS) {
    const r = rules(v);
    const hashRoom = reasonOf(() => parsePdu(pdu(r, { room_id: V12_ROOM }), r));
    const serverRoom = reasonOf(() => parsePdu(pdu(r, { room_id: '!room:a.test' }), r));
    if (r.roomIdFormat === 'create-event-hash') {
      t.equal(hashRoom, '(accepted)', `v${v} hash room id`);
      t.match(serverRoom, 'is not a create event hash', `v${v} old room id`);
    } else {
      t.match(hashRoom, 'has no server name', `v${v} hash room id`);
      t.equal(serverRoom, '(accepted)', `v${v} old room id`);
    }
  }
});

t.test('v12 create events: no room_id; the room id is the reference hash', async (t) => {
  const r = rules('12');
  const create = pdu(r, { type: 'm.room.create', state_key: '', room_id: undefined, content: { room_version: '12' }, prev_events: [], auth_events: [], depth: 1 });
  const event = parsePdu(create, r);
  const hash = encodeBase64Url(computeReferenceHash(create, r));
  t.equal(event.roomId, '!' + hash);
  t.equal(event.eventId, '$' + hash);
  t.same(checkAuth(event, () => undefined, r), { allowed: true });
  // A create event that does carry a room_id is well-formed but fails auth rule 1.2.
  const claimed = parsePdu({ ...create, room_id: V12_ROOM }, r);
  t.not(claimed.roomId, V12_ROOM, 'the claimed room id is not believed');
  t.match(checkAuth(claimed, () => undefined, r), { allowed: false, reason: 'm.room.create: has a room_id' });
  // Before v12 the create event needs its room_id like any other.
  const v11 = rules('11');
  t.match(reasonOf(() => parsePdu({ ...create, room_id: undefined }, v11)), 'room_id', 'v11 create without room_id');
});

t.test('redacts: top-level up to v10, in content from v11', async (t) => {
  for (const v of ALL_VERSIONS) {
    const r = rules(v);
    const target = r.eventIdFormat === 'server-generated' ? '$t:a.test' : '$' + HASH;
    const topLevel = parsePdu(pdu(r, { type: 'm.room.redaction', redacts: target, content: {} }), r);
    const inContent = parsePdu(pdu(r, { type: 'm.room.redaction', content: { redacts: target } }), r);
    if (r.keepsRedactsInContent) {
      t.equal(inContent.redacts, target, `v${v} content.redacts`);
      t.equal(topLevel.redacts, undefined, `v${v} top-level ignored`);
    } else {
      t.equal(topLevel.redacts, target, `v${v} top-level redacts`);
      t.equal(inContent.redacts, undefined, `v${v} content ignored`);
      t.match(reasonOf(() => parsePdu(pdu(r, { type: 'm.room.redaction', redacts: 5 }), r)), 'redacts', `v${v} bad redacts`);
    }
  }
});

t.test('a third-party invite may come from the invitee\'s server, and then needs only its signature', async (t) => {
  for (const v of ALL_VERSIONS) {
    const r = rules(v);
    const thirdParty = {
      type: 'm.room.member',
      state_key: '@carol:b.test',
      content: { membership: 'invite', third_party_invite: { display_name: 'c...', signed: { mxid: '@carol:b.test', token: 'tok', signatures: {} } } },
    };
    const fromInvitee = pdu(r, { ...thirdParty, signatures: { 'b.test': { 'ed25519:k': 'sig' } } });
    t.equal(reasonOf(() => parsePdu(fromInvitee, r, { origin: 'b.test' })), '(accepted)', `v${v} sent by the invitee's server`);
    const event = parsePdu(fromInvitee, r);
    const fromId = r.eventIdFormat === 'server-generated' ? ['a.test'] : [];
    t.same(requiredSignatureServers(event, r).sort(), ['b.test', ...fromId].sort(), `v${v} the invitee's server signs when the sender's did not`);
    const fromSender = parsePdu(pdu(r, thirdParty), r);
    t.same(requiredSignatureServers(fromSender, r), ['a.test'], `v${v} the sender's server when it signed`);
    const plainInvite = pdu(r, { type: 'm.room.member', state_key: '@carol:b.test', content: { membership: 'invite' } });
    t.match(reasonOf(() => parsePdu(plainInvite, r, { origin: 'b.test' })), 'does not belong to the sending server', `v${v} an ordinary invite must come from its sender's server`);
  }
});
