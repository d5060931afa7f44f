import { Agent, fetch as undiciFetch } from 'undici';
import { LoggerLevel, Tracing } from '@matrix-org/matrix-sdk-crypto-wasm';
import { CryptoEvent } from 'matrix-js-sdk/lib/crypto-api/index.js';
import { testCertificate } from '../federation/helpers.js';
import { quietLogger, sdk } from './matrix-sdk.js';

/**
 * matrix-js-sdk devices with Rust crypto for end-to-end tests: log in, start the crypto in memory, sync;
 * and wait on a client's events for a condition.
 */

const WAIT_MS = 20_000;
/** A backstop for state that changes without a client event (the server's backup count, a query result). */
const POLL_MS = 200;

/** Client events after which a probe is worth running again. */
const WAKE_EVENTS = [
  sdk.ClientEvent.Sync,
  sdk.RoomEvent.Timeline,
  sdk.RoomMemberEvent.Membership,
  sdk.MatrixEventEvent.Decrypted,
  CryptoEvent.DevicesUpdated,
  CryptoEvent.UserTrustStatusChanged,
  CryptoEvent.KeysChanged,
  CryptoEvent.KeyBackupSessionsRemaining,
] as const;

/**
 * Resolves with the first value `probe` returns that is not undefined, checking on every client event
 * (and every POLL_MS; an event during a check runs it again after); fails after `ms` naming what it
 * waited for.
 */
export function until<T>(client: sdk.MatrixClient, what: string, probe: () => T | undefined | Promise<T | undefined>, ms = WAIT_MS): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    let running = false;
    let again = false;
    const check = async () => {
      if (done) return;
      if (running) {
        again = true;
        return;
      }
      running = true;
      try {
        do {
          again = false;
          const value = await probe();
          if (value !== undefined && !done) {
            cleanup();
            resolve(value);
            return;
          }
        } while (again && !done);
      } catch (err) {
        cleanup();
        reject(err as Error);
      } finally {
        running = false;
      }
    };
    const onEvent = () => void check();
    const poll = setInterval(onEvent, POLL_MS);
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    const cleanup = () => {
      done = true;
      clearTimeout(timer);
      clearInterval(poll);
      for (const event of WAKE_EVENTS) client.off(event as sdk.ClientEvent, onEvent);
    };
    for (const event of WAKE_EVENTS) client.on(event as sdk.ClientEvent, onEvent);
    onEvent();
  });
}

/**
 * fetch that trusts the test certificate the federation pair serves. `close` drops its connections: one opened
 * for a request the client then aborted is never used nor closed, and would hold the server's shutdown.
 */
export function testCertFetch(): { fetch: typeof fetch; close(): Promise<void> } {
  const dispatcher = new Agent({ connect: { ca: testCertificate().cert } });
  const fetchFn = (input: string | URL | Request, init?: RequestInit) =>
    undiciFetch(input as Parameters<typeof undiciFetch>[0], { ...(init as Parameters<typeof undiciFetch>[1]), dispatcher });
  return { fetch: fetchFn as unknown as typeof fetch, close: () => dispatcher.destroy() };
}

/**
 * initRustCrypto turns the Rust SDK's debug tracing on, onto the console, every time it runs (and logs
 * through it while it sets up): console.debug is held for that while, and the tracing turned off after.
 */
export async function quietly(init: () => Promise<void>): Promise<void> {
  const debug = console.debug;
  console.debug = () => undefined;
  try {
    await init();
  } finally {
    console.debug = debug;
    new Tracing(LoggerLevel.Error).turnOff();
  }
}

/**
 * Registers (UIA with m.login.dummy), or with `existingAccount` logs in to the account as a new device;
 * starts Rust crypto in memory and syncs until the first sync is done.
 */
export async function newSdkDevice(
  baseUrl: string,
  username: string,
  password: string,
  fetchFn: typeof fetch,
  { existingAccount = false }: { readonly existingAccount?: boolean } = {},
): Promise<sdk.MatrixClient> {
  const anonymous = sdk.createClient({ baseUrl, logger: quietLogger, fetchFn });
  const register = (session?: string) =>
    anonymous.registerRequest({ username, password, auth: { type: 'm.login.dummy', ...(session ? { session } : {}) } });
  const registered = existingAccount
    ? await anonymous.loginRequest({ type: 'm.login.password', identifier: { type: 'm.id.user', user: username }, password })
    : await register().catch((err: sdk.MatrixError) => {
        const session = err.data?.session as string | undefined;
        if (!session) throw err;
        return register(session);
      });
  const client = sdk.createClient({
    baseUrl,
    logger: quietLogger,
    fetchFn,
    userId: registered.user_id,
    accessToken: registered.access_token!,
    deviceId: registered.device_id!,
  });
  await quietly(() => client.initRustCrypto({ useIndexedDB: false }));
  await client.startClient({ initialSyncLimit: 20 });
  await until(client, `${username}'s first sync`, () => (client.isInitialSyncComplete() ? true : undefined));
  return client;
}

/** The decrypted m.room.message with this body in the room's live timeline, once the client has it. */
export function eventWithBody(client: sdk.MatrixClient, roomId: string, body: string): sdk.MatrixEvent | undefined {
  return client.getRoom(roomId)?.getLiveTimeline().getEvents().find((event) => event.getType() === 'm.room.message' && event.getContent().body === body);
}
