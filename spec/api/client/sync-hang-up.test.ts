/**
 * A long-poll whose client hangs up stops waiting at once (its listener goes), and one answered on a
 * keep-alive connection leaves nothing behind on the socket that serves the next.
 */
import { request as httpRequest, Agent } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import t from 'tap';
import { appOn, registerUser } from '../../helpers/app.js';
import { eachEngine } from '../../helpers/database.js';
import { testClient } from '../../helpers/client.js';

/** Waits until `condition` holds, checking every few milliseconds; fails the test after `limitMs`. */
async function until(condition: () => boolean, limitMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((done) => setTimeout(done, 5));
  }
  return true;
}

eachEngine(t, 'a client that hangs up ends its long-poll; answered polls leave no listener on the connection', async (t, db) => {
  const { app, syncNotifier } = await appOn(t, db);
  const session = await registerUser(app, 'alice');
  const alice = testClient(app, session);
  const since = (await alice.sync()).body.next_batch as string;
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const get = (timeout: number) =>
    httpRequest({ host: '127.0.0.1', port, agent, path: `/_matrix/client/v3/sync?since=${since}&timeout=${timeout}`, headers: { authorization: `Bearer ${session.access_token}` } });

  // Answered polls on one kept-alive connection: each took its close listener with it.
  const serverSockets: Socket[] = [];
  app.server.on('connection', (socket: Socket) => serverSockets.push(socket));
  const closeListeners: number[] = [];
  for (let i = 0; i < 5; i++) {
    const status = await new Promise<number>((done, fail) => {
      const req = get(0);
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => done(res.statusCode ?? 0));
      });
      req.on('error', fail);
      req.end();
    });
    t.equal(status, 200, `poll ${i} answered`);
    closeListeners.push(serverSockets[0]?.listenerCount('close') ?? -1);
  }
  t.equal(serverSockets.length, 1, 'the five polls shared one connection');
  t.same(new Set(closeListeners).size, 1, 'its close listeners did not pile up');
  t.equal(syncNotifier.listeners, 0, 'no sync listener left once they were answered');

  // A waiting poll whose client goes away.
  const waiting = get(60_000);
  waiting.on('error', () => undefined);
  waiting.end();
  t.ok(await until(() => syncNotifier.listeners === 1), 'the poll waits');
  waiting.destroy();
  t.ok(await until(() => syncNotifier.listeners === 0), 'hung up: it stops waiting');
});
