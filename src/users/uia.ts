import type { Clock, Random } from '../platform/clock.js';
import { AuthRequiredError, MatrixError, type Errcode } from '../protocol/index.js';
import type { UiaStore } from './ports.js';

/**
 * User-interactive authentication: an operation offers flows (lists of stages); the client completes the
 * stages of one flow in order, each in a retry of the same request carrying `auth`, until a flow is done.
 * m.login.dummy is built in; an operation brings the checkers of its other stages (m.login.password
 * knows whose password to check only per request).
 */

/** The `auth` dict of a request: `type` and `session`, plus whatever the stage needs. */
export interface AuthDict {
  readonly type?: string | undefined;
  readonly session?: string | undefined;
  readonly [key: string]: unknown;
}

export type Flow = readonly string[];

/**
 * Checks one stage's part of `auth`; throws a MatrixError (M_FORBIDDEN for a wrong password ...) that the
 * client sees in the 401 together with the flows, so it can retry the stage.
 */
export interface StageCheck {
  (auth: AuthDict, sessionId: string): Promise<void>;
  /** The user whose credentials the stage checks (m.login.password), kept with the session for its fallback page. */
  readonly subject?: string;
  /** What a client needs to do the stage (m.login.recaptcha's public key): the 401's `params` for it. */
  readonly params?: Readonly<Record<string, unknown>>;
}
export type StageChecks = Readonly<Record<string, StageCheck>>;

/**
 * Thrown by a stage when retrying cannot help (the password proves someone other than the caller): the
 * client gets this error as it is (403), not the 401 inviting another attempt. Synapse answers so too.
 */
export class UiaRefusal extends MatrixError {}

/** What a session remembers for its operation between requests. */
export interface UiaSessionData {
  readonly params: Readonly<Record<string, unknown>> | null;
  readonly result: string | null;
}

/** Sessions outlive a slow human (an email to confirm) but not forever; Synapse keeps them two days. */
export const UIA_SESSION_LIFETIME_MS = 48 * 60 * 60 * 1000;

export interface UiaDeps {
  readonly store: UiaStore;
  readonly clock: Clock;
  readonly random: Random;
  /**
   * Whether the user signs in with single sign-on: where an operation asks for their password, they may
   * confirm at their provider instead (m.login.sso, through its fallback page). Absent: no single sign-on.
   */
  readonly signsInWithSso?: (userId: string) => Promise<boolean>;
}

/** The stage of confirming at a single sign-on provider; done only through its fallback page. */
export const SSO_STAGE = 'm.login.sso';

const ssoOnlyByFallback: StageCheck = async () => {
  throw new MatrixError('M_UNRECOGNIZED', `${SSO_STAGE} is completed on its fallback page (/_matrix/client/v3/auth/${SSO_STAGE}/fallback/web), then the request is retried with the session alone`);
};

