import t from 'tap';
import {
  isCompliantUserId,
  isDeviceId,
  isEventId,
  isNamespacedId,
  isOpaqueId,
  isRoomAlias,
  isRoomId,
  isUserId,
  isValidNewLocalpart,
  makeUserId,
  parseDeviceId,
  parseEventId,
  parseOpaqueId,
  parseRoomAlias,
  parseRoomId,
  parseRoomIdOrAlias,
  parseUserId,
  serverNameOf,
  userIdLocalpart,
  userIdServer,
} from '../../src/protocol/identifiers.js';
import { parseServerName } from '../../src/protocol/server-name.js';

const invalidParam = (message: RegExp) => ({ errcode: 'M_INVALID_PARAM', message });

// A real room version 12 room ID and a v4+ event ID (URL-safe base64 of a sha256).
const V12_ROOM_ID = '!Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg';
const V4_EVENT_ID = '$Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg';
const V3_EVENT_ID = '$acR1l0raoZnm60CBwAVgqbZqoO/mYU81xysh1u7XcJk';

t.test('user IDs', async (t) => {
  const newStyle = [
    '@alice:example.org',
    '@a:b',
    '@alice.smith_99=2d-x/y+z:matrix.org:8448',
    '@bob:1.2.3.4:8448',
    '@bob:[1234:5678::abcd]:5678',
    '@bob:[::1]',
  ];
  for (const id of newStyle) {
    t.equal(parseUserId(id, { allowHistorical: false }), id, `${id} is a new-style ID`);
    t.ok(isUserId(id), `${id} passes the guard`);
  }

  // Historical IDs: the spec says servers MUST accept these (events from them are in existing rooms).
  const historical = ['@Alice:example.org', '@alice!:example.org', '@:example.org', '@über:example.org',
    '@tab\there:example.org', '@😀:example.org', '@a b:example.org'];
  for (const id of historical) {
    t.equal(parseUserId(id), id, `${id} is accepted by default`);
    t.ok(isUserId(id, { allowHistorical: true }));
    t.notOk(isUserId(id, { allowHistorical: false }), `${id} is refused when only new-style IDs are allowed`);
    t.throws(() => parseUserId(id, { allowHistorical: false }), invalidParam(/user ID/));
  }

  const invalid: ReadonlyArray<[unknown, RegExp]> = [
    ['alice:example.org', /user ID 'alice:example\.org' must start with '@'/],
    ['#alice:example.org', /must start with '@'/],
    [null, /user ID must be a string/],
    ['@alice', /has no ':' before a server name/],
    ['@alice:', /invalid server name: server name is empty/],
    ['@alice:a..b', /invalid server name: server name 'a\.\.b' is not a valid DNS name or IP literal/],
    ['@alice:example.org:0', /invalid port/],
    ['@al\u0000ice:example.org', /NUL or an unpaired surrogate/],
    ['@al\ud800ice:example.org', /NUL or an unpaired surrogate/],
    ['@al\udc00ice:example.org', /NUL or an unpaired surrogate/],
    ['@alice\ud800:example.org', /NUL or an unpaired surrogate/],
    ['@alice:exa\u0000mple.org', /invalid server name/],
  ];
  for (const [id, message] of invalid) {
    t.notOk(isUserId(id), String(id));
    t.throws(() => parseUserId(id), invalidParam(message), String(id));
  }

  t.throws(() => parseUserId('@Alice:example.org', { allowHistorical: false }),
    invalidParam(/may only use a-z, 0-9 and \. _ = - \/ \+ in its localpart/), 'uppercase is not new-style');
  t.throws(() => parseUserId('@:example.org', { allowHistorical: false }), invalidParam(/empty localpart/));
});

t.test('user IDs are limited to 255 bytes of UTF-8', async (t) => {
  const server = 'example.org';
  const fill = (n: number) => `@${'a'.repeat(n)}:${server}`;
  const at255 = fill(255 - 2 - server.length);
  t.equal(at255.length, 255);
  t.ok(isUserId(at255, { allowHistorical: false }));
  t.throws(() => parseUserId(fill(256 - 2 - server.length)), invalidParam(/is longer than 255 bytes/));

  // 'é' is one UTF-16 unit but two bytes: 125 of them make 263 bytes in 138 characters.
  const wide = `@${'é'.repeat(125)}:${server}`;
  t.ok(wide.length < 255);
  t.throws(() => parseUserId(wide), invalidParam(/longer than 255 bytes/));
  t.ok(isUserId(`@${'語'.repeat(80)}:${server}`), '80 three-byte characters fit');
  t.notOk(isUserId(`@${'語'.repeat(81)}:${server}`), '81 do not');
  const astral = `@${'😀'.repeat(60)}:${server}`; // 240 bytes + 13
  t.ok(isUserId(astral));
  t.notOk(isUserId(`@${'😀'.repeat(61)}:${server}`));
});

