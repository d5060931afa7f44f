import t from 'tap';
import {
  CanonicalJsonError,
  canonicalJsonBytes,
  compareCodePoints,
  encodeCanonicalJson,
  encodeCanonicalJsonWithout,
} from '../../src/crypto/index.js';
import { CANONICAL_JSON_EXAMPLES } from './fixtures/appendices.js';

t.test('every canonical JSON example in the appendices encodes byte for byte', async (t) => {
  for (const { input, output } of CANONICAL_JSON_EXAMPLES) {
    const bytes = canonicalJsonBytes(JSON.parse(input));
    t.ok(bytes.equals(Buffer.from(output, 'utf8')), `${JSON.stringify(input)} -> ${output}`);
  }
});

t.test('scalars and nesting', async (t) => {
  t.equal(encodeCanonicalJson(null), 'null');
  t.equal(encodeCanonicalJson(true), 'true');
  t.equal(encodeCanonicalJson(false), 'false');
  t.equal(encodeCanonicalJson(-0), '0');
  t.equal(encodeCanonicalJson(2 ** 53 - 1), '9007199254740991');
  t.equal(encodeCanonicalJson(-(2 ** 53) + 1), '-9007199254740991');
  t.equal(encodeCanonicalJson([]), '[]');
  t.equal(encodeCanonicalJson([1, [2, {}], 'x']), '[1,[2,{}],"x"]');
  t.equal(encodeCanonicalJson({ b: { d: 1, c: [] }, a: [] }), '{"a":[],"b":{"c":[],"d":1}}');
  t.equal(encodeCanonicalJson(Object.assign(Object.create(null) as object, { z: 1, y: 2 })), '{"y":2,"z":1}');
});

t.test('keys sort by code point, not UTF-16 code unit', async (t) => {
  // U+FFFD is one unit (0xFFFD); U+1F600 is the pair D83D DE00. By code unit the emoji sorts first,
  // by code point it sorts last.
  t.equal(encodeCanonicalJson({ '\u{1F600}': 1, '\uFFFD': 2 }), '{"\uFFFD":2,"\u{1F600}":1}');
  t.equal(encodeCanonicalJson({ '\uFFFD': 2, '\u{1F600}': 1 }), '{"\uFFFD":2,"\u{1F600}":1}');
  t.equal(encodeCanonicalJson({ '\u{10000}': 1, '\uE000': 2, a: 3 }), '{"a":3,"\uE000":2,"\u{10000}":1}');
  t.equal(encodeCanonicalJson({ 'x\u{1F601}': 1, 'x\u{1F600}': 2, x: 3 }), '{"x":3,"x\u{1F600}":2,"x\u{1F601}":1}');
  t.ok(compareCodePoints('\uFFFD', '\u{1F600}') < 0);
  t.ok(compareCodePoints('\u{1F600}', '\uFFFD') > 0);
  t.equal(compareCodePoints('ab', 'ab'), 0);
  t.ok(compareCodePoints('a', 'ab') < 0);
});

t.test('integer-like keys sort as strings, not in JS object order', async (t) => {
  // JS puts integer-like keys first, in numeric order: {"9", "10", "a"}.
  t.equal(encodeCanonicalJson({ a: 0, 9: 'nine', 10: 'ten', '-1': 'm' }), '{"-1":"m","10":"ten","9":"nine","a":0}');
});

t.test('strings escape only what the grammar escapes', async (t) => {
  const named: Record<number, string> = { 8: '\\b', 9: '\\t', 10: '\\n', 12: '\\f', 13: '\\r' };
  for (let c = 0; c < 0x20; c++) {
    const expected = named[c] ?? `\\u00${c.toString(16).padStart(2, '0')}`;
    t.equal(encodeCanonicalJson(String.fromCharCode(c)), `"${expected}"`, `U+${c.toString(16).padStart(4, '0')}`);
  }
  t.equal(encodeCanonicalJson('"'), '"\\""');
  t.equal(encodeCanonicalJson('\\'), '"\\\\"');
  t.equal(encodeCanonicalJson('/'), '"/"', 'solidus is not escaped');
  t.equal(encodeCanonicalJson('\u007f\u0080\u2028\u2029\uFEFF'), '"\u007f\u0080\u2028\u2029\uFEFF"');
  t.equal(encodeCanonicalJson('😀 日本'), '"😀 日本"');
  t.equal(encodeCanonicalJson({ 'a"b\n': 'x' }), '{"a\\"b\\n":"x"}', 'keys are escaped too');
  t.ok(canonicalJsonBytes('é').equals(Buffer.from([0x22, 0xc3, 0xa9, 0x22])), 'non-ASCII is raw UTF-8');
});

class Custom {
  a = 1;
}

