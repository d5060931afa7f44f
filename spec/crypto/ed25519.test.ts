import t from 'tap';
import {
  SigningKeyError,
  decodeBase64,
  encodeBase64,
  formatSigningKeyFile,
  parseSigningKeyFile,
  signBytes,
  signingKeyFromSeed,
  verifyBytes,
} from '../../src/crypto/index.js';
import { KEY_ID, SIGNING_KEY_PUBLIC_BASE64, SIGNING_KEY_SEED_BASE64 } from './fixtures/appendices.js';

const seed = decodeBase64(SIGNING_KEY_SEED_BASE64);

t.test('the appendix signing key: seed -> key id and public key', async (t) => {
  t.equal(seed.length, 32);
  const key = signingKeyFromSeed('1', seed);
  t.equal(key.keyId, KEY_ID);
  t.equal(encodeBase64(key.publicKey), SIGNING_KEY_PUBLIC_BASE64);
  t.equal(encodeBase64(key.seed), encodeBase64(seed));
  t.ok(Object.isFrozen(key));
});

t.test('the key keeps its own copy of the seed', async (t) => {
  const mine = Uint8Array.from(seed);
  const key = signingKeyFromSeed('1', mine);
  mine.fill(0);
  t.equal(encodeBase64(key.publicKey), SIGNING_KEY_PUBLIC_BASE64);
  t.equal(encodeBase64(signBytes(key, 'x')), encodeBase64(signBytes(signingKeyFromSeed('1', seed), 'x')));
});

t.test('sign then verify; any change fails verification', async (t) => {
  const key = signingKeyFromSeed('a_B9', seed);
  const signature = signBytes(key, 'hello');
  t.equal(signature.length, 64);
  t.ok(verifyBytes(key.publicKey, 'hello', signature));
  t.ok(verifyBytes(key.publicKey, Buffer.from('hello'), signature), 'bytes and string sign the same');
  t.notOk(verifyBytes(key.publicKey, 'hellO', signature));
  const flipped = Uint8Array.from(signature);
  flipped[10] = (flipped[10] as number) ^ 1;
  t.notOk(verifyBytes(key.publicKey, 'hello', flipped));
  const other = signingKeyFromSeed('2', new Uint8Array(32).fill(7));
  t.notOk(verifyBytes(other.publicKey, 'hello', signature));
});

t.test('a SigningKey built by hand (no cached KeyObject) still signs', async (t) => {
  const real = signingKeyFromSeed('1', seed);
  const literal = { keyId: real.keyId, seed: real.seed, publicKey: real.publicKey };
  t.equal(encodeBase64(signBytes(literal, 'm')), encodeBase64(signBytes(real, 'm')));
});

t.test('verifyBytes returns false on junk instead of throwing', async (t) => {
  const key = signingKeyFromSeed('1', seed);
  const signature = signBytes(key, 'm');
  t.notOk(verifyBytes(new Uint8Array(31), 'm', signature), 'short public key');
  t.notOk(verifyBytes(new Uint8Array(32), 'm', signature), 'all-zero public key');
  t.notOk(verifyBytes(key.publicKey, 'm', signature.subarray(0, 63)), 'short signature');
  t.notOk(verifyBytes(key.publicKey, 'm', new Uint8Array(64)), 'zero signature');
  t.notOk(verifyBytes(null as unknown as Uint8Array, 'm', signature), 'null key');
  t.notOk(verifyBytes(key.publicKey, 42 as unknown as string, signature), 'number message');
});

t.test('signingKeyFromSeed validates version and seed with SigningKeyError', async (t) => {
  t.throws(() => signingKeyFromSeed('', seed), SigningKeyError);
  t.throws(() => signingKeyFromSeed('a:b', seed), SigningKeyError);
  t.throws(() => signingKeyFromSeed('a b', seed), SigningKeyError);
  t.throws(() => signingKeyFromSeed('1', seed.subarray(0, 31)), SigningKeyError);
  t.throws(() => signingKeyFromSeed('1', new Uint8Array(64)), SigningKeyError);
});

t.test('signing key file: Synapse format round trip', async (t) => {
  const text = `ed25519 1 ${SIGNING_KEY_SEED_BASE64}\n\ned25519 a_RXGa ${encodeBase64(new Uint8Array(32).fill(1))}\r\n`;
  const keys = parseSigningKeyFile(text);
  t.same(keys.map((k) => k.keyId), ['ed25519:1', 'ed25519:a_RXGa']);
  t.equal(encodeBase64((keys[0] as (typeof keys)[0]).publicKey), SIGNING_KEY_PUBLIC_BASE64);
  const written = formatSigningKeyFile(keys);
  t.equal(written.split('\n')[1], `ed25519 a_RXGa ${encodeBase64(new Uint8Array(32).fill(1))}`);
  t.same(
    parseSigningKeyFile(written).map((k) => encodeBase64(k.publicKey)),
    keys.map((k) => encodeBase64(k.publicKey)),
  );
  t.same(parseSigningKeyFile(''), []);
});

t.test('malformed signing key files throw SigningKeyError naming the line', async (t) => {
  const good = `ed25519 1 ${SIGNING_KEY_SEED_BASE64}`;
  const bad = [
    'ed25519 1',
    `ed25519 1 ${SIGNING_KEY_SEED_BASE64} extra`,
    `curve25519 1 ${SIGNING_KEY_SEED_BASE64}`,
    'ed25519 1 not*base64',
    'ed25519 1 Zm9v',
    `ed25519 bad:version ${SIGNING_KEY_SEED_BASE64}`,
  ];
  for (const line of bad) {
    t.throws(() => parseSigningKeyFile(`${good}\n${line}\n`), { name: 'SigningKeyError', message: /line 2/ }, line);
  }
});
