import { Type } from '@sinclair/typebox';
import { clientV3, defineEndpoint } from '../endpoint.js';

/** POST /user_directory/search (client-server API, "User Directory"). */
export const searchUserDirectory = defineEndpoint({
  name: 'searchUserDirectory',
  method: 'POST',
  ...clientV3('/user_directory/search'),
  auth: 'user',
  rateLimit: 'user_directory',
  body: Type.Object({ search_term: Type.String(), limit: Type.Optional(Type.Integer({ minimum: 0 })) }),
  response: Type.Object({
    results: Type.Array(
      Type.Object({ user_id: Type.String(), display_name: Type.Optional(Type.String()), avatar_url: Type.Optional(Type.String()) }),
    ),
    limited: Type.Boolean(),
  }),
});
