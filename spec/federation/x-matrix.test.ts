import t from 'tap';
import { encodeBase64, signJson } from '../../src/crypto/index.js';
import { formatXMatrix, parseXMatrix, requestSigningObject, signRequest, verifyRequestSignature } from '../../src/federation/index.js';
import { testKey } from './helpers.js';

const key = testKey('key1', 7);
const request = {
  method: 'PUT',
  uri: '/_matrix/federation/v1/send/123?x=a%20b',
  origin: 'origin.example',
  destination: 'destination.example:8448',
  content: { pdus: [], edus: [{ edu_type: 'm.typing', content: {} }] },
};

t.test('a signed header round-trips: parse gives the params, and the signature verifies', async (t) => {
  const header = signRequest(request, key);
  t.match(header, /^X-Matrix origin="origin\.example",destination="destination\.example:8448",key="ed25519:key1",sig="[A-Za-z0-9+/]+"$/);
  const auth = parseXMatrix(header);
  t.same({ origin: auth.origin, destination: auth.destination, key: auth.key }, {
    origin: 'origin.example', destination: 'destination.example:8448', key: 'ed25519:key1',
  });
  t.ok(verifyRequestSignature(request, auth.key, auth.sig, key.publicKey), 'verifies with the public key');
  // The signature is the spec's JSON signature over the request object.
  const signed = signJson(requestSigningObject(request), 'origin.example', key);
  t.equal(auth.sig, signed.signatures['origin.example']!['ed25519:key1']);
});

t.test('any change to what was signed breaks the signature', async (t) => {
  const { sig } = parseXMatrix(signRequest(request, key));
  t.notOk(verifyRequestSignature({ ...request, method: 'POST' }, key.keyId, sig, key.publicKey), 'method');
  t.notOk(verifyRequestSignature({ ...request, uri: '/_matrix/federation/v1/send/124?x=a%20b' }, key.keyId, sig, key.publicKey), 'uri');
  t.notOk(verifyRequestSignature({ ...request, destination: 'evil.example' }, key.keyId, sig, key.publicKey), 'destination');
  t.notOk(verifyRequestSignature({ ...request, content: { pdus: [] } }, key.keyId, sig, key.publicKey), 'content');
  const { content: _content, ...withoutBody } = request;
  t.notOk(verifyRequestSignature(withoutBody, key.keyId, sig, key.publicKey), 'content left out');
  t.notOk(verifyRequestSignature(request, key.keyId, sig, testKey('key1', 8).publicKey), 'another key');
  t.notOk(verifyRequestSignature(request, 'curve25519:key1', sig, key.publicKey), 'another algorithm');
  t.notOk(verifyRequestSignature(request, key.keyId, 'not base64!', key.publicKey), 'garbage signature');
});

t.test('a request without a body signs without content', async (t) => {
  const get = { method: 'GET', uri: '/_matrix/federation/v1/version', origin: 'a.example', destination: 'b.example' };
  t.same(Object.keys(requestSigningObject(get)).sort(), ['destination', 'method', 'origin', 'uri']);
  const { sig } = parseXMatrix(signRequest(get, key));
  t.ok(verifyRequestSignature(get, key.keyId, sig, key.publicKey));
});

t.test('the parser follows RFC 9110 auth-params as the spec describes them', async (t) => {
  const sig = encodeBase64(new Uint8Array(64).fill(1));
  const expected = { origin: 'origin.example:8448', destination: 'dest.example', key: 'ed25519:a_1', sig };
  t.same(parseXMatrix(`X-Matrix origin="origin.example:8448",destination="dest.example",key="ed25519:a_1",sig="${sig}"`), expected);
  t.same(parseXMatrix(`x-matrix   ORIGIN="origin.example:8448" ,\tDestination=dest.example , Key="ed25519:a_1",SIG="${sig}"`), expected,
    'case-insensitive scheme and names, spaces and tabs around commas, a token value');
  t.same(parseXMatrix(`X-Matrix sig="${sig}",key="ed25519:a_1",destination="dest.example",origin=origin.example:8448`), expected,
    'any order; an unquoted value with a colon (older servers)');
  t.same(parseXMatrix(`X-Matrix origin="origin.example:8448",destination="dest.example",key="ed25519:a_1",sig="${sig}",extra="ignored"`), expected,
    'unknown parameters are ignored');
  t.same(parseXMatrix(`X-Matrix origin="orig\\in.example:8448",destination="dest.example",key="ed25519:a_1",sig="${sig}"`).origin,
    'origin.example:8448', 'backslash escapes are undone');
  t.same(parseXMatrix(`X-Matrix origin=old.example,key="ed25519:a_1",sig="${sig}"`), { origin: 'old.example', key: 'ed25519:a_1', sig },
    'destination may be missing (servers before v1.3)');
});

t.test('malformed headers are refused with a reason', async (t) => {
  const bad: Array<[string, RegExp]> = [
    ['Bearer abc', /X-Matrix scheme/],
    ['X-Matrix', /X-Matrix scheme/],
    ['X-Matrixorigin="a"', /X-Matrix scheme/],
    ['X-Matrix origin="a",key="ed25519:k"', /no sig/],
    ['X-Matrix key="ed25519:k",sig="s"', /no origin/],
    ['X-Matrix origin="a",sig="s"', /no key/],
    ['X-Matrix origin="a,key="ed25519:k",sig="s"', /closing quote|expected ','/],
    ['X-Matrix origin="a",origin="b",key="ed25519:k",sig="s"', /twice/],
    ['X-Matrix origin="a";key="ed25519:k",sig="s"', /expected ','/],
    ['X-Matrix origin=,key="ed25519:k",sig="s"', /empty value/],
    ['X-Matrix origin="a",,key="k",sig="s"', /parameter name/],
    [`X-Matrix origin="${'a'.repeat(9000)}"`, /too long/],
  ];
  for (const [header, reason] of bad) t.throws(() => parseXMatrix(header), { name: 'XMatrixParseError', message: reason }, header.slice(0, 60));
});

t.test('formatXMatrix escapes quotes so a value cannot break out', async (t) => {
  const header = formatXMatrix({ origin: 'a"b', key: 'ed25519:k', sig: 's' });
  t.same(parseXMatrix(header), { origin: 'a"b', key: 'ed25519:k', sig: 's' });
});
