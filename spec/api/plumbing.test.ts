import t, { type Test } from 'tap';
import { Type } from '@sinclair/typebox';
import { createHttpApp } from '../../src/api/plumbing/http-app.js';
import { route } from '../../src/api/plumbing/route.js';
import { defineEndpoint } from '../../src/protocol/endpoint.js';
import { MatrixError } from '../../src/protocol/index.js';
import { silentLogger } from '../../src/platform/logger.js';

const echo = defineEndpoint({
  name: 'echo',
  method: 'PUT',
  path: '/_test/rooms/{roomId}/echo',
  aliases: ['/_test/r0/rooms/{roomId}/echo'],
  auth: 'none',
  params: Type.Object({ roomId: Type.String() }),
  query: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1 })) }),
  body: Type.Object({ msgtype: Type.String(), body: Type.String() }),
  response: Type.Object({ roomId: Type.String(), limit: Type.Union([Type.Integer(), Type.Null()]), msgtype: Type.String() }),
});

const forbidden = defineEndpoint({ name: 'forbidden', method: 'GET', path: '/_test/forbidden', auth: 'none', response: Type.Object({}) });
const broken = defineEndpoint({ name: 'broken', method: 'GET', path: '/_test/broken', auth: 'none', response: Type.Object({}) });

async function testApp(t: Test) {
  const app = await createHttpApp({ log: silentLogger(), maxJsonBodyBytes: 2048, trustProxy: false }, async (app) => {
    route(app, echo, ({ params, query, body }) => ({ roomId: params.roomId, limit: query.limit ?? null, msgtype: body.msgtype }));
    route(app, forbidden, () => {
      throw new MatrixError('M_FORBIDDEN', 'You are not invited to this room');
    });
    route(app, broken, () => {
      throw new Error('database password is hunter2');
    });
  });
  t.teardown(() => app.close());
  return app;
}

t.test('a valid request reaches the handler with parsed params, query and body', async (t) => {
  const app = await testApp(t);
  for (const url of ['/_test/rooms/!a%3Aexample.org/echo?limit=5', '/_test/r0/rooms/!a%3Aexample.org/echo?limit=5']) {
    const res = await app.inject({ method: 'PUT', url, payload: { msgtype: 'm.text', body: 'hi' } });
    t.equal(res.statusCode, 200, url);
    t.same(res.json(), { roomId: '!a:example.org', limit: 5, msgtype: 'm.text' });
  }
});

t.test('a body that is not JSON is 400 M_NOT_JSON, whatever the content type', async (t) => {
  const app = await testApp(t);
  for (const contentType of ['application/json', 'text/plain', undefined]) {
    const res = await app.inject({
      method: 'PUT',
      url: '/_test/rooms/x/echo',
      payload: '{"msgtype": ',
      headers: contentType ? { 'content-type': contentType } : {},
    });
    t.equal(res.statusCode, 400, String(contentType));
    t.equal(res.json().errcode, 'M_NOT_JSON');
  }
  const empty = await app.inject({ method: 'PUT', url: '/_test/rooms/x/echo' });
  t.equal(empty.statusCode, 400);
  t.equal(empty.json().errcode, 'M_NOT_JSON');
});

t.test('JSON sent as text/plain is read as JSON', async (t) => {
  const app = await testApp(t);
  const res = await app.inject({
    method: 'PUT',
    url: '/_test/rooms/x/echo',
    payload: JSON.stringify({ msgtype: 'm.text', body: 'hi' }),
    headers: { 'content-type': 'text/plain' },
  });
  t.equal(res.statusCode, 200);
});

t.test('JSON that breaks the schema is 400 M_BAD_JSON naming the field', async (t) => {
  const app = await testApp(t);
  const wrongType = await app.inject({ method: 'PUT', url: '/_test/rooms/x/echo', payload: { msgtype: 5, body: 'hi' } });
  t.equal(wrongType.statusCode, 400);
  t.equal(wrongType.json().errcode, 'M_BAD_JSON');
  t.match(wrongType.json().error, /msgtype/);
  const missing = await app.inject({ method: 'PUT', url: '/_test/rooms/x/echo', payload: { msgtype: 'm.text' } });
  t.equal(missing.json().errcode, 'M_BAD_JSON');
  t.match(missing.json().error, /body/);
  const notObject = await app.inject({ method: 'PUT', url: '/_test/rooms/x/echo', payload: '[1,2]', headers: { 'content-type': 'application/json' } });
  t.equal(notObject.json().errcode, 'M_BAD_JSON');
});

t.test('a bad query parameter is 400 M_INVALID_PARAM naming it', async (t) => {
  const app = await testApp(t);
  const res = await app.inject({ method: 'PUT', url: '/_test/rooms/x/echo?limit=zero', payload: { msgtype: 'm.text', body: 'hi' } });
  t.equal(res.statusCode, 400);
  t.equal(res.json().errcode, 'M_INVALID_PARAM');
  t.match(res.json().error, /limit/);
});

