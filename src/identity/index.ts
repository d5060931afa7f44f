export { createIdentityServerClient, type IdentityClientOptions, type IdentityServerClient, type StoredThirdPartyInvite } from './client.js';