const UNENCODABLE: ReadonlyArray<readonly [value: unknown, path: string, what: string]> = [
  [{ content: { body: 1.5 } }, 'content.body', 'float'],
  [{ n: 2 ** 53 }, 'n', '2^53'],
  [{ n: -(2 ** 53) }, 'n', '-(2^53)'],
  [{ n: 1e300 }, 'n', 'huge'],
  [{ n: NaN }, 'n', 'NaN'],
  [{ n: Infinity }, 'n', 'Infinity'],
  [{ n: -Infinity }, 'n', '-Infinity'],
  [{ s: 'a\ud800b' }, 's', 'lone high surrogate in a value'],
  [{ s: '\udc00' }, 's', 'lone low surrogate in a value'],
  [{ s: '\ude00\ud83d' }, 's', 'reversed pair'],
  [{ a: { 'x\ud800': 1 } }, 'a.x\\ud800', 'lone surrogate in a key'],
  [{ u: undefined }, 'u', 'undefined'],
  [{ f: () => 1 }, 'f', 'function'],
  [{ b: 1n }, 'b', 'bigint'],
  [{ s: Symbol('s') }, 's', 'symbol'],
  [{ d: new Date(0) }, 'd', 'Date'],
  [{ m: new Map() }, 'm', 'Map'],
  [{ bytes: new Uint8Array(2) }, 'bytes', 'typed array'],
  [{ c: new Custom() }, 'c', 'class instance'],
  [{ list: [1, [2, { deep: 0.1 }]] }, 'list[1][1].deep', 'inside arrays'],
  // eslint-disable-next-line no-sparse-arrays
  [{ list: [1, , 3] }, 'list[1]', 'array hole'],
  [undefined, '', 'undefined at the root'],
  [0.5, '', 'float at the root'],
];

t.test('values with no canonical form are rejected with the path of the field', async (t) => {
  for (const [value, path, what] of UNENCODABLE) {
    t.throws(
      () => encodeCanonicalJson(value),
      { name: 'CanonicalJsonError', path },
      `${what} at ${JSON.stringify(path)}`,
    );
  }
});

t.test('the message names the field', async (t) => {
  t.throws(() => encodeCanonicalJson({ content: { body: 1.5 } }), { message: 'content.body: number 1.5 is not an integer' });
});

t.test('cycles and absurd nesting fail with a named error, not a stack overflow', async (t) => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  t.throws(() => encodeCanonicalJson(cyclic), CanonicalJsonError);
  let deep: unknown = 1;
  for (let i = 0; i < 5000; i++) deep = [deep];
  t.throws(() => encodeCanonicalJson(deep), CanonicalJsonError);
});

t.test('encodeCanonicalJsonWithout leaves out top-level keys only', async (t) => {
  const value = { signatures: { x: 1 }, unsigned: { age: 1 }, a: { signatures: 2 } };
  t.equal(encodeCanonicalJsonWithout(value, ['signatures', 'unsigned']), '{"a":{"signatures":2}}');
  t.equal(encodeCanonicalJsonWithout(value, []), encodeCanonicalJson(value));
  t.throws(() => encodeCanonicalJsonWithout({ unsigned: 1.5, a: { b: 0.5 } }, ['unsigned']), {
    name: 'CanonicalJsonError',
    path: 'a.b',
  });
  t.throws(() => encodeCanonicalJsonWithout([] as object, []), CanonicalJsonError);
});

t.test('agrees with a reference encoder on a realistic event', async (t) => {
  const event = {
    type: 'm.room.message',
    room_id: '!room:example.org',
    content: { body: 'Grüße 🙂\n"quoted"', 'm.mentions': { user_ids: ['@b:x'] }, z: [null, true, -12] },
    depth: 12,
    prev_events: ['$a', '$b'],
    '\u{1F600}': 'emoji key',
  };
  t.equal(encodeCanonicalJson(event), referenceEncode(event));
});

/** A deliberately naive encoder, straight from the spec's description, for cross-checking. */
function referenceEncode(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(referenceEncode).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => {
      const ca = [...a].map((c) => c.codePointAt(0) as number);
      const cb = [...b].map((c) => c.codePointAt(0) as number);
      for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
        if (ca[i] !== cb[i]) return (ca[i] as number) - (cb[i] as number);
      }
      return ca.length - cb.length;
    });
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${referenceEncode(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

t.test("floats: 'allow' writes floats as JSON does, for checking what another server signed, and only for that call", async (t) => {
  t.equal(encodeCanonicalJsonWithout({ b: 1.1, a: [2.5e-7, 3], signatures: {} }, ['signatures'], { floats: 'allow' }), '{"a":[2.5e-7,3],"b":1.1}');
  t.throws(() => encodeCanonicalJsonWithout({ b: 1.1 }, []), CanonicalJsonError, 'refused without the option');
  t.throws(() => encodeCanonicalJsonWithout({ b: Number.NaN }, [], { floats: 'allow' }), CanonicalJsonError, 'NaN is never JSON');
  t.throws(() => encodeCanonicalJsonWithout({ b: 1.1 }, []), CanonicalJsonError, 'the option does not outlive a failed call');
  t.throws(() => encodeCanonicalJson({ b: 1.1 }), CanonicalJsonError);
});