t.test('new localparts for registration', async (t) => {
  const server = parseServerName('example.org');
  for (const ok of ['alice', 'a', '0', 'a.b_c=d-e/f+g']) t.ok(isValidNewLocalpart(ok), ok);
  for (const bad of ['', 'Alice', 'al ice', 'al:ice', 'ali@ce', 'über', 'a*']) t.notOk(isValidNewLocalpart(bad), bad);
  t.ok(isValidNewLocalpart('a'.repeat(242), server), 'exactly 255 bytes with the server');
  t.notOk(isValidNewLocalpart('a'.repeat(243), server), 'one byte too long with the server');
  t.ok(isValidNewLocalpart('a'.repeat(243)), 'without a server only the characters are checked');
});

t.test('makeUserId, userIdLocalpart, userIdServer', async (t) => {
  const server = parseServerName('matrix.org:8448');
  const id = makeUserId('alice', server);
  t.equal(id, '@alice:matrix.org:8448');
  t.equal(userIdLocalpart(id), 'alice');
  t.equal(userIdServer(id), 'matrix.org:8448');
  t.equal(serverNameOf(id), 'matrix.org:8448');
  t.throws(() => makeUserId('Alice', server), invalidParam(/localpart/), 'makeUserId only makes new-style IDs');
  t.throws(() => makeUserId('a'.repeat(250), server), invalidParam(/longer than 255 bytes/));

  const v6 = parseUserId('@bob:[::1]:8448');
  t.equal(userIdLocalpart(v6), 'bob');
  t.equal(userIdServer(v6), '[::1]:8448');
  const historical = parseUserId('@:example.org');
  t.equal(userIdLocalpart(historical), '');
  t.equal(userIdServer(historical), 'example.org');
});

t.test('compliant user IDs', async (t) => {
  const table: ReadonlyArray<[string, boolean]> = [
    ['@alice:example.org', true],
    ['@Alice!~:example.org', true],
    ['@:example.org', false],
    ['@a b:example.org', false],
    ['@über:example.org', false],
    ['@tab\t:example.org', false],
  ];
  for (const [id, expected] of table) t.equal(isCompliantUserId(parseUserId(id)), expected, id);
});

t.test('room IDs', async (t) => {
  const valid = ['!abcdefg:example.org', '!OGEhHVWSdvArJzumhm:matrix.org', '!a:b', '!x:[::1]:8448',
    '!weird chars é:example.org', V12_ROOM_ID];
  for (const id of valid) {
    t.equal(parseRoomId(id), id, id);
    t.ok(isRoomId(id));
  }
  const invalid: ReadonlyArray<[unknown, RegExp]> = [
    ['abc:example.org', /room ID 'abc:example\.org' must start with '!'/],
    [7, /room ID must be a string/],
    ['!:example.org', /empty localpart/],
    ['!abc:a..b', /invalid server name/],
    ['!a\u0000b:example.org', /NUL/],
    ['!abc', /has no server name and is not a 43-character reference hash/],
    [`${V12_ROOM_ID}A`, /not a 43-character reference hash/],
    [V12_ROOM_ID.slice(0, -1), /not a 43-character reference hash/],
    // Room version 12 uses URL-safe base64 only.
    ['!acR1l0raoZnm60CBwAVgqbZqoO/mYU81xysh1u7XcJk', /not a 43-character reference hash/],
    [`!${'a'.repeat(250)}:example.org`, /longer than 255 bytes/],
  ];
  for (const [id, message] of invalid) {
    t.notOk(isRoomId(id), String(id));
    t.throws(() => parseRoomId(id), invalidParam(message), String(id));
  }
  t.equal(serverNameOf(parseRoomId('!abc:example.org:8448')), 'example.org:8448');
  t.equal(serverNameOf(parseRoomId(V12_ROOM_ID)), undefined, 'a v12 room ID has no server');
});

t.test('event IDs', async (t) => {
  const valid = ['$abc123:example.org', '$1435641916114394fHBLK:matrix.org', V3_EVENT_ID, V4_EVENT_ID];
  for (const id of valid) {
    t.equal(parseEventId(id), id, id);
    t.ok(isEventId(id));
  }
  const invalid: ReadonlyArray<[unknown, RegExp]> = [
    ['abc:example.org', /event ID 'abc:example\.org' must start with '\$'/],
    [undefined, /event ID must be a string/],
    ['$:example.org', /empty localpart/],
    ['$abc', /has no server name and is not a 43-character reference hash/],
    ['$abc:example..org', /invalid server name/],
    [`${V4_EVENT_ID}x`, /not a 43-character reference hash/],
    // One alphabet or the other, never both.
    ['$acR1l0raoZnm60CBwAVgqbZqoO/mYU81xysh1u7Xc_k', /not a 43-character reference hash/],
    ['$acR1l0raoZnm60CBwAVgqbZqoO/mYU81xysh1u7Xc=', /not a 43-character reference hash/],
  ];
  for (const [id, message] of invalid) {
    t.notOk(isEventId(id), String(id));
    t.throws(() => parseEventId(id), invalidParam(message), String(id));
  }
  t.equal(serverNameOf(parseEventId('$abc:example.org')), 'example.org', 'v1-2 event IDs carry a server');
  t.equal(serverNameOf(parseEventId(V3_EVENT_ID)), undefined);
  t.equal(serverNameOf(parseEventId(V4_EVENT_ID)), undefined);
});

