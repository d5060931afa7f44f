export {
  createAccountService,
  accountLocked,
  APPSERVICE_LOGIN_TYPE,
  DEFAULT_ACCESS_TOKEN_LIFETIME_MS,
  LAST_SEEN_INTERVAL_MS,
  REGISTER_FLOWS,
  REGISTER_WITH_TOKEN_FLOWS,
  type AccountDeps,
  type AccountService,
  type ClientInfo,
  type IdentityProvider,
  type LoginFlow,
  type LoginRequest,
  type NewAccount,
  type RegisterRequest,
  type Registered,
  type Session,
  type SessionTokens,
} from './accounts.js';
export {
  createUia,
  SSO_STAGE,
  UIA_SESSION_LIFETIME_MS,
  type AuthDict,
  type Flow,
  type StageCheck,
  type StageChecks,
  type Uia,
  type UiaDeps,
} from './uia.js';
export {
  createLoginTokens,
  DEFAULT_LOGIN_TOKEN_LIFETIME_MS,
  GET_LOGIN_TOKEN_FLOWS,
  type LoginToken,
  type LoginTokenDeps,
  type LoginTokens,
} from './login-tokens.js';
export { passwordStage, type PasswordStageDeps } from './password-stage.js';
export {
  createRegistrationTokens,
  DEFAULT_GENERATED_TOKEN_LENGTH,
  type NewRegistrationToken,
  type RegistrationTokenDeps,
  type RegistrationTokens,
} from './registration-tokens.js';
export {
  createDeviceService,
  DELETE_DEVICE_FLOWS,
  MAX_DEVICE_DISPLAY_NAME_LENGTH,
  type DeviceDeps,
  type DeviceService,
} from './devices.js';
export {
  createAccountManagement,
  DEACTIVATE_FLOWS,
  PASSWORD_FLOWS,
  type AccountManagement,
  type AccountManagementDeps,
} from './account-management.js';
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
export { DEFAULT_TOKEN_CACHE_ENTRIES, DEFAULT_TOKEN_TTL_MS, withTokenCache, type CachingAccountStore, type TokenCacheOptions } from './token-cache.js';
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
export { createTagService, MAX_TAG_BYTES, type Tag, type TagDeps, type TagService } from './tags.js';
export {
  createUserDirectory,
  DEFAULT_USER_SEARCH_LIMIT,
  MAX_USER_SEARCH_LIMIT,
  type UserDirectory,
  type UserDirectoryDeps,
  type UserDirectoryEntry,
  type UserDirectoryStore,
  type UserSearchResult,
} from './user-directory.js';
export { createOpenIdTokens, OPENID_TOKEN_LIFETIME_MS, type OpenIdDeps, type OpenIdToken, type OpenIdTokens } from './openid.js';
export { createWhois, type Whois, type WhoisDeps, type WhoisService } from './whois.js';
export { createFederationProfiles, type FederationProfiles } from './federation-profile.js';
export { createRemoteProfiles, REMOTE_PROFILE_CACHE_MS, type ProfileQueries, type RemoteProfiles, type RemoteProfilesDeps } from './remote-profiles.js';
export { blocksInvites, INVITE_PERMISSION_CONFIG } from './invite-permission.js';
export { deviceOf } from './requester.js';
export { createUiaFallback, FALLBACK_STAGES, type FallbackStage, type UiaFallback, type UiaFallbackDeps } from './uia-fallback.js';
export { createAdminUsers, type AdminUserJson, type AdminUsers, type AdminUsersDeps } from './admin-users.js';
export { createThreepidBindings, type Threepid, type ThreepidBinding, type ThreepidBindings, type ThreepidBindingStore, type UnbindResult } from './threepid-bindings.js';
export { canonicalEmail, createAccountThreepids, SESSION_LIFETIME_MS, VALIDATION_PATH, type AccountThreepid, type AccountThreepids, type AccountThreepidStore, type ValidationSession } from './account-threepids.js';
export {
  createSso,
  CAS_TICKET_PATH,
  OIDC_CALLBACK_PATH,
  SIGN_IN_LIFETIME_MS,
  SSO_LOGIN_TOKEN_LIFETIME_MS,
  type CasSettings,
  type OidcSettings,
  type Sso,
  type SsoDeps,
  type SsoOutcome,
  type SsoStart,
} from './sso/service.js';
export { localpartFromExternalName, withLoginToken } from './sso/mapping.js';
export { parseCasValidation, type CasValidation } from './sso/cas.js';
export { createAccountModeration, type AccountModeration, type AccountModerationDeps, type ModerationAction } from './account-moderation.js';
export { recaptchaStage, RECAPTCHA_STAGE, type RecaptchaDeps } from './recaptcha.js';
