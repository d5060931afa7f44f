import { Type } from '@sinclair/typebox';
import { clientV3, defineEndpoint } from '../endpoint.js';

/**
 * Third-party networks (client-server API, "Third-party networks"): the protocols the server's application
 * services bridge, and lookups of the users and locations (portal rooms) on them, answered by the services.
 */

/** What the services say about a protocol; only `instances` is relied on, the rest is passed on as given. */
const Protocol = Type.Object(
  {
    user_fields: Type.Optional(Type.Array(Type.String())),
    location_fields: Type.Optional(Type.Array(Type.String())),
    icon: Type.Optional(Type.String()),
    field_types: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    instances: Type.Array(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: true },
);
const Location = Type.Object({ alias: Type.String(), protocol: Type.String(), fields: Type.Record(Type.String(), Type.Unknown()) }, { additionalProperties: true });
const ThirdPartyUser = Type.Object({ userid: Type.String(), protocol: Type.String(), fields: Type.Record(Type.String(), Type.Unknown()) }, { additionalProperties: true });
const ProtocolParams = Type.Object({ protocol: Type.String({ minLength: 1 }) });
/** A lookup's fields are the query string itself (`?network=libera&channel=%23matrix`), each passed on. */
const Fields = Type.Record(Type.String(), Type.Union([Type.String(), Type.Array(Type.String())]));

export const getProtocols = defineEndpoint({
  name: 'getProtocols',
  method: 'GET',
  ...clientV3('/thirdparty/protocols'),
  auth: 'user',
  response: Type.Record(Type.String(), Protocol),
});

export const getProtocolMetadata = defineEndpoint({
  name: 'getProtocolMetadata',
  method: 'GET',
  ...clientV3('/thirdparty/protocol/{protocol}'),
  auth: 'user',
  params: ProtocolParams,
  response: Protocol,
});

export const queryLocationByProtocol = defineEndpoint({
  name: 'queryLocationByProtocol',
  method: 'GET',
  ...clientV3('/thirdparty/location/{protocol}'),
  auth: 'user',
  params: ProtocolParams,
  query: Fields,
  response: Type.Array(Location),
});

export const queryUserByProtocol = defineEndpoint({
  name: 'queryUserByProtocol',
  method: 'GET',
  ...clientV3('/thirdparty/user/{protocol}'),
  auth: 'user',
  params: ProtocolParams,
  query: Fields,
  response: Type.Array(ThirdPartyUser),
});

export const queryLocationByAlias = defineEndpoint({
  name: 'queryLocationByAlias',
  method: 'GET',
  ...clientV3('/thirdparty/location'),
  auth: 'user',
  query: Type.Object({ alias: Type.String({ minLength: 1 }) }),
  response: Type.Array(Location),
});

export const queryUserByID = defineEndpoint({
  name: 'queryUserByID',
  method: 'GET',
  ...clientV3('/thirdparty/user'),
  auth: 'user',
  query: Type.Object({ userid: Type.String({ minLength: 1 }) }),
  response: Type.Array(ThirdPartyUser),
});