t.test('__proto__ keys are refused rather than smuggled into objects', async (t) => {
  const app = await testApp(t);
  const res = await app.inject({
    method: 'PUT',
    url: '/_test/rooms/x/echo',
    payload: '{"msgtype":"m.text","body":"x","__proto__":{"admin":true}}',
    headers: { 'content-type': 'application/json' },
  });
  t.equal(res.statusCode, 400);
  t.equal(res.json().errcode, 'M_BAD_JSON');
});

t.test('a body over the limit is 413 M_TOO_LARGE', async (t) => {
  const app = await testApp(t);
  const res = await app.inject({ method: 'PUT', url: '/_test/rooms/x/echo', payload: { msgtype: 'm.text', body: 'x'.repeat(4096) } });
  t.equal(res.statusCode, 413);
  t.equal(res.json().errcode, 'M_TOO_LARGE');
});

t.test('unknown endpoints are 404 M_UNRECOGNIZED; known ones with the wrong method 405', async (t) => {
  const app = await testApp(t);
  const unknown = await app.inject({ method: 'GET', url: '/_matrix/client/v3/nonsense?access_token=secret' });
  t.equal(unknown.statusCode, 404);
  t.equal(unknown.json().errcode, 'M_UNRECOGNIZED');
  t.notMatch(unknown.json().error, /secret/, 'the query string is not echoed');
  const wrongMethod = await app.inject({ method: 'POST', url: '/_test/rooms/x/echo', payload: {} });
  t.equal(wrongMethod.statusCode, 405);
  t.equal(wrongMethod.json().errcode, 'M_UNRECOGNIZED');
  t.equal(wrongMethod.headers.allow, 'PUT, OPTIONS');
  const deleteForbidden = await app.inject({ method: 'DELETE', url: '/_test/forbidden' });
  t.equal(deleteForbidden.statusCode, 405);
});

t.test('MatrixErrors keep their errcode and status; unexpected errors leak nothing', async (t) => {
  const app = await testApp(t);
  const forbiddenRes = await app.inject({ method: 'GET', url: '/_test/forbidden' });
  t.equal(forbiddenRes.statusCode, 403);
  t.same(forbiddenRes.json(), { errcode: 'M_FORBIDDEN', error: 'You are not invited to this room' });
  const brokenRes = await app.inject({ method: 'GET', url: '/_test/broken' });
  t.equal(brokenRes.statusCode, 500);
  t.same(brokenRes.json(), { errcode: 'M_UNKNOWN', error: 'Internal server error' });
  t.notMatch(brokenRes.body, /hunter2/);
});

t.test('CORS headers on every reply, and OPTIONS answered without running the endpoint', async (t) => {
  const app = await testApp(t);
  for (const res of [
    await app.inject({ method: 'GET', url: '/_test/forbidden' }),
    await app.inject({ method: 'GET', url: '/nowhere' }),
    await app.inject({ method: 'PUT', url: '/_test/rooms/x/echo', payload: { msgtype: 'm.text', body: 'hi' } }),
  ]) {
    t.equal(res.headers['access-control-allow-origin'], '*');
    t.equal(res.headers['access-control-allow-methods'], 'GET, POST, PUT, DELETE, OPTIONS');
    t.equal(res.headers['access-control-allow-headers'], 'X-Requested-With, Content-Type, Authorization');
  }
  const preflight = await app.inject({ method: 'OPTIONS', url: '/_test/broken' });
  t.equal(preflight.statusCode, 204, 'the broken handler did not run');
  t.equal(preflight.headers['access-control-allow-origin'], '*');
  const preflightUnknown = await app.inject({ method: 'OPTIONS', url: '/_matrix/client/v3/anything' });
  t.equal(preflightUnknown.statusCode, 204);
});

t.test('JSON replies are application/json exactly, errors and unknown paths too', async (t) => {
  const app = await testApp(t);
  const ok = await app.inject({ method: 'PUT', url: '/_test/rooms/x/echo', payload: { msgtype: 'm.text', body: 'hi' } });
  const refused = await app.inject({ method: 'GET', url: '/_test/forbidden' });
  const unknown = await app.inject({ method: 'GET', url: '/_test/nowhere' });
  for (const res of [ok, refused, unknown]) t.equal(res.headers['content-type'], 'application/json', String(res.statusCode));
});

t.test('a body that is not UTF-8 is 400 M_NOT_JSON, not text with replacement characters', async (t) => {
  const app = await testApp(t);
  const res = await app.inject({
    method: 'PUT',
    url: '/_test/rooms/x/echo',
    payload: Buffer.concat([Buffer.from('{"msgtype": "m.text", "body": "a'), Buffer.from([0x81]), Buffer.from('"}')]),
    headers: { 'content-type': 'application/json' },
  });
  t.equal(res.statusCode, 400);
  t.equal(res.json().errcode, 'M_NOT_JSON');
  const accented = await app.inject({ method: 'PUT', url: '/_test/rooms/x/echo', payload: { msgtype: 'm.tëxt', body: 'ü' } });
  t.equal(accented.json().msgtype, 'm.tëxt', 'UTF-8 text is read as such');
});
