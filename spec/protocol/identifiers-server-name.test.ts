import t from 'tap';
import { MatrixError } from '../../src/protocol/errors.js';
import {
  isIpLiteral,
  isServerName,
  parseServerName,
  splitServerName,
  type ServerName,
} from '../../src/protocol/server-name.js';

const valid: ReadonlyArray<[string, { host: string; port?: number }]> = [
  // The spec's own examples.
  ['matrix.org', { host: 'matrix.org' }],
  ['matrix.org:8888', { host: 'matrix.org', port: 8888 }],
  ['1.2.3.4', { host: '1.2.3.4' }],
  ['1.2.3.4:1234', { host: '1.2.3.4', port: 1234 }],
  ['[1234:5678::abcd]', { host: '[1234:5678::abcd]' }],
  ['[1234:5678::abcd]:5678', { host: '[1234:5678::abcd]', port: 5678 }],
  // Edges of the grammar.
  ['localhost', { host: 'localhost' }],
  ['1.2.3.4:8448', { host: '1.2.3.4', port: 8448 }],
  ['[::1]', { host: '[::1]' }],
  ['[::1]:8448', { host: '[::1]', port: 8448 }],
  ['[::]', { host: '[::]' }],
  ['[1:2:3:4:5:6:7:8]', { host: '[1:2:3:4:5:6:7:8]' }],
  ['[::ffff:192.0.2.1]', { host: '[::ffff:192.0.2.1]' }],
  ['[1:2:3:4:5:6:1.2.3.4]', { host: '[1:2:3:4:5:6:1.2.3.4]' }],
  ['[ABCD:ef01::]', { host: '[ABCD:ef01::]' }],
  ['0.0.0.0', { host: '0.0.0.0' }],
  ['255.255.255.255:65535', { host: '255.255.255.255', port: 65535 }],
  ['example.org:1', { host: 'example.org', port: 1 }],
  ['example.org:08448', { host: 'example.org', port: 8448 }],
  ['MATRIX.ORG', { host: 'MATRIX.ORG' }],
  ['xn--bcher-kva.example', { host: 'xn--bcher-kva.example' }],
  ['my-server.example.com', { host: 'my-server.example.com' }],
  ['a', { host: 'a' }],
  ['9to5.example', { host: '9to5.example' }],
  ['example.123abc', { host: 'example.123abc' }],
  [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}`, { host: `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}` }],
];

t.test('valid server names parse and split into host and port', async (t) => {
  for (const [name, parts] of valid) {
    t.ok(isServerName(name), name);
    const parsed = parseServerName(name);
    t.equal(parsed, name, `${name} is returned unchanged`);
    t.same(splitServerName(parsed), parts, `${name} splits`);
    t.equal('port' in splitServerName(parsed), parts.port !== undefined, `${name}: port key only when given`);
  }
});

const invalid: ReadonlyArray<[unknown, RegExp]> = [
  ['', /server name is empty/],
  [42, /must be a string/],
  ['a..b', /'a\.\.b' is not a valid DNS name or IP literal/],
  ['.example.org', /not a valid DNS name/],
  ['example.org.', /not a valid DNS name/],
  ['example.org.:8448', /not a valid DNS name/],
  ['my_server.example', /not a valid DNS name/],
  ['exa mple.org', /not a valid DNS name/],
  ['example.org/path', /not a valid DNS name/],
  ['bücher.example', /not a valid DNS name/],
  [':8448', /not a valid DNS name/],
  ['example.org:0', /invalid port '0'/],
  ['example.org:65536', /invalid port '65536'/],
  ['example.org:abc', /invalid port 'abc'/],
  ['example.org:', /invalid port ''/],
  ['example.org:123456', /invalid port/],
  ['example.org:+80', /invalid port/],
  ['example.org:8448:1', /more than one ':'/],
  ['::1', /more than one ':' \(an IPv6 literal must be in square brackets\)/],
  ['[::1', /'\[' without a closing '\]'/],
  ['[::1]8448', /unexpected characters after the IPv6 literal/],
  ['[::1]:0', /invalid port/],
  ['[]', /invalid IPv6 literal/],
  ['[1]', /invalid IPv6 literal/],
  ['[example.org]', /invalid IPv6 literal/],
  ['[1:2:3:4:5:6:7:8:9]', /invalid IPv6 literal/],
  ['[1:2:3:4:5:6:7]', /invalid IPv6 literal/],
  ['[1::2::3]', /invalid IPv6 literal/],
  ['[:::1]', /invalid IPv6 literal/],
  ['[12345::1]', /invalid IPv6 literal/],
  ['[1:2:3:4:5:6:7:8::]', /invalid IPv6 literal/],
  ['[fe80::1%eth0]', /invalid IPv6 literal/],
  ['[1.2.3.4::]', /invalid IPv6 literal/],
  ['[::1.2.3.256]', /invalid IPv6 literal/],
  ['1.2.3.256', /invalid IPv4 literal/],
  ['999.1.1.1:8448', /invalid IPv4 literal/],
  ['01.2.3.4', /invalid IPv4 literal .*leading zeros/],
  // Names the WHATWG URL parser (so undici) would read as IP addresses.
  ['1.2.3', /last label is numeric/],
  ['127.1', /last label is numeric/],
  ['2130706433', /last label is numeric/],
  ['example.0x7f', /last label is numeric/],
  ['1.2.3.4.5', /last label is numeric/],
  [`${'a'.repeat(252)}.org`, /longer than 255 characters/],
];

t.test('invalid server names are refused with M_INVALID_PARAM saying why', async (t) => {
  for (const [name, message] of invalid) {
    t.notOk(isServerName(name), String(name));
    t.throws(() => parseServerName(name), { errcode: 'M_INVALID_PARAM', message }, String(name));
  }
  const err = t.throws(() => parseServerName('a..b'));
  t.ok(err instanceof MatrixError, 'a MatrixError');
});

t.test('255 characters is the limit for the whole server name', async (t) => {
  const label = 'a'.repeat(63);
  const name255 = `${label}.${label}.${label}.${'b'.repeat(63)}`;
  t.equal(name255.length, 255);
  t.ok(isServerName(name255));
  t.notOk(isServerName(`${name255}a`));
  t.ok(isServerName(`${label}.${label}.${label}.${'b'.repeat(58)}:8448`), '255 with the port');
  t.notOk(isServerName(`${label}.${label}.${label}.${'b'.repeat(59)}:8448`), 'the port counts');
});

t.test('error messages quote the value safely', async (t) => {
  t.throws(() => parseServerName('bad\nname'), { message: /'bad\\u000aname'/ });
  const long = `${'x'.repeat(300)}_`;
  const err = t.throws(() => parseServerName(long)) as Error;
  t.ok(err.message.length < 200, 'a hostile value is cut short');
});

t.test('isIpLiteral tells IP literals from DNS names', async (t) => {
  const table: ReadonlyArray<[string, boolean]> = [
    ['1.2.3.4', true],
    ['1.2.3.4:8448', true],
    ['[::1]', true],
    ['[1234:5678::abcd]:5678', true],
    ['matrix.org', false],
    ['matrix.org:8448', false],
    ['localhost', false],
    ['1.2.3.256', false],
    ['::1', false],
    ['', false],
  ];
  for (const [value, expected] of table) t.equal(isIpLiteral(value), expected, value);
});

t.test('server names are case-sensitive and kept as given', async (t) => {
  const upper: ServerName = parseServerName('Matrix.Org');
  t.equal(upper, 'Matrix.Org');
  t.not(upper, parseServerName('matrix.org'));
});
