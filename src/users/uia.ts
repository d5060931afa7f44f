import type { Clock, Random } from '../platform/clock.js';
import { AuthRequiredError, MatrixError } from '../protocol/index.js';
import type { UiaStore } from './ports.js';

/**
 * User-interactive authentication: an operation offers flows (lists of stages); the client completes the
 * stages of one flow in order, each in a retry of the same request carrying `auth`, until a flow is done.
 * Only stages that need nothing but the request itself are known so far (m.login.dummy).
 */

/** The `auth` dict of a request: `type` and `session`, plus whatever the stage needs. */
export interface AuthDict {
  readonly type?: string | undefined;
  readonly session?: string | undefined;
  readonly [key: string]: unknown;
}

export type Flow = readonly string[];

/** Sessions outlive a slow human (an email to confirm) but not forever; Synapse keeps them two days. */
export const UIA_SESSION_LIFETIME_MS = 48 * 60 * 60 * 1000;

export interface UiaDeps {
  readonly store: UiaStore;
  readonly clock: Clock;
  readonly random: Random;
}

export function createUia(deps: UiaDeps) {
  const { store, clock, random } = deps;

  async function startSession(operation: string): Promise<string> {
    const now = clock.now();
    await store.deleteUiaSessionsBefore(now - UIA_SESSION_LIFETIME_MS);
    const sessionId = random.token(18);
    await store.createUiaSession({ sessionId, operation, completed: [], createdTs: now });
    return sessionId;
  }

  /** Whether `stages` (completed, in order) is a flow's prefix; 'done' when it is a whole flow. */
  function progress(flows: readonly Flow[], stages: readonly string[]): 'done' | 'partial' | 'off-flow' {
    let partial = false;
    for (const flow of flows) {
      if (!stages.every((stage, i) => flow[i] === stage)) continue;
      if (flow.length === stages.length) return 'done';
      partial = true;
    }
    return partial ? 'partial' : 'off-flow';
  }

  return {
    /**
     * Returns when `auth` completes a flow for `operation`; otherwise throws the 401 that tells the client
     * what to do next. `operation` names the method and endpoint: a session started for one operation
     * cannot authorise another.
     */
    async check(operation: string, flows: readonly Flow[], auth: AuthDict | undefined): Promise<void> {
      const required = (sessionId: string, completed: readonly string[], stageError?: { errcode: 'M_UNRECOGNIZED' | 'M_FORBIDDEN'; message: string }) =>
        new AuthRequiredError(
          {
            flows: flows.map((stages) => ({ stages: [...stages] })),
            params: {},
            session: sessionId,
            ...(completed.length > 0 ? { completed: [...completed] } : {}),
          },
          stageError,
        );

      if (auth === undefined) throw required(await startSession(operation), []);

      // A client may skip the first bare request and start with a stage; it gets a session then (as Synapse).
      let sessionId = auth.session;
      let completed: readonly string[] = [];
      if (sessionId === undefined) {
        sessionId = await startSession(operation);
      } else {
        const session = await store.uiaSession(sessionId);
        if (session === undefined || session.createdTs < clock.now() - UIA_SESSION_LIFETIME_MS) {
          throw new MatrixError('M_UNKNOWN', 'Unknown or expired session; start again without a session');
        }
        if (session.operation !== operation) {
          throw new MatrixError('M_FORBIDDEN', 'This session was started for another request; start again without a session');
        }
        completed = session.completed;
      }

      if (auth.type !== undefined && progress(flows, completed) !== 'done') {
        const next = [...completed, auth.type];
        if (!STAGES.has(auth.type)) {
          throw required(sessionId, completed, { errcode: 'M_UNRECOGNIZED', message: `Unknown auth type ${auth.type}` });
        }
        // Stages outside the flows, or out of order, are refused with the flows again (the spec's 401).
        if (progress(flows, next) === 'off-flow') throw required(sessionId, completed);
        await store.setUiaCompleted(sessionId, next);
        completed = next;
      }
      if (progress(flows, completed) !== 'done') throw required(sessionId, completed);
    },
  };
}

/** The stages this server can check. m.login.dummy asks for nothing. */
const STAGES = new Set(['m.login.dummy']);

export type Uia = ReturnType<typeof createUia>;
