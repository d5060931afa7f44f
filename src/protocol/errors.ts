/**
 * The one error type every caller of Hearth sees, and the one table that turns an errcode into an
 * HTTP status. Handlers throw `new MatrixError('M_FORBIDDEN', 'You are not invited to this room')`
 * and never choose a status themselves.
 */

/** Every errcode Hearth emits, with the status the spec (or Synapse, where the spec is silent) gives it. */
export const ERRCODE_STATUS = {
  M_FORBIDDEN: 403,
  M_UNKNOWN_TOKEN: 401,
  M_MISSING_TOKEN: 401,
  M_USER_LOCKED: 401,
  M_USER_SUSPENDED: 403,
  M_BAD_JSON: 400,
  M_NOT_JSON: 400,
  M_NOT_FOUND: 404,
  M_LIMIT_EXCEEDED: 429,
  M_UNRECOGNIZED: 404,
  M_UNKNOWN: 400,
  M_UNAUTHORIZED: 401,
  M_USER_DEACTIVATED: 403,
  M_USER_IN_USE: 400,
  M_INVALID_USERNAME: 400,
  M_ROOM_IN_USE: 400,
  M_INVALID_ROOM_STATE: 400,
  M_THREEPID_IN_USE: 400,
  M_THREEPID_NOT_FOUND: 400,
  M_THREEPID_AUTH_FAILED: 401,
  M_THREEPID_DENIED: 403,
  M_THREEPID_MEDIUM_NOT_SUPPORTED: 400,
  M_SERVER_NOT_TRUSTED: 400,
  M_UNSUPPORTED_ROOM_VERSION: 400,
  M_INCOMPATIBLE_ROOM_VERSION: 400,
  M_BAD_STATE: 400,
  M_GUEST_ACCESS_FORBIDDEN: 403,
  M_INVITE_BLOCKED: 403,
  M_CAPTCHA_NEEDED: 401,
  M_CAPTCHA_INVALID: 400,
  M_MISSING_PARAM: 400,
  M_INVALID_PARAM: 400,
  M_TOO_LARGE: 413,
  M_EXCLUSIVE: 400,
  M_RESOURCE_LIMIT_EXCEEDED: 403,
  M_CANNOT_LEAVE_SERVER_NOTICE_ROOM: 403,
  M_THREEPID_NOT_ALLOWED: 403,
  M_WEAK_PASSWORD: 400,
  M_BAD_ALIAS: 400,
  M_DUPLICATE_ANNOTATION: 400,
  M_NOT_YET_UPLOADED: 504,
  M_CANNOT_OVERWRITE_MEDIA: 409,
  M_UNKNOWN_POS: 400,
  M_WRONG_ROOM_KEYS_VERSION: 403,
  M_UNABLE_TO_AUTHORISE_JOIN: 400,
  M_UNABLE_TO_GRANT_JOIN: 400,
  M_INVALID_SIGNATURE: 400,
  M_CONSENT_NOT_GIVEN: 403,
  M_USER_AWAITING_APPROVAL: 403,
  // Application services: a device_id that is not the user's; /login with m.login.application_service
  // where the legacy login API is off; the ping endpoint's failures (no URL, the service answered an
  // error, could not be reached, did not answer in time).
  M_UNKNOWN_DEVICE: 400,
  M_APPSERVICE_LOGIN_UNSUPPORTED: 400,
  M_URL_NOT_SET: 400,
  M_BAD_STATUS: 502,
  M_CONNECTION_FAILED: 502,
  M_CONNECTION_TIMEOUT: 504,
} as const satisfies Record<string, number>;

export type Errcode = keyof typeof ERRCODE_STATUS;

/**
 * A few errcodes legitimately take another status in one situation the spec names: M_UNRECOGNIZED
 * is 405 for a known path with the wrong method, M_UNKNOWN is 500 for a fault of ours. Only those
 * pairs are allowed, so a handler cannot invent a status.
 */
const ALTERNATE_STATUS: Partial<Record<Errcode, readonly number[]>> = {
  M_UNRECOGNIZED: [405, 400],
  // 409: PUT /directory/room/{roomAlias} of an alias that exists, as the spec gives it.
  // 400: content the media repository cannot thumbnail, as the spec's thumbnail endpoints give it.
  M_UNKNOWN: [500, 502, 503, 504, 409, 400],
  M_NOT_FOUND: [400],
  // 400: a 3pid session that is unknown or not validated yet, as Synapse answers POST /account/3pid/add.
  M_THREEPID_AUTH_FAILED: [400],
  // PUT account data of a type the server manages (m.fully_read, m.push_rules): the spec's 405.
  M_BAD_JSON: [405],
  // 502: another server's media too large to fetch or thumbnail, as the spec's media endpoints give it.
  M_TOO_LARGE: [400, 502],
  // A federation X-Matrix header that cannot be read at all (Synapse's 400); one that reads but fails is 401.
  M_UNAUTHORIZED: [400],
};

