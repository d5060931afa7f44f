export {
  createAccountService,
  LOGIN_TYPES,
  REGISTER_FLOWS,
  type AccountDeps,
  type AccountService,
  type LoginRequest,
  type NewAccount,
  type RegisterRequest,
  type Session,
} from './accounts.js';
export { createUia, UIA_SESSION_LIFETIME_MS, type AuthDict, type Flow, type Uia, type UiaDeps } from './uia.js';
export { createScryptHasher, DEFAULT_SCRYPT_COST, type PasswordHasher, type ScryptCost } from './passwords.js';
export {
  createSharedSecretRegistration,
  NONCE_LIFETIME_MS,
  sharedSecretMac,
  type SharedSecretRegistration,
  type SharedSecretRegistrationDeps,
  type SharedSecretRequest,
} from './shared-secret.js';
export { hashAccessToken } from './tokens.js';
export type * from './ports.js';
export {
  createProfileService,
  defaultProfile,
  memberProfileLookup,
  profileJson,
  MAX_AVATAR_URL_LENGTH,
  MAX_DISPLAYNAME_LENGTH,
  PROFILE_KEYS,
  type ProfileDeps,
  type ProfileJson,
  type ProfileKey,
  type ProfileService,
} from './profiles.js';
export { createAccountDataService, type AccountDataDeps, type AccountDataService } from './account-data.js';
export { createFilterService, type FilterDeps, type FilterService } from './filters.js';
