/**
 * The Client-Server spec versions Hearth claims in GET /_matrix/client/versions. Clients pick features by
 * this list (matrix-js-sdk and Element refuse a server that claims none of theirs; from v1.4 they use
 * server-side threads and per-thread unread counts, from v1.11 authenticated media), so a version goes on
 * it once what it asks of a homeserver's Client-Server API is served. Not served yet, across these
 * versions: phone numbers as third-party identifiers (no SMS gateway), as the README says.
 *
 * v1.18 asks that every server in a room naming a policy server consult it (src/rooms/policy-servers.ts:
 * Hearth asks it, and is not one itself), and brings redactions sent through /send, account suspension
 * and locking for admins, and invite blocking; v1.19 adds GET /mutual_rooms.
 */
export const SUPPORTED_CLIENT_VERSIONS: readonly string[] = [
  // The last r0 release: clients from before v1.1 check for it (the r0 paths are served as aliases).
  'r0.6.1',
  ...Array.from({ length: 19 }, (_, i) => `v1.${i + 1}`),
];

/** Unstable features (MSCs) Hearth serves, by their namespaced flag. */
export const UNSTABLE_FEATURES: Readonly<Record<string, boolean>> = {
  // Dehydrated devices (src/e2ee/dehydrated-devices.ts).
  'org.matrix.msc3814': true,
};

export const SERVER_SOFTWARE_NAME = 'Hearth';
