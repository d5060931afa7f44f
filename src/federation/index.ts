export { createServerKeysService, type ServerKeysService, type OldVerifyKey } from './server-keys.js';
