import t from 'tap';
import { Base64Error, decodeBase64, encodeBase64, encodeBase64Url } from '../../src/crypto/index.js';
import { UNPADDED_BASE64_EXAMPLES } from './fixtures/appendices.js';

const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

t.test('the unpadded base64 examples in the appendices', async (t) => {
  for (const [input, output] of UNPADDED_BASE64_EXAMPLES) {
    t.equal(encodeBase64(bytes(input)), output, `UNPADDED_BASE64(${JSON.stringify(input)})`);
    t.equal(Buffer.from(decodeBase64(output)).toString('utf8'), input, `decodes ${JSON.stringify(output)}`);
  }
});

t.test('URL-safe uses - and _ and no padding', async (t) => {
  const data = new Uint8Array([0xfb, 0xff, 0xbf, 0xfe]);
  t.equal(encodeBase64(data), '+/+//g');
  t.equal(encodeBase64Url(data), '-_-__g');
  t.equal(hex(decodeBase64('-_-__g')), 'fbffbffe');
  t.equal(hex(decodeBase64('+/+//g')), 'fbffbffe');
});

t.test('accepts padded input too', async (t) => {
  t.equal(hex(decodeBase64('Zg==')), '66');
  t.equal(hex(decodeBase64('Zm8=')), '666f');
  t.equal(hex(decodeBase64('Zm9v')), '666f6f');
  t.equal(hex(decodeBase64('-_-__g==')), 'fbffbffe');
});

t.test('encodes a view into a larger buffer correctly', async (t) => {
  const backing = new Uint8Array([1, 2, 0x66, 0x6f, 0x6f, 3]);
  t.equal(encodeBase64(backing.subarray(2, 5)), 'Zm9v');
  t.equal(encodeBase64Url(backing.subarray(2, 5)), 'Zm9v');
});

t.test('rejects anything that is not base64, with Base64Error', async (t) => {
  const bad = [
    'Zm9v!', // character outside both alphabets
    'Zm 9v', // whitespace
    'Zm9v\n',
    'Z', // 4n+1 characters: no encoding produces that
    'Zm9vY',
    'Zg=', // padding that does not make a multiple of four
    'Zg===',
    'Zm9v=', // padding where none belongs
    '=Zg',
    'Zg==Zg==', // padding in the middle
    'a+b_', // mixed alphabets
    'é',
  ];
  for (const input of bad) t.throws(() => decodeBase64(input), Base64Error, JSON.stringify(input));
});
