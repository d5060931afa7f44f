import type { FastifyInstance } from 'fastify';
import { getWhoIs } from '../../protocol/endpoints/admin.js';
import type { DeviceRecord, WhoisService } from '../../users/index.js';
import { route } from '../plumbing/route.js';

/**
 * Hearth keeps one last-seen record per device, so each device has one session with at most one
 * connection: the latest request with an access token. A device not used since it logged in (its
 * last-seen time is the login's, with no address) has an empty connection list, as in Synapse.
 */
function deviceJson(device: DeviceRecord) {
  const connections = device.lastSeenTs === null || device.lastSeenIp === null
    ? []
    // Synapse sends user_agent even when the client sent none; sytest checks that it is there.
    : [{ ip: device.lastSeenIp, last_seen: device.lastSeenTs, user_agent: device.lastSeenUserAgent ?? '' }];
  return { sessions: [{ connections }] };
}

/** GET /admin/whois/{userId}: unpack, ask the whois service, shape. */
export function whoisRoutes(whois: WhoisService) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, getWhoIs, async ({ requester, params }) => {
      const found = await whois.whois(requester, params.userId);
      return { user_id: found.userId, devices: Object.fromEntries(found.devices.map((device) => [device.deviceId, deviceJson(device)])) };
    });
  };
}
