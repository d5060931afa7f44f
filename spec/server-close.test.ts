import t from 'tap';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { startTestServer } from './helpers/server.js';

/**
 * Stopping a server with clients connected: what is being answered gets its answer, and no connection a
 * client holds open keeps the process from stopping.
 */

function openSocket(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  return once(socket, 'connect').then(() => socket);
}

t.test('a connection that has sent no request does not hold the shutdown', async (t) => {
  const server = await startTestServer(t, 'embedded');
  // Clients open spare connections ahead of need (undici replaces an aborted one so; browsers preconnect).
  const spare = await openSocket(server.url);
  const ended = once(spare, 'close');
  // Node counts such a connection as busy until its headers timeout (a minute): closing used to wait that long.
  const stopped = await Promise.race([server.close().then(() => 'closed'), new Promise((done) => setTimeout(done, 30_000, 'hung'))]);
  t.equal(stopped, 'closed', 'the server closes without waiting for the spare connection to time out');
  await ended;
});

t.test('a long-poll in flight is answered before its connection closes', async (t) => {
  const server = await startTestServer(t, 'embedded');
  const register = await fetch(`${server.url}/_matrix/client/v3/register`, {
    method: 'POST',
    body: JSON.stringify({ username: 'poller', password: 'a long enough password', auth: { type: 'm.login.dummy' } }),
  });
  const { access_token: token } = (await register.json()) as { access_token: string };
  const first = (await (await fetch(`${server.url}/_matrix/client/v3/sync?timeout=0`, { headers: { authorization: `Bearer ${token}` } })).json()) as { next_batch: string };

  const socket = await openSocket(server.url);
  const { host } = new URL(server.url);
  socket.write(
    `GET /_matrix/client/v3/sync?timeout=30000&since=${first.next_batch} HTTP/1.1\r\nHost: ${host}\r\n` +
      `Authorization: Bearer ${token}\r\n\r\n`,
  );
  let answer = '';
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
  const ended = once(socket, 'close');
  // The long-poll is waiting once the server has read it; then the server stops.
  await new Promise((done) => setTimeout(done, 300));
  await server.close();
  await ended;
  t.match(answer, /^HTTP\/1\.1 200 /, 'the long-poll got its answer');
  t.match(answer, /"next_batch"/);
});