export interface MatrixErrorOptions {
  /** Only for the pairs in ALTERNATE_STATUS. */
  readonly status?: number;
  /** Extra top-level fields of the error body (retry_after_ms, soft_logout, room_version ...). */
  readonly extra?: Readonly<Record<string, unknown>>;
  /** Headers the reply must carry (Retry-After, Allow ...). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly cause?: unknown;
}

export class MatrixError extends Error {
  readonly errcode: Errcode;
  readonly status: number;
  readonly extra: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;

  constructor(errcode: Errcode, message: string, options: MatrixErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MatrixError';
    this.errcode = errcode;
    this.status = statusFor(errcode, options.status);
    this.extra = options.extra ?? {};
    this.headers = options.headers ?? {};
  }

  /** The JSON body the spec prescribes: `{ errcode, error, ...extra }`. */
  toJSON(): Record<string, unknown> {
    return { ...this.extra, errcode: this.errcode, error: this.message };
  }
}

function statusFor(errcode: Errcode, requested: number | undefined): number {
  const status = ERRCODE_STATUS[errcode];
  if (requested === undefined || requested === status) return status;
  if (ALTERNATE_STATUS[errcode]?.includes(requested)) return requested;
  throw new TypeError(`${errcode} cannot be answered with HTTP ${requested}`);
}

/** Whether `code` is one of the errcodes Hearth itself emits (a key of ERRCODE_STATUS). */
export function isErrcode(code: string): code is Errcode {
  return Object.hasOwn(ERRCODE_STATUS, code);
}

/**
 * Another homeserver's refusal, passed on to our client as that server gave it (Synapse does so when the
 * servers asked for a join template all refuse). Its errcode may be one Hearth never emits, and its status
 * is the remote's own, so neither comes from the table. Only a client error is relayed, and not 401, which
 * a client would read as its own access token being refused.
 */
export class RelayedMatrixError extends MatrixError {
  /** The errcode as the remote sent it; `errcode` is the same when Hearth knows it, else M_UNKNOWN. */
  readonly remoteErrcode: string;
  override readonly status: number;

  constructor(remoteErrcode: string, message: string, status: number, options: Omit<MatrixErrorOptions, 'status'> = {}) {
    if (!Number.isInteger(status) || status < 400 || status > 499 || status === 401) {
      throw new TypeError(`HTTP ${status} is not a remote client error that can be relayed`);
    }
    super(isErrcode(remoteErrcode) ? remoteErrcode : 'M_UNKNOWN', message, options);
    this.name = 'RelayedMatrixError';
    this.remoteErrcode = remoteErrcode;
    this.status = status;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), errcode: this.remoteErrcode };
  }
}

export function isMatrixError(value: unknown): value is MatrixError {
  return value instanceof MatrixError;
}

/** What a user-interactive-auth 401 tells the client (client-server API, "User-Interactive Authentication"). */
export interface AuthFlowsBody {
  readonly flows: ReadonlyArray<{ readonly stages: readonly string[] }>;
  readonly params: Readonly<Record<string, unknown>>;
  readonly session: string;
  readonly completed?: readonly string[];
}

/**
 * The 401 of user-interactive auth: more stages are needed. Its body is the flows object, with no errcode
 * unless a stage attempt failed (clients show an errcode to the user as a failure, so a plain "auth
 * needed" must not carry one).
 */
export class AuthRequiredError extends MatrixError {
  readonly flows: AuthFlowsBody;
  readonly stageError: { readonly errcode: Errcode; readonly message: string } | undefined;

  constructor(flows: AuthFlowsBody, stageError?: { errcode: Errcode; message: string }) {
    super('M_UNAUTHORIZED', stageError?.message ?? 'Additional authentication is required');
    this.flows = flows;
    this.stageError = stageError;
  }

  override toJSON(): Record<string, unknown> {
    const body: Record<string, unknown> = { ...this.flows };
    if (this.stageError) Object.assign(body, { errcode: this.stageError.errcode, error: this.stageError.message });
    return body;
  }
}
