import type { FastifyInstance } from 'fastify';
import { ROOM_VERSIONS } from '../../events/index.js';
import { getCapabilities } from '../../protocol/endpoints/capabilities.js';
import { PROFILE_KEYS } from '../../users/index.js';
import { route } from '../plumbing/route.js';

export interface CapabilitiesOptions {
  /** The version new rooms get when the client names none. */
  readonly defaultRoomVersion: string;
  /** POST /login/get_token is on (login_via_existing_session). */
  readonly getLoginToken?: boolean;
  /** Email addresses can be added to accounts (a mail relay is configured). */
  readonly threepidChanges?: boolean;
  /** Whether the caller is a server admin, who may lock and suspend accounts (m.account_moderation). */
  readonly isServerAdmin?: (userId: string) => Promise<boolean>;
}

/**
 * GET /capabilities, from what the services support: password change (POST /account/password); adding
 * email addresses where mail is configured; login tokens where they are on; every room version Hearth
 * implements; the profile keys the profile service keeps. A suspended account is told it cannot change its
 * profile; a server admin, that it may lock and suspend accounts.
 */
export function capabilitiesRoutes(options: CapabilitiesOptions) {
  const available = Object.fromEntries([...ROOM_VERSIONS.values()].map((rules) => [rules.id, rules.disposition]));
  const capabilities = {
    'm.change_password': { enabled: true },
    'm.room_versions': { default: options.defaultRoomVersion, available },
    'm.set_displayname': { enabled: true },
    'm.set_avatar_url': { enabled: true },
    'm.3pid_changes': { enabled: options.threepidChanges === true },
    'm.get_login_token': { enabled: options.getLoginToken === true },
    'm.profile_fields': { enabled: true, allowed: [...PROFILE_KEYS] },
  };
  return async (app: FastifyInstance): Promise<void> => {
    const suspendedProfile = {
      'm.set_displayname': { enabled: false },
      'm.set_avatar_url': { enabled: false },
      'm.profile_fields': { enabled: false },
    };
    const moderation = { 'm.account_moderation': { suspend: true, lock: true } };
    route(app, getCapabilities, async ({ requester }) => ({
      capabilities: {
        ...capabilities,
        ...(requester.suspended ? suspendedProfile : {}),
        ...((await options.isServerAdmin?.(requester.userId)) ? moderation : {}),
      },
    }));
  };
}
