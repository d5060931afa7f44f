export { createAppServiceAuth, type AppServiceAuth, type AppServiceAuthDeps } from './auth.js';
export { loadAppServices } from './load.js';
export { AppServices, interestedInRoom, interestedWithoutRoom, parseRegistration, RegistrationError, type AppService, type Namespace } from './registration.js';
export { createAppServiceClient, type AppServiceClient, type AppServiceRequest } from './client.js';
export { createAppServiceSender, type AppServiceSender, type AppServiceSenderDeps, type AppServiceStore, type AppServiceTransaction } from './sender.js';
export { createAppServiceQueries, type AppServiceQueries, type AppServiceQueriesDeps } from './queries.js';
export { createThirdPartyLookups, type LookupFields, type ThirdPartyDeps, type ThirdPartyLookups } from './thirdparty.js';
