import type { Scheduler } from '../ephemeral/index.js';
import type { Logger } from '../platform/logger.js';
import type { FederationSender } from './sender.js';

/**
 * Which of several Hearth processes sharing a database sends federation traffic: the one holding the
 * sender role (a lock the database keeps for as long as the holder's connection lives; leader-lock.ts).
 * Every process tries for it at start and then every `checkEveryMs`; the holder checks it still has it
 * and stands down if not, so that two processes never send side by side for longer than one check.
 */

/** The storage side: src/storage/leader-lock.ts. */
export interface RoleLock {
  tryAcquire(): Promise<boolean>;
  held(): Promise<boolean>;
  release(): Promise<void>;
}

export interface SenderElectionDeps {
  readonly lock: RoleLock;
  readonly sender: Pick<FederationSender, 'start' | 'standDown'>;
  readonly scheduler: Scheduler;
  readonly log: Logger;
  /** What the role sends, for the log ("the federation traffic", "push notifications"). */
  readonly role?: string;
  /** Default 10 s: how soon a process takes over from one that died. */
  readonly checkEveryMs?: number;
}

export const SENDER_CHECK_EVERY_MS = 10_000;

export function electFederationSender(deps: SenderElectionDeps) {
  const { lock, sender, scheduler } = deps;
  const log = deps.log.child({ component: 'sender-election' });
  const every = deps.checkEveryMs ?? SENDER_CHECK_EVERY_MS;
  let leading = false;
  let stopped = false;
  let cancel: (() => void) | undefined;
  let running: Promise<void> | undefined;

  async function check(): Promise<void> {
    try {
      if (!leading) {
        if (await lock.tryAcquire()) {
          leading = true;
          log.info(`this process sends ${deps.role ?? 'the federation traffic'}`);
          await sender.start();
        }
      } else if (!(await lock.held())) {
        leading = false;
        log.warn(`lost the role of sending ${deps.role ?? 'the federation traffic'}; standing down`);
        await sender.standDown();
      }
    } catch (err) {
      log.error({ err }, 'federation sender election failed; trying again');
    }
  }

  function round(): void {
    if (stopped) return;
    running = check().finally(() => {
      running = undefined;
      if (!stopped) cancel = scheduler.after(every, round);
    });
  }

  round();

  return {
    /** Whether this process holds the sender role. */
    get leading(): boolean {
      return leading;
    },
    /** Resolves once the current check is over (tests). */
    async settled(): Promise<void> {
      while (running !== undefined) await running;
    },
    /** Stops trying, and gives the role up (after the sender was closed). */
    async stop(): Promise<void> {
      stopped = true;
      cancel?.();
      if (running !== undefined) await running;
      if (leading) {
        leading = false;
        await lock.release();
      }
    },
  };
}

export type SenderElection = ReturnType<typeof electFederationSender>;
