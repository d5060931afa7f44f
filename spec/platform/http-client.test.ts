import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { createHttpClient, HttpClientError, type HttpClient } from '../../src/platform/http-client.js';
import { silentLogger } from '../../src/platform/logger.js';

/** A local server whose routes play the remote homeserver: friendly, slow, huge or broken. */
async function startServer() {
  const closedEarly: string[] = [];
  const routes: Record<string, (req: IncomingMessage, res: ServerResponse, body: string) => void> = {
    '/echo': (req, res, body) => {
      res.setHeader('content-type', 'application/json');
      res.setHeader('x-multi', ['one', 'two']);
      res.end(JSON.stringify({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: body === '' ? null : JSON.parse(body),
        remotePort: req.socket.remotePort,
      }));
    },
    '/raw': (req, res, body) => {
      res.end(JSON.stringify({ contentType: req.headers['content-type'] ?? null, body }));
    },
    '/missing': (_req, res) => {
      res.statusCode = 404;
      res.setHeader('content-type', 'application/json');
      res.end('{"errcode":"M_NOT_FOUND","error":"No such room"}');
    },
    '/html': (_req, res) => {
      res.statusCode = 502;
      res.setHeader('content-type', 'text/html');
      res.end('<html><body>Bad gateway</body></html>');
    },
    '/never': () => {
      // Accept the request and never answer.
    },
    '/stall-body': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"partial":');
    },
    '/endless': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      res.on('close', () => closedEarly.push('/endless'));
      pump();
    },
    '/declared-huge': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(10 * 1024 * 1024) });
      res.write('{');
      res.on('close', () => closedEarly.push('/declared-huge'));
    },
    '/exactly-limit': (_req, res) => {
      res.end('"' + 'a'.repeat(1022) + '"');
    },
  };
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const route = routes[new URL(req.url ?? '/', 'http://x').pathname];
      if (route === undefined) {
        res.statusCode = 500;
        res.end();
      } else {
        route(req, res, body);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    closedEarly,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const server = await startServer();
t.teardown(server.close);

function client(overrides: { timeoutMs?: number; maxResponseBytes?: number } = {}): HttpClient {
  const made = createHttpClient({
    log: silentLogger(),
    userAgent: 'Hearth/0.1.0 (test)',
    timeoutMs: overrides.timeoutMs ?? 2000,
    maxResponseBytes: overrides.maxResponseBytes ?? 1024,
  });
  t.teardown(() => made.close());
  return made;
}

async function failure(promise: Promise<unknown>): Promise<HttpClientError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof HttpClientError) return err;
    throw err;
  }
  throw new Error('expected the request to fail');
}

t.test('JSON goes out and comes back', async (t) => {
  const http = client();
  const response = await http.request(`${server.base}/echo?since=5`, {
    method: 'put',
    body: { content: { body: 'hello' }, origin_server_ts: 1 },
    headers: { Authorization: 'X-Matrix origin="a.example"' },
  });
  t.equal(response.status, 200);
  t.equal(response.headers['content-type'], 'application/json');
  t.equal(response.headers['x-multi'], 'one, two', 'repeated headers are joined');
  const echoed = response.json() as { method: string; url: string; headers: Record<string, string>; body: unknown };
  t.equal(echoed.method, 'PUT');
  t.equal(echoed.url, '/echo?since=5');
  t.same(echoed.body, { content: { body: 'hello' }, origin_server_ts: 1 });
  t.equal(echoed.headers['content-type'], 'application/json');
  t.equal(echoed.headers['user-agent'], 'Hearth/0.1.0 (test)');
  t.equal(echoed.headers.authorization, 'X-Matrix origin="a.example"', 'caller headers are sent');
  t.equal(response.text(), new TextDecoder().decode(response.body));
});

t.test('strings and bytes are sent as given', async (t) => {
  const http = client();
  const asText = await http.request(`${server.base}/raw`, {
    method: 'POST',
    body: 'plain words',
    headers: { 'Content-Type': 'text/plain' },
  });
  t.same(asText.json(), { contentType: 'text/plain', body: 'plain words' });
  const asBytes = await http.request(`${server.base}/raw`, { method: 'POST', body: new TextEncoder().encode('{"a":1}') });
  t.same(asBytes.json(), { contentType: null, body: '{"a":1}' });
});

