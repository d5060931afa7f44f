/**
 * The Client-Server spec versions Hearth claims in GET /_matrix/client/versions. A version goes on this
 * list only once every endpoint it makes mandatory is served; clients pick features by this list, so
 * claiming one early breaks them in ways that are hard to trace.
 */
export const SUPPORTED_CLIENT_VERSIONS: readonly string[] = [];

/** Unstable features (MSCs) Hearth serves, by their namespaced flag. */
export const UNSTABLE_FEATURES: Readonly<Record<string, boolean>> = {
  // Dehydrated devices (src/e2ee/dehydrated-devices.ts).
  'org.matrix.msc3814': true,
};

export const SERVER_SOFTWARE_NAME = 'Hearth';
