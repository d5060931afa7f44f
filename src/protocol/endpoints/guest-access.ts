import type { Endpoint } from '../endpoint.js';

/**
 * The endpoints guest accounts may call (client-server API, "Guest Access"): reading and sending in rooms,
 * syncing, media, their own devices and display name, and end-to-end encryption keys. Every other endpoint
 * that takes an access token answers a guest's with M_GUEST_ACCESS_FORBIDDEN.
 *
 * Kept as the spec's own list (method and path, parameter names left out) rather than a flag on each
 * contract, so that it reads against the spec line by line and a new contract is closed to guests until
 * someone adds it here.
 */
const GUEST_ENDPOINTS: ReadonlySet<string> = new Set([
  // Retrieving events and media.
  'GET /rooms/{}/state',
  'GET /rooms/{}/context/{}',
  'GET /rooms/{}/event/{}',
  'GET /rooms/{}/state/{}/{}',
  'GET /rooms/{}/state/{}',
  'GET /rooms/{}/messages',
  'GET /rooms/{}/members',
  'GET /rooms/{}/initialSync',
  'GET /sync',
  'GET /events',
  'GET /media/download/{}/{}',
  'GET /media/download/{}/{}/{}',
  'GET /media/thumbnail/{}/{}',
  // Sending events. Synapse also lets guests join by alias, which clients use for room links.
  'POST /rooms/{}/join',
  'POST /join/{}',
  'POST /rooms/{}/leave',
  'PUT /rooms/{}/send/{}/{}',
  'PUT /rooms/{}/state/{}/{}',
  'PUT /rooms/{}/state/{}',
  'PUT /sendToDevice/{}/{}',
  // Account maintenance (the profile service allows guests the display name only).
  'PUT /profile/{}/{}',
  'DELETE /profile/{}/{}',
  'GET /devices',
  'GET /devices/{}',
  'PUT /devices/{}',
  'GET /account/whoami',
  // End-to-end encryption.
  'POST /keys/upload',
  'POST /keys/query',
  'POST /keys/claim',
  // Peeking (MSC2753, not in the spec): a look into a world_readable room before joining it.
  'POST /peek/{}',
  'POST /rooms/{}/unpeek',
]);

/** `/_matrix/client/v3/rooms/{roomId}/join` becomes `/rooms/{}/join`. */
function shapeOf(path: string): string {
  return path.replace(/^\/_matrix\/client\/(?:v3|r0|v1|unstable)/, '').replace(/\{[^}]*\}/g, '{}');
}

/** Whether a guest's access token is accepted on this endpoint. */
export function guestsMayCall(endpoint: Pick<Endpoint, 'method' | 'path'>): boolean {
  return GUEST_ENDPOINTS.has(`${endpoint.method} ${shapeOf(endpoint.path)}`);
}
