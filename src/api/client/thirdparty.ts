import type { FastifyInstance } from 'fastify';
import type { LookupFields, ThirdPartyLookups } from '../../appservice/thirdparty.js';
import {
  getProtocolMetadata,
  getProtocols,
  queryLocationByAlias,
  queryLocationByProtocol,
  queryUserByID,
  queryUserByProtocol,
} from '../../protocol/endpoints/thirdparty.js';
import type { Requester } from '../plumbing/auth.js';
import { route } from '../plumbing/route.js';

/**
 * Query parameters that belong to this request, not to the lookup: the access token, and the identity an
 * application service asserts (it is the one calling then). Never passed on to the bridges.
 */
const OWN_PARAMS = ['access_token'];
const ASSERTION_PARAMS = ['user_id', 'device_id', 'org.matrix.msc3202.device_id'];

function lookupFields(query: LookupFields, requester: Requester): LookupFields {
  const own = requester.appservice === undefined ? OWN_PARAMS : [...OWN_PARAMS, ...ASSERTION_PARAMS];
  return Object.fromEntries(Object.entries(query).filter(([key]) => !own.includes(key)));
}

/** Third-party networks: protocols and lookups, answered by the application services. */
export function thirdPartyRoutes(lookups: ThirdPartyLookups) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, getProtocols, () => lookups.protocols());
    route(app, getProtocolMetadata, ({ params }) => lookups.protocol(params.protocol));
    route(app, queryLocationByProtocol, ({ params, query, requester }) => lookups.locations(params.protocol, lookupFields(query, requester)));
    route(app, queryUserByProtocol, ({ params, query, requester }) => lookups.users(params.protocol, lookupFields(query, requester)));
    route(app, queryLocationByAlias, ({ query }) => lookups.locationsOfAlias(query.alias));
    route(app, queryUserByID, ({ query }) => lookups.usersOfUserId(query.userid));
  };
}
