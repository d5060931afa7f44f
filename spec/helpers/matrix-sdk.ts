import * as sdk from 'matrix-js-sdk';
import { logger as sdkGlobalLogger, type Logger } from 'matrix-js-sdk/lib/logger.js';

/**
 * matrix-js-sdk for end-to-end tests: quiet, and not holding the test process open.
 *
 * matrix-js-sdk 37 arms a timer for every request's local timeout (http-api/utils.ts timeoutSignal: 80 s
 * and more for /sync) and never clears it, so a test file that is done would wait up to two minutes for
 * them and then hit tap's timeout. Timers of a minute or more are unreferenced here: they still fire if
 * the process lives that long, they just do not keep it alive. Nothing else in a test process sets timers
 * that long.
 */
const LONG_TIMER_MS = 60_000;
const originalSetTimeout = globalThis.setTimeout;
globalThis.setTimeout = ((handler: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
  const timer = originalSetTimeout(handler, ms, ...args);
  if (ms !== undefined && ms >= LONG_TIMER_MS) timer.unref();
  return timer;
}) as typeof setTimeout;

// Parts of the SDK log through its global logger (loglevel underneath, whose setLevel its type hides).
(sdkGlobalLogger as unknown as { setLevel(level: 'silent'): void }).setLevel('silent');

/** The SDK logs every request; tests read what they assert instead. */
export const quietLogger: Logger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, getChild: () => quietLogger };

// The SDK's child loggers (room encryption, MatrixRTC) are made at DEBUG level whatever the global
// logger's level is (matrix-js-sdk logger.ts getPrefixedLogger): they get the quiet logger instead.
(sdkGlobalLogger as { getChild(namespace: string): Logger }).getChild = () => quietLogger;

export { sdk };

/** Registers through the SDK: the first request opens the user-interactive session, the second completes it with m.login.dummy. */
export async function registerWithSdk(baseUrl: string, username: string, password: string): Promise<void> {
  const client = sdk.createClient({ baseUrl, logger: quietLogger });
  try {
    await client.registerRequest({ username, password, auth: { type: 'm.login.dummy' } });
  } catch (err) {
    const session = (err as sdk.MatrixError).data?.session as string | undefined;
    if (!session) throw err;
    await client.registerRequest({ username, password, auth: { type: 'm.login.dummy', session } });
  }
}

/**
 * The clients a test started, to stop before the server goes: a client left syncing against a stopped
 * server retries on timers that keep the test process alive. (tap runs teardowns first-registered first:
 * register stopAll after the server's.)
 */
export function clientRegistry() {
  const running = new Set<sdk.MatrixClient>();
  return {
    add<C extends sdk.MatrixClient>(client: C): C {
      running.add(client);
      return client;
    },
    stopAll(): void {
      for (const client of running) client.stopClient();
      running.clear();
    },
  };
}
