import type { Test } from 'tap';
import type { Database } from '../../src/storage/index.js';
import { appOn, registerUser } from './app.js';
import { testClient } from './client.js';

export const client = testClient;

export type Client = ReturnType<typeof client>;

export const enc = encodeURIComponent;

/** The app with three registered users; the clock ticks on every read so rooms made back to back differ. */
export async function threeUsers(t: Test, db: Database) {
  let now = 1_700_000_000_000;
  const { app } = await appOn(t, db, { clock: { now: () => now++ } });
  const alice = client(app, await registerUser(app, 'alice'));
  const bob = client(app, await registerUser(app, 'bob'));
  const carol = client(app, await registerUser(app, 'carol'));
  return { app, alice, bob, carol, anonymous: client(app, null) };
}
