import t from 'tap';
import { decodeBase64, encodeCanonicalJson, signingKeyFromSeed } from '../../src/crypto/index.js';
import {
  checkContentHash,
  redactEvent,
  signEvent,
  verifyEventSignature,
  type PduJson,
} from '../../src/events/index.js';
import { KEY_ID, SERVER_NAME, SIGNING_KEY_SEED_BASE64 } from '../crypto/fixtures/appendices.js';
import { MESSAGE_EVENT, MESSAGE_EVENT_SIGNED, MINIMAL_EVENT, MINIMAL_EVENT_SIGNED } from './fixtures/appendices.js';
import { rules, parse } from '../helpers/events.js';

const key = signingKeyFromSeed('1', decodeBase64(SIGNING_KEY_SEED_BASE64));
const VECTOR_VERSIONS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'];

const VECTORS = [
  {
    name: 'minimal event',
    input: MINIMAL_EVENT,
    signed: MINIMAL_EVENT_SIGNED,
    // By hand from the v1-10 redaction rules: everything but unsigned (content is already empty).
    redacted: {
      auth_events: [],
      content: {},
      depth: 3,
      hashes: { sha256: '5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos' },
      origin: 'domain',
      origin_server_ts: 1000000,
      prev_events: [],
      room_id: '!x:domain',
      sender: '@a:domain',
      signatures: {
        domain: {
          'ed25519:1': 'KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg',
        },
      },
      type: 'X',
    },
  },
  {
    name: 'event with redactable content',
    input: MESSAGE_EVENT,
    signed: MESSAGE_EVENT_SIGNED,
    // By hand: m.room.message keeps no content keys; unsigned goes.
    redacted: {
      content: {},
      event_id: '$0:domain',
      hashes: { sha256: 'onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g' },
      origin: 'domain',
      origin_server_ts: 1000000,
      type: 'm.room.message',
      room_id: '!r:domain',
      sender: '@u:domain',
      signatures: {
        domain: {
          'ed25519:1': 'Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC78FunoD7KNWzqFn241eYHYMGCA5McEiVPdhzBA',
        },
      },
    },
  },
];

t.test('the appendix event signing vectors (room versions 1-10)', async (t) => {
  for (const vector of VECTORS) {
    for (const v of VECTOR_VERSIONS) {
      const signed = signEvent(parse(vector.input), SERVER_NAME, key, rules(v));
      t.equal(encodeCanonicalJson(signed), encodeCanonicalJson(parse(vector.signed)), `${vector.name} v${v}: signed`);
      t.equal(
        encodeCanonicalJson(redactEvent(signed, rules(v))),
        encodeCanonicalJson(vector.redacted),
        `${vector.name} v${v}: redacted form`,
      );
      t.ok(verifyEventSignature(parse(vector.signed), SERVER_NAME, KEY_ID, key.publicKey, rules(v)), 'spec output verifies');
      t.ok(verifyEventSignature(vector.redacted, SERVER_NAME, KEY_ID, key.publicKey, rules(v)), 'redacted form verifies');
    }
  }
});

t.test('the vectors assume pre-v11 redaction: under v11 the top-level origin is not signed', async (t) => {
  // The appendix does not name a room version; v11 drops `origin` from the redacted form, so the spec's
  // signatures (which cover it) do not verify under v11 rules.
  for (const vector of VECTORS) {
    t.notOk(verifyEventSignature(parse(vector.signed), SERVER_NAME, KEY_ID, key.publicKey, rules('11')));
  }
});

const member = {
  type: 'm.room.member',
  state_key: '@u:domain',
  room_id: '!r:domain',
  sender: '@u:domain',
  origin_server_ts: 1700000000000,
  depth: 7,
  prev_events: ['$p'],
  auth_events: ['$a'],
  content: { membership: 'join', displayname: 'U', avatar_url: 'mxc://domain/x' },
  unsigned: { age: 3 },
};

t.test('sign then verify, in every room version', async (t) => {
  for (const v of ['1', '3', '4', '9', '10', '11', '12']) {
    const signed = signEvent(member, SERVER_NAME, key, rules(v));
    t.ok(verifyEventSignature(signed, SERVER_NAME, KEY_ID, key.publicKey, rules(v)), `v${v}`);
    t.ok(checkContentHash(signed), `v${v} content hash`);
    t.strictSame(signed.unsigned, member.unsigned, 'unsigned carried over');
  }
});

t.test('signing keeps other signatures and adds ours', async (t) => {
  const withOther = { ...member, signatures: { 'other.org': { 'ed25519:x': 'theirs' } } };
  const signed = signEvent(withOther, SERVER_NAME, key, rules('11'));
  t.strictSame(Object.keys(signed.signatures as object).sort(), ['domain', 'other.org']);
  t.ok(verifyEventSignature(signed, SERVER_NAME, KEY_ID, key.publicKey, rules('11')));
});

t.test('changing redactable content breaks the content hash but not the signature', async (t) => {
  const r = rules('11');
  const signed = signEvent(member, SERVER_NAME, key, r);
  const tampered = { ...signed, content: { ...(signed.content as object), displayname: 'Mallory' } };
  t.ok(verifyEventSignature(tampered, SERVER_NAME, KEY_ID, key.publicKey, r), 'signature covers the redacted form only');
  t.notOk(checkContentHash(tampered), 'the content hash catches it');
  const redacted = redactEvent(signed, r);
  t.ok(verifyEventSignature(redacted, SERVER_NAME, KEY_ID, key.publicKey, r), 'a redacted copy still verifies');
});

t.test('changing a protected key breaks the signature', async (t) => {
  const r = rules('11');
  const signed = signEvent(member, SERVER_NAME, key, r);
  const tampered: PduJson[] = [
    { ...signed, content: { ...(signed.content as object), membership: 'leave' } },
    { ...signed, sender: '@mallory:domain' },
    { ...signed, depth: 8 },
    { ...signed, prev_events: [] },
    { ...signed, hashes: { sha256: 'AAAA' } },
  ];
  for (const event of tampered) t.notOk(verifyEventSignature(event, SERVER_NAME, KEY_ID, key.publicKey, r));
  t.ok(verifyEventSignature({ ...signed, unsigned: { age: 999 } }, SERVER_NAME, KEY_ID, key.publicKey, r), 'unsigned is free');
  t.ok(verifyEventSignature({ ...signed, origin: 'x' }, SERVER_NAME, KEY_ID, key.publicKey, r), 'v11 does not protect origin');
  t.notOk(
    verifyEventSignature({ ...signEvent(member, SERVER_NAME, key, rules('10')), origin: 'x' }, SERVER_NAME, KEY_ID, key.publicKey, rules('10')),
    'v10 does',
  );
});

t.test('verifyEventSignature is false, never throws, on junk', async (t) => {
  const r = rules('11');
  t.notOk(verifyEventSignature(null as unknown as PduJson, SERVER_NAME, KEY_ID, key.publicKey, r));
  t.notOk(verifyEventSignature({ type: 5, signatures: 'x' }, SERVER_NAME, KEY_ID, key.publicKey, r));
  t.notOk(verifyEventSignature({ ...member, depth: 0.5 }, SERVER_NAME, KEY_ID, key.publicKey, r));
  t.notOk(verifyEventSignature(signEvent(member, SERVER_NAME, key, r), 'other.org', KEY_ID, key.publicKey, r));
});