t.test('room aliases', async (t) => {
  const valid = ['#room:example.org', '#Room With Spaces:example.org', '#über:example.org:8448', '#a:[::1]'];
  for (const alias of valid) {
    t.equal(parseRoomAlias(alias), alias, alias);
    t.ok(isRoomAlias(alias));
  }
  const invalid: ReadonlyArray<[unknown, RegExp]> = [
    ['room:example.org', /room alias 'room:example\.org' must start with '#'/],
    ['#room', /has no ':' before a server name/],
    ['#:example.org', /empty localpart/],
    ['#room:exa_mple.org', /invalid server name/],
    ['#ro\u0000om:example.org', /NUL/],
    [`#${'r'.repeat(243)}:example.org`, /longer than 255 bytes/],
  ];
  for (const [alias, message] of invalid) {
    t.notOk(isRoomAlias(alias), String(alias));
    t.throws(() => parseRoomAlias(alias), invalidParam(message), String(alias));
  }
  t.ok(isRoomAlias(`#${'r'.repeat(242)}:example.org`), 'exactly 255 bytes');
  t.equal(serverNameOf(parseRoomAlias('#room:example.org')), 'example.org');
});

t.test('room ID or alias', async (t) => {
  t.equal(parseRoomIdOrAlias('!abc:example.org'), '!abc:example.org');
  t.equal(parseRoomIdOrAlias(V12_ROOM_ID), V12_ROOM_ID);
  t.equal(parseRoomIdOrAlias('#room:example.org'), '#room:example.org');
  t.throws(() => parseRoomIdOrAlias('@alice:example.org'), invalidParam(/neither a room ID .* nor a room alias/));
  t.throws(() => parseRoomIdOrAlias('#room'), invalidParam(/room alias '#room' has no ':'/));
  t.throws(() => parseRoomIdOrAlias('!abc'), invalidParam(/room ID '!abc'/));
  t.throws(() => parseRoomIdOrAlias(3), invalidParam(/must be a string/));
});

t.test('device IDs', async (t) => {
  for (const id of ['ABCDEFGHIJ', 'device_1', 'a.b~c-d']) {
    t.equal(parseDeviceId(id, { strict: true }), id, `${id} is an opaque identifier`);
  }
  // Clients choose device IDs on login and other servers report theirs, so by default only junk is refused.
  for (const id of ['my phone', 'abc/def+g==', 'ünïcode']) {
    t.ok(isDeviceId(id), `${id} is accepted by default`);
    t.notOk(isDeviceId(id, { strict: true }), `${id} is refused in strict mode`);
  }
  const invalid: ReadonlyArray<[unknown, RegExp]> = [
    ['', /device ID is empty/],
    [12, /device ID must be a string/],
    ['a\u0000b', /NUL/],
    ['x'.repeat(256), /longer than 255 bytes/],
  ];
  for (const [id, message] of invalid) {
    t.notOk(isDeviceId(id), String(id));
    t.throws(() => parseDeviceId(id), invalidParam(message));
  }
  t.throws(() => parseDeviceId('my phone', { strict: true }), invalidParam(/may only use letters, digits and \. _ ~ -/));
});

t.test('opaque and namespaced identifiers', async (t) => {
  for (const id of ['a', 'ABC-def.123_~', 'x'.repeat(255)]) t.ok(isOpaqueId(id), id);
  for (const id of ['', 'a b', 'a/b', 'a:b', 'ü', 'x'.repeat(256), 5]) t.notOk(isOpaqueId(id), String(id));
  t.ok(isOpaqueId('x'.repeat(64), 64));
  t.notOk(isOpaqueId('x'.repeat(65), 64), 'registration tokens stop at 64');
  t.throws(() => parseOpaqueId('a b', { kind: 'transaction ID' }), invalidParam(/transaction ID 'a b' may only use/));
  t.throws(() => parseOpaqueId('x'.repeat(65), { kind: 'token', maxLength: 64 }), invalidParam(/longer than 64 characters/));

  for (const id of ['m.room.message', 'com.example.thing', 'a', 'a-b_c.d9']) t.ok(isNamespacedId(id), id);
  for (const id of ['', 'M.room', '9abc', '.abc', 'a b', 'com.Example', 'x'.repeat(256)]) {
    t.notOk(isNamespacedId(id), id);
  }
});
