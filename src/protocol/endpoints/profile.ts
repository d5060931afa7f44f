import { Type } from '@sinclair/typebox';
import { clientV3, defineEndpoint } from '../endpoint.js';

/** Profiles (client-server API, "Profiles"): GET is open to anyone, PUT only to the profile's owner. */


const UserParam = Type.Object({ userId: Type.String() });
const FieldParams = Type.Object({ userId: Type.String(), keyName: Type.String() });

/** displayname and avatar_url where set; unknown keys may follow (spec 1.16). */
const ProfileBody = Type.Object(
  { displayname: Type.Optional(Type.String()), avatar_url: Type.Optional(Type.String()) },
  { additionalProperties: true },
);

/** GET /profile/{userId}: every field of the user's profile. */
export const getUserProfile = defineEndpoint({
  name: 'getUserProfile',
  method: 'GET',
  ...clientV3('/profile/{userId}'),
  auth: 'none',
  params: UserParam,
  response: ProfileBody,
});

/** GET /profile/{userId}/{keyName}: one field, as `{ keyName: value }`. */
export const getProfileField = defineEndpoint({
  name: 'getProfileField',
  method: 'GET',
  ...clientV3('/profile/{userId}/{keyName}'),
  auth: 'none',
  params: FieldParams,
  response: ProfileBody,
});

/** PUT /profile/{userId}/{keyName}: sets one field; the body is `{ keyName: value }`. */
export const setProfileField = defineEndpoint({
  name: 'setProfileField',
  method: 'PUT',
  ...clientV3('/profile/{userId}/{keyName}'),
  auth: 'user',
  rateLimit: 'profile',
  params: FieldParams,
  body: Type.Record(Type.String(), Type.Unknown(), { minProperties: 1 }),
  response: Type.Object({}),
});

/** DELETE /profile/{userId}/{keyName} (Matrix 1.16): removes one field; a field that is not set is fine. */
export const deleteProfileField = defineEndpoint({
  name: 'deleteProfileField',
  method: 'DELETE',
  ...clientV3('/profile/{userId}/{keyName}'),
  auth: 'user',
  rateLimit: 'profile',
  params: FieldParams,
  response: Type.Object({}),
});