t.test('an error status is a response, not an exception', async (t) => {
  const response = await client().request(`${server.base}/missing`);
  t.equal(response.status, 404);
  t.same(response.json(), { errcode: 'M_NOT_FOUND', error: 'No such room' });
});

t.test('json() on a body that is not JSON says so clearly', async (t) => {
  const response = await client().request(`${server.base}/html`);
  t.equal(response.status, 502);
  t.match(response.text(), /Bad gateway/);
  t.throws(() => response.json(), {
    name: 'HttpClientError',
    kind: 'invalid_json',
    message: /\/html \(HTTP 502, content-type text\/html\) is not valid JSON/,
  });
});

t.test('a server that never answers times out', async (t) => {
  const http = client({ timeoutMs: 200 });
  const started = Date.now();
  const err = await failure(http.request(`${server.base}/never`));
  t.equal(err.kind, 'timeout');
  t.match(err.message, /timed out after 200 ms/);
  t.ok(Date.now() - started < 1500, 'gave up near the deadline');
});

t.test('the deadline covers the body too, and can be set per request', async (t) => {
  const http = client({ timeoutMs: 5000 });
  const started = Date.now();
  const err = await failure(http.request(`${server.base}/stall-body`, { timeoutMs: 200 }));
  t.equal(err.kind, 'timeout');
  t.ok(Date.now() - started < 1500);
});

t.test('a response larger than the cap is aborted', async (t) => {
  const http = client({ maxResponseBytes: 256 * 1024 });
  const err = await failure(http.request(`${server.base}/endless`));
  t.equal(err.kind, 'too_large');
  t.match(err.message, /larger than 262144 bytes; aborted/);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.ok(server.closedEarly.includes('/endless'), 'the connection was cut, not drained');
});

t.test('a declared length over the cap is refused before reading', async (t) => {
  const err = await failure(client({ maxResponseBytes: 1024 * 1024 }).request(`${server.base}/declared-huge`));
  t.equal(err.kind, 'too_large');
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.ok(server.closedEarly.includes('/declared-huge'), 'the connection was cut');
});

t.test('a body of exactly the cap is fine; the cap can be raised per request', async (t) => {
  const http = client({ maxResponseBytes: 1024 });
  t.equal((await http.request(`${server.base}/exactly-limit`)).body.length, 1024);
  const small = client({ maxResponseBytes: 100 });
  t.equal((await failure(small.request(`${server.base}/exactly-limit`))).kind, 'too_large');
  t.equal((await small.request(`${server.base}/exactly-limit`, { maxResponseBytes: 2048 })).status, 200);
});

t.test("the caller's signal cancels", async (t) => {
  const controller = new AbortController();
  const pending = client().request(`${server.base}/never`, { signal: controller.signal });
  setTimeout(() => controller.abort(), 50);
  const err = await failure(pending);
  t.equal(err.kind, 'aborted');
});

t.test('connections are kept alive between requests', async (t) => {
  const http = client();
  const ports = new Set<number>();
  for (let i = 0; i < 3; i++) {
    const echoed = (await http.request(`${server.base}/echo`)).json() as { remotePort: number };
    ports.add(echoed.remotePort);
    // undici returns the socket to the pool just after the body ends; a request in the same tick opens another.
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  t.equal(ports.size, 1, 'three requests, one connection');
});

t.test('failures to connect and bad URLs are reported by kind', async (t) => {
  const http = client({ timeoutMs: 1000 });
  const refused = await failure(http.request('http://127.0.0.1:1/'));
  t.equal(refused.kind, 'network');
  t.match(refused.message, /request to http:\/\/127\.0\.0\.1:1\/ failed/);
  t.equal((await failure(http.request('not a url'))).kind, 'invalid_url');
  t.equal((await failure(http.request('file:///etc/passwd'))).kind, 'invalid_url');
});

t.test('the error names the URL without its query string', async (t) => {
  const err = await failure(client({ timeoutMs: 100 }).request(`${server.base}/never?access_token=secret`));
  t.notMatch(err.message, /secret/);
  t.equal(err.url, `${server.base}/never`);
});

t.test('a closed client refuses new requests', async (t) => {
  const http = client();
  await http.close();
  t.equal((await failure(http.request(`${server.base}/echo`))).kind, 'closed');
});
