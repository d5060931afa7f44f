import type { Clock } from '../platform/clock.js';
import { MatrixError, type UserId } from '../protocol/index.js';
import type { PusherRecord, PusherStore } from './ports.js';

/**
 * Pushers (client-server API, "Push notifications"): where a user's devices want notifications sent.
 * This keeps them; src/push/sender.ts sends to the gateways of http pushers. Mailing is not built yet.
 */

/** The spec's limits: a pushkey of at most 512 bytes, an app id of at most 64 characters. */
export const MAX_PUSHKEY_BYTES = 512;
export const MAX_APP_ID_LENGTH = 64;
/** The spec: an http pusher's URL has this path (the push gateway API). */
export const PUSH_GATEWAY_PATH = '/_matrix/push/v1/notify';
/** The spec: an email pusher's app id. */
export const EMAIL_APP_ID = 'm.email';

/** POST /pushers/set's body in camelCase; kind null deletes the pusher. */
export interface PusherRequest {
  readonly kind: string | null;
  readonly appId: string;
  readonly pushkey: string;
  readonly appDisplayName?: string | undefined;
  readonly deviceDisplayName?: string | undefined;
  readonly profileTag?: string | undefined;
  readonly lang?: string | undefined;
  readonly data?: Readonly<Record<string, unknown>> | undefined;
  readonly append?: boolean | undefined;
}

export interface PusherDeps {
  readonly store: PusherStore;
  readonly clock: Clock;
  /**
   * Whose account an email address is bound to (a validated 3pid). Absent: this server binds no
   * addresses, so no email pusher can be set; mailing notifications to unverified addresses would make
   * the server a spam relay.
   */
  readonly emailOwner?: (address: string) => Promise<UserId | undefined>;
  /** Told when a pusher was set (the push sender stops believing that nobody has one). */
  readonly added?: () => void;
}

/** http pushers need an absolute http(s) URL to the push gateway's notify path (Synapse allows plain http too). */
function checkGatewayUrl(data: Readonly<Record<string, unknown>>): void {
  const url = data.url;
  if (typeof url !== 'string') throw new MatrixError('M_MISSING_PARAM', 'data.url is required for an http pusher');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MatrixError('M_INVALID_PARAM', 'data.url must be an absolute URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new MatrixError('M_INVALID_PARAM', 'data.url must be an https URL');
  }
  if (parsed.pathname !== PUSH_GATEWAY_PATH) {
    throw new MatrixError('M_INVALID_PARAM', `data.url must have the path ${PUSH_GATEWAY_PATH}`);
  }
}

export function createPusherService(deps: PusherDeps) {
  const { store, clock } = deps;

  async function checkEmail(userId: UserId, request: PusherRequest): Promise<void> {
    if (request.appId !== EMAIL_APP_ID) throw new MatrixError('M_INVALID_PARAM', `An email pusher's app_id is ${EMAIL_APP_ID}`);
    const owner = deps.emailOwner ? await deps.emailOwner(request.pushkey.toLowerCase()) : undefined;
    if (owner !== userId) {
      throw new MatrixError('M_THREEPID_NOT_FOUND', 'Email pushers need an address bound to your account; bind it first');
    }
  }

  return {
    /** GET /pushers. */
    list(userId: UserId): Promise<PusherRecord[]> {
      return store.pushers(userId);
    },

    /** POST /pushers/set: creates or updates the pusher for the caller's device, or deletes it (kind null). */
    async set(requester: { readonly userId: UserId; readonly deviceId: string }, request: PusherRequest): Promise<void> {
      const { userId } = requester;
      if (request.appId === '' || request.appId.length > MAX_APP_ID_LENGTH) {
        throw new MatrixError('M_INVALID_PARAM', `app_id must be 1 to ${MAX_APP_ID_LENGTH} characters`);
      }
      if (request.pushkey === '' || Buffer.byteLength(request.pushkey) > MAX_PUSHKEY_BYTES) {
        throw new MatrixError('M_INVALID_PARAM', `pushkey must be 1 to ${MAX_PUSHKEY_BYTES} bytes`);
      }
      // Deleting a pusher that is not there is no error: the client wanted it gone (Synapse answers {} too).
      if (request.kind === null) {
        await store.deletePusher(userId, request.appId, request.pushkey);
        return;
      }
      if (request.kind !== 'http' && request.kind !== 'email') {
        throw new MatrixError('M_INVALID_PARAM', 'kind must be "http", "email", or null to delete the pusher');
      }
      const { appDisplayName, deviceDisplayName, lang, data } = request;
      if (appDisplayName === undefined || deviceDisplayName === undefined || lang === undefined || data === undefined) {
        const missing = Object.entries({ app_display_name: appDisplayName, device_display_name: deviceDisplayName, lang, data })
          .filter(([, value]) => value === undefined)
          .map(([name]) => name);
        throw new MatrixError('M_MISSING_PARAM', `Missing parameters: ${missing.join(', ')}`);
      }
      if (request.kind === 'http') checkGatewayUrl(data);
      else await checkEmail(userId, request);
      await store.setPusher(
        {
          userId,
          deviceId: requester.deviceId,
          kind: request.kind,
          appId: request.appId,
          pushkey: request.pushkey,
          appDisplayName,
          deviceDisplayName,
          profileTag: request.profileTag ?? null,
          lang,
          data,
          createdTs: clock.now(),
        },
        request.append ?? false,
      );
      deps.added?.();
    },
  };
}

export type PusherService = ReturnType<typeof createPusherService>;