export function createUia(deps: UiaDeps) {
  const { store, clock, random } = deps;

  async function startSession(operation: string, params: Readonly<Record<string, unknown>> | undefined, flows: readonly Flow[], stages: StageChecks): Promise<string> {
    const now = clock.now();
    await store.deleteUiaSessionsBefore(now - UIA_SESSION_LIFETIME_MS);
    const sessionId = random.token(18);
    const subject = Object.values(stages).find((check) => check.subject !== undefined)?.subject ?? null;
    await store.createUiaSession({ sessionId, operation, completed: [], createdTs: now, params: params ?? null, flows, subject });
    return sessionId;
  }

  /** The live session of `operation`, or the error a client gets for a session id it cannot use. */
  async function liveSession(sessionId: string, operation: string) {
    const session = await store.uiaSession(sessionId);
    if (session === undefined || session.createdTs < clock.now() - UIA_SESSION_LIFETIME_MS) {
      throw new MatrixError('M_UNKNOWN', 'Unknown or expired session; start again without a session');
    }
    if (session.operation !== operation) {
      throw new MatrixError('M_FORBIDDEN', 'This session was started for another request; start again without a session');
    }
    if (session.refused != null) throw new UiaRefusal('M_FORBIDDEN', session.refused);
    return session;
  }

  /** The session a fallback page completes a stage of, with its flows; M_UNKNOWN when it is gone. */
  async function fallbackSession(sessionId: string) {
    const session = await store.uiaSession(sessionId);
    if (session === undefined || session.createdTs < clock.now() - UIA_SESSION_LIFETIME_MS || !session.flows) {
      throw new MatrixError('M_UNKNOWN', 'Unknown or expired session; start again from the app');
    }
    return { flows: session.flows, completed: session.completed, subject: session.subject ?? null };
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
     * Returns (the session id) when `auth` completes a flow for `operation`; otherwise throws the 401 that
     * tells the client what to do next. `operation` names the method and endpoint: a session started for one operation
     * cannot authorise another. `params`, when given, are remembered with the session (replacing earlier
     * ones), so a later request of the session may carry only `auth`; read them back with sessionData().
     */
    async check(
      operation: string,
      operationFlows: readonly Flow[],
      auth: AuthDict | undefined,
      operationStages: StageChecks = {},
      params?: Readonly<Record<string, unknown>>,
    ): Promise<string> {
      // A user of single sign-on may confirm at their provider wherever their password is asked for.
      const subject = operationStages['m.login.password']?.subject;
      const sso = subject !== undefined && deps.signsInWithSso !== undefined && (await deps.signsInWithSso(subject));
      const flows = sso
        ? [...operationFlows, ...operationFlows.filter((flow) => flow.includes('m.login.password')).map((flow) => flow.map((stage) => (stage === 'm.login.password' ? SSO_STAGE : stage)))]
        : operationFlows;
      const stages = sso ? { ...operationStages, [SSO_STAGE]: ssoOnlyByFallback } : operationStages;
      const stageParams = Object.fromEntries(
        Object.entries(stages).flatMap(([type, check]) => (check.params !== undefined && flows.some((flow) => flow.includes(type)) ? [[type, check.params]] : [])),
      );
      // `completed` is always there, empty too: clients and sytest read it on every 401 (Synapse sends it so).
      const required = (sessionId: string, completed: readonly string[], stageError?: { errcode: Errcode; message: string }) =>
        new AuthRequiredError(
          { flows: flows.map((stages) => ({ stages: [...stages] })), params: stageParams, session: sessionId, completed: [...completed] },
          stageError,
        );

      if (auth === undefined) throw required(await startSession(operation, params, flows, stages), []);

      // A client may skip the first bare request and start with a stage; it gets a session then (as Synapse).
      let sessionId = auth.session;
      let completed: readonly string[] = [];
      if (sessionId === undefined) {
        sessionId = await startSession(operation, params, flows, stages);
      } else {
        completed = (await liveSession(sessionId, operation)).completed;
        if (params !== undefined) await store.setUiaParams(sessionId, params);
      }

      if (auth.type !== undefined && progress(flows, completed) !== 'done') {
        const next = [...completed, auth.type];
        const stageCheck = auth.type === 'm.login.dummy' ? undefined : stages[auth.type];
        if (auth.type !== 'm.login.dummy' && stageCheck === undefined) {
          throw required(sessionId, completed, { errcode: 'M_UNRECOGNIZED', message: `Unknown auth type ${auth.type}` });
        }
        // Stages outside the flows, or out of order, are refused with the flows again (the spec's 401).
        if (progress(flows, next) === 'off-flow') throw required(sessionId, completed);
        if (stageCheck !== undefined) {
          try {
            await stageCheck(auth, sessionId);
          } catch (err) {
            if (!(err instanceof MatrixError) || err instanceof AuthRequiredError || err instanceof UiaRefusal) throw err;
            throw required(sessionId, completed, { errcode: err.errcode, message: err.message });
          }
        }
        await store.setUiaCompleted(sessionId, next);
        completed = next;
      }
      if (progress(flows, completed) !== 'done') throw required(sessionId, completed);
      return sessionId;
    },

    /**
     * What the session of `operation` remembers: the parameters given with it and the operation's result.
     * undefined without a session; M_UNKNOWN / M_FORBIDDEN for a session that is gone or another operation's.
     */
    async sessionData(operation: string, sessionId: string | undefined): Promise<UiaSessionData | undefined> {
      if (sessionId === undefined) return undefined;
      const session = await liveSession(sessionId, operation);
      return { params: session.params ?? null, result: session.result ?? null };
    },

    /** A session as the fallback pages see it: its flows, the stages done, whose password it asks for. */
    session: fallbackSession,

    /**
     * Completes `stage` of the session outside its operation's requests (the fallback pages): the stage
     * must be the next of one of the session's flows, and `check` proves it. The client then retries its
     * request with the session alone.
     */
    async completeStage(sessionId: string, stage: string, check: StageCheck | undefined, auth: AuthDict): Promise<void> {
      const { flows, completed } = await fallbackSession(sessionId);
      if (progress(flows, completed) === 'done') return;
      const next = [...completed, stage];
      if (progress(flows, next) === 'off-flow') throw new MatrixError('M_FORBIDDEN', `${stage} is not the next step of this session`);
      if (check !== undefined) await check({ ...auth, type: stage, session: sessionId }, sessionId);
      await store.setUiaCompleted(sessionId, next);
    },

    /**
     * Refuses the session's operation for good (403 with `reason` on its next request): a stage was done on
     * a fallback page as someone other than the session's user, which may be someone else at the controls.
     */
    async refuse(sessionId: string, reason: string): Promise<void> {
      await fallbackSession(sessionId);
      await store.refuseUiaSession(sessionId, reason);
    },

    /** Records what the completed operation produced, for a repeat of the same session to answer the same. */
    async setResult(sessionId: string, result: string): Promise<void> {
      await store.setUiaResult(sessionId, result);
    },

    /**
     * Ends a completed session so that it cannot authorise the operation again, for operations the spec
     * wants confirmed every time (POST /login/get_token). Of two requests racing with one session, one wins.
     */
    async take(sessionId: string): Promise<void> {
      if (!(await store.takeUiaSession(sessionId))) {
        throw new MatrixError('M_FORBIDDEN', 'This session has been used already; start again without a session');
      }
    },
  };
}

export type Uia = ReturnType<typeof createUia>;
