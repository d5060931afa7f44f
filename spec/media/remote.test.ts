import t from 'tap';
import { FederationRequestError, type FederationClient, type FederationRequestOptions } from '../../src/federation/client.js';
import { createRemoteMedia, multipartFraming } from '../../src/media/index.js';
import type { HttpResponse } from '../../src/platform/http-client.js';
import { MatrixError } from '../../src/protocol/index.js';

/** An HttpResponse of bytes. */
function response(status: number, headers: Record<string, string>, body: Buffer): HttpResponse {
  return { status, headers, body, json: () => JSON.parse(body.toString()), text: () => body.toString() };
}

/** A federation client that answers each path as the test says and records what was asked. */
function fakeClient(answer: (path: string, options: FederationRequestOptions) => HttpResponse | Error) {
  const asked: string[] = [];
  const client: FederationClient = {
    request: () => Promise.reject(new Error('media asks for bytes, not JSON')),
    async fetch(destination, _method, path, options = {}) {
      asked.push(`${destination} ${path}`);
      const result = answer(path, options);
      if (result instanceof Error) throw result;
      return result;
    },
  };
  return { client, asked };
}

const refusal = (status: number, errcode: string) =>
  new FederationRequestError('remote.example', 'remote', `refused ${errcode}`, { remoteStatus: status, remoteErrcode: errcode });

const limits = { timeoutMs: 1000, maxBytes: 1000 };

t.test('the multipart answer of the authenticated endpoint gives the bytes, type and name', async (t) => {
  const framing = multipartFraming('zz', 'text/plain', 'inline; filename="a.txt"');
  const { client, asked } = fakeClient((_path, options) => {
    t.same(options.query, { timeout_ms: 1000 }, 'the wait is passed on');
    return response(200, { 'content-type': framing.contentType }, Buffer.concat([framing.head, Buffer.from('hello'), framing.tail]));
  });
  const fetched = await createRemoteMedia({ client }).fetch('remote.example', 'abc', limits);
  t.same({ ...fetched, bytes: fetched.bytes.toString() }, { contentType: 'text/plain', fileName: 'a.txt', bytes: 'hello' });
  t.same(asked, ['remote.example /_matrix/federation/v1/media/download/abc']);
});

t.test('a server from before Matrix 1.11 is asked at the deprecated path', async (t) => {
  const { client, asked } = fakeClient((path, options) => {
    if (path.startsWith('/_matrix/federation/')) return refusal(404, 'M_UNRECOGNIZED');
    t.same(options.query, { allow_remote: 'false', timeout_ms: 1000 }, 'never through a third server');
    return response(200, { 'content-type': 'image/png', 'content-disposition': 'inline; filename=x.png' }, Buffer.from([1, 2]));
  });
  const fetched = await createRemoteMedia({ client }).fetch('remote.example', 'abc', limits);
  t.same([fetched.contentType, fetched.fileName, [...fetched.bytes]], ['image/png', 'x.png', [1, 2]]);
  t.same(asked, ['remote.example /_matrix/federation/v1/media/download/abc', 'remote.example /_matrix/media/v3/download/remote.example/abc']);
});

t.test('a Location part is followed through fetchLocation, and refused without it', async (t) => {
  const located = Buffer.from('--b\r\nContent-Type: application/json\r\n\r\n{}\r\n--b\r\nLocation: https://cdn.example/x\r\n\r\n\r\n--b--\r\n');
  const { client } = fakeClient(() => response(200, { 'content-type': 'multipart/mixed; boundary=b' }, located));
  const followed: string[] = [];
  const fetched = await createRemoteMedia({
    client,
    fetchLocation: async (url) => {
      followed.push(url);
      return response(200, { 'content-type': 'video/mp4' }, Buffer.from('movie'));
    },
  }).fetch('remote.example', 'abc', limits);
  t.same(followed, ['https://cdn.example/x']);
  t.same([fetched.contentType, fetched.bytes.toString()], ['video/mp4', 'movie']);
  await t.rejects(createRemoteMedia({ client }).fetch('remote.example', 'abc', limits), new MatrixError('M_UNKNOWN', 'remote.example redirected a media download elsewhere', { status: 502 }));
});

t.test('failures become the errcodes the spec gives clients', async (t) => {
  const cases: Array<[Error | HttpResponse, string, number]> = [
    [refusal(404, 'M_NOT_FOUND'), 'M_NOT_FOUND', 404],
    [refusal(504, 'M_NOT_YET_UPLOADED'), 'M_NOT_YET_UPLOADED', 504],
    [new FederationRequestError('remote.example', 'too_large', 'too big'), 'M_TOO_LARGE', 502],
    [new FederationRequestError('remote.example', 'timeout', 'slow'), 'M_UNKNOWN', 504],
    [new FederationRequestError('remote.example', 'unreachable', 'down'), 'M_UNKNOWN', 502],
    [response(200, { 'content-type': 'application/json' }, Buffer.from('{}')), 'M_UNKNOWN', 502],
    [response(200, { 'content-type': 'multipart/mixed; boundary=q' }, Buffer.from('garbage')), 'M_UNKNOWN', 502],
  ];
  for (const [answer, errcode, status] of cases) {
    const { client } = fakeClient(() => answer);
    const failure = await createRemoteMedia({ client }).fetch('remote.example', 'abc', limits).then(() => undefined, (err: unknown) => err);
    t.ok(failure instanceof MatrixError && !(failure instanceof FederationRequestError), 'a client-facing MatrixError');
    t.same([(failure as MatrixError).errcode, (failure as MatrixError).status], [errcode, status]);
  }
  const framing = multipartFraming('b', 'x/y', 'attachment');
  const oversized = Buffer.concat([framing.head, Buffer.alloc(1001), framing.tail]);
  const { client } = fakeClient(() => response(200, { 'content-type': framing.contentType }, oversized));
  const tooLarge = await createRemoteMedia({ client }).fetch('remote.example', 'abc', limits).then(() => undefined, (err: unknown) => err as MatrixError);
  t.same([tooLarge?.errcode, tooLarge?.status], ['M_TOO_LARGE', 502], 'content past the limit inside the framing allowance');
});
