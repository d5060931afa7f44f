export {
  CanonicalJsonError,
  canonicalJsonBytes,
  compareCodePoints,
  encodeCanonicalJson,
  encodeCanonicalJsonWithout,
  isPlainObject,
} from './canonical-json.js';
export { Base64Error, decodeBase64, encodeBase64, encodeBase64Url } from './base64.js';
export { sha256 } from './hash.js';
export {
  ED25519,
  SigningKeyError,
  formatSigningKeyFile,
  keyVersionOf,
  parseSigningKeyFile,
  signBytes,
  signingKeyFromSeed,
  verifyBytes,
} from './ed25519.js';
export type { SigningKey } from './ed25519.js';
export type { Signatures } from './signing.js';
export { UNSIGNED_KEYS, signJson, signableForm, signableJson, verifyJsonSignature, withSignature } from './signing.js';
