import type { FastifyInstance } from 'fastify';
import type { Test } from 'tap';
import type { Database } from '../../src/storage/index.js';
import { appOn, registerUser } from './app.js';

export const V3 = '/_matrix/client/v3';
type Session = Awaited<ReturnType<typeof registerUser>>;

/**
 * One client's view of an app under test: requests carry its token (none for a null session: an
 * anonymous caller); replies come back as status and JSON.
 */
export function testClient(app: FastifyInstance, session: Session | null) {
  const call = async (method: 'GET' | 'PUT' | 'POST' | 'DELETE', path: string, payload?: unknown) => {
    const res = await app.inject({
      method,
      url: path.startsWith('/_') ? path : `${V3}${path}`,
      ...(session ? { headers: { authorization: `Bearer ${session.access_token}` } } : {}),
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    });
    // Any is the JSON a reply happens to hold; each test asserts on the fields it reads.
    return { status: res.statusCode, body: res.json() as any };
  };
  return {
    user: session?.user_id ?? '',
    device: session?.device_id ?? '',
    call,
    get: (path: string) => call('GET', path),
    put: (path: string, payload: unknown) => call('PUT', path, payload),
    post: (path: string, payload: unknown = {}) => call('POST', path, payload),
    delete: (path: string) => call('DELETE', path),
    async createRoom(body: Record<string, unknown> = {}): Promise<string> {
      const res = await call('POST', '/createRoom', body);
      if (res.status !== 200) throw new Error(`createRoom failed: ${JSON.stringify(res.body)}`);
      return res.body.room_id as string;
    },
    send: (roomId: string, body: string, txnId: string) =>
      call('PUT', `/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txnId}`, { msgtype: 'm.text', body }),
    /** GET /sync with the given query parameters (objects become inline JSON filters). */
    sync: (query: Record<string, string | number | boolean | object> = {}) => {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(query)) params.set(key, typeof value === 'object' ? JSON.stringify(value) : String(value));
      return call('GET', `/sync?${params}`);
    },
  };
}

export type TestClient = ReturnType<typeof testClient>;

export const roomPath = (roomId: string) => `/rooms/${encodeURIComponent(roomId)}`;

/** Polls until `check` returns a value (or `ms` pass): federation delivers in the background. */
export async function eventually<T>(check: () => Promise<T | undefined>, ms = 15_000): Promise<T | undefined> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined || Date.now() > until) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A user's membership in a room as the client reads it from the room's state; undefined when refused. */
export async function memberOf(client: TestClient, roomId: string, userId: string): Promise<string | undefined> {
  const res = await client.get(`${roomPath(roomId)}/state/m.room.member/${encodeURIComponent(userId)}`);
  return res.status === 200 ? (res.body.membership as string) : undefined;
}

/** The app with alice, bob and carol registered; the clock ticks on every read so rooms made back to back differ. */
export async function threeUsers(t: Test, db: Database) {
  let now = 1_700_000_000_000;
  const { app } = await appOn(t, db, { clock: { now: () => now++ } });
  const alice = testClient(app, await registerUser(app, 'alice'));
  const bob = testClient(app, await registerUser(app, 'bob'));
  const carol = testClient(app, await registerUser(app, 'carol'));
  return { app, alice, bob, carol, anonymous: testClient(app, null) };
}
