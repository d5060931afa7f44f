import t from 'tap';
import {
  decodeBase64,
  encodeCanonicalJson,
  signJson,
  signableForm,
  signingKeyFromSeed,
  verifyJsonSignature,
} from '../../src/crypto/index.js';
import { JSON_SIGNING_EXAMPLES, KEY_ID, SERVER_NAME, SIGNING_KEY_SEED_BASE64 } from './fixtures/appendices.js';

const key = signingKeyFromSeed('1', decodeBase64(SIGNING_KEY_SEED_BASE64));

t.test('the JSON signing vectors in the appendices', async (t) => {
  for (const { input, signed } of JSON_SIGNING_EXAMPLES) {
    const ours = signJson(JSON.parse(input) as object, SERVER_NAME, key);
    t.equal(encodeCanonicalJson(ours), encodeCanonicalJson(JSON.parse(signed)), `signs ${input}`);
    t.ok(verifyJsonSignature(JSON.parse(signed) as object, SERVER_NAME, KEY_ID, key.publicKey), 'spec output verifies');
  }
});

t.test('signJson returns a new object, keeps unsigned and other signatures', async (t) => {
  const input = {
    a: 1,
    unsigned: { age_ts: 5 },
    signatures: { 'other.org': { 'ed25519:x': 'sig' }, domain: { 'ed25519:0': 'old' } },
  };
  const before = structuredClone(input);
  const signed = signJson(input, SERVER_NAME, key);
  t.same(input, before, 'input untouched');
  t.same(signed.unsigned, { age_ts: 5 });
  t.equal(signed.signatures['other.org']['ed25519:x'], 'sig');
  t.equal((signed.signatures.domain as Record<string, string>)['ed25519:0'], 'old');
  t.ok(verifyJsonSignature(signed, SERVER_NAME, KEY_ID, key.publicKey));
  // Neither unsigned nor the other signatures are covered: the signature is the same as for { a: 1 }.
  t.equal(
    (signed.signatures.domain as Record<string, string>)[KEY_ID],
    signJson({ a: 1 }, SERVER_NAME, key).signatures.domain?.[KEY_ID],
  );
});

t.test('signJson copies every key as JSON gave it, "__proto__" included, and replaces an old signature of the same key', async (t) => {
  // JSON.parse makes "__proto__" an own key; a copy that assigned it would set the prototype instead.
  const input = JSON.parse('{"__proto__": {"x": 1}, "a": 1, "signatures": {"__proto__": {"ed25519:9": "sig"}, "domain": {"ed25519:1": "stale"}}}') as object;
  const signed = signJson(input, SERVER_NAME, key);
  t.ok(Object.hasOwn(signed, '__proto__'), 'the key "__proto__" is copied');
  t.equal(Object.getPrototypeOf(signed), Object.prototype, 'not made the prototype');
  t.ok(Object.hasOwn(signed.signatures, '__proto__'), 'so is an entity named so');
  t.same(Object.keys(signed.signatures.domain ?? {}), [KEY_ID], 'the old signature of the key is replaced');
  t.ok(verifyJsonSignature(signed, SERVER_NAME, KEY_ID, key.publicKey), 'and the copy verifies');
  t.equal(encodeCanonicalJson(signableForm(signed)), encodeCanonicalJson(signableForm(input)), 'nothing else changed');
});

t.test('unsigned may change after signing; anything else may not', async (t) => {
  const signed = signJson({ a: 1, unsigned: { age: 1 } }, SERVER_NAME, key);
  t.ok(verifyJsonSignature({ ...signed, unsigned: { age: 99 } }, SERVER_NAME, KEY_ID, key.publicKey));
  t.notOk(verifyJsonSignature({ ...signed, a: 2 }, SERVER_NAME, KEY_ID, key.publicKey));
  t.notOk(verifyJsonSignature({ ...signed, b: 1 }, SERVER_NAME, KEY_ID, key.publicKey));
});

t.test('verifyJsonSignature is false, never throws, on missing or junk signatures', async (t) => {
  const signed = signJson({ a: 1 }, SERVER_NAME, key);
  const sig = signed.signatures.domain?.[KEY_ID];
  const cases: Array<[string, object, string, string]> = [
    ['no signatures', { a: 1 }, SERVER_NAME, KEY_ID],
    ['other entity', signed, 'elsewhere', KEY_ID],
    ['other key id', signed, SERVER_NAME, 'ed25519:2'],
    ['unknown algorithm', { a: 1, signatures: { domain: { 'curve25519:1': sig } } }, SERVER_NAME, 'curve25519:1'],
    ['signatures not an object', { a: 1, signatures: 'x' }, SERVER_NAME, KEY_ID],
    ['entity not an object', { a: 1, signatures: { domain: [sig] } }, SERVER_NAME, KEY_ID],
    ['signature not a string', { a: 1, signatures: { domain: { [KEY_ID]: 5 } } }, SERVER_NAME, KEY_ID],
    ['signature not base64', { a: 1, signatures: { domain: { [KEY_ID]: '!!' } } }, SERVER_NAME, KEY_ID],
    ['float in body', { a: 1.5, signatures: signed.signatures }, SERVER_NAME, KEY_ID],
    ['array, not object', [] as object, SERVER_NAME, KEY_ID],
  ];
  for (const [what, json, name, keyId] of cases) {
    t.equal(verifyJsonSignature(json, name, keyId, key.publicKey), false, what);
  }
  t.notOk(verifyJsonSignature(signed, SERVER_NAME, KEY_ID, new Uint8Array(3)), 'bad public key');
});

t.test('signJson refuses a malformed signatures field', async (t) => {
  t.throws(() => signJson({ signatures: 'x' }, SERVER_NAME, key), { name: 'CanonicalJsonError', path: 'signatures' });
  t.throws(() => signJson({ signatures: { domain: 1 } }, SERVER_NAME, key), { name: 'CanonicalJsonError' });
  t.throws(() => signJson({ a: 0.5 }, SERVER_NAME, key), { name: 'CanonicalJsonError', path: 'a' });
});

t.test('signableForm drops only signatures and unsigned', async (t) => {
  t.same(signableForm({ a: 1, signatures: {}, unsigned: {}, hashes: {} }), { a: 1, hashes: {} });
});
