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
}

/**
 * GET /capabilities, from what the services support: password change (POST /account/password); adding
 * email addresses where mail is configured; login tokens where they are on; every room version Hearth
 * implements; the profile keys the profile service keeps.
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
    route(app, getCapabilities, () => ({ capabilities }));
  };
}
