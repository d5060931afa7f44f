import { Type } from '@sinclair/typebox';
import { clientV3, defineEndpoint } from '../endpoint.js';

/** Client config (client-server API, "Client Config"): account data, global and per room. */


const Content = Type.Record(Type.String(), Type.Unknown());
const GlobalParams = Type.Object({ userId: Type.String(), type: Type.String() });
const RoomParams = Type.Object({ userId: Type.String(), roomId: Type.String(), type: Type.String() });

export const setAccountData = defineEndpoint({
  name: 'setAccountData',
  method: 'PUT',
  ...clientV3('/user/{userId}/account_data/{type}'),
  auth: 'user',
  params: GlobalParams,
  body: Content,
  response: Type.Object({}),
});

export const getAccountData = defineEndpoint({
  name: 'getAccountData',
  method: 'GET',
  ...clientV3('/user/{userId}/account_data/{type}'),
  auth: 'user',
  params: GlobalParams,
  response: Content,
});

export const setAccountDataPerRoom = defineEndpoint({
  name: 'setAccountDataPerRoom',
  method: 'PUT',
  ...clientV3('/user/{userId}/rooms/{roomId}/account_data/{type}'),
  auth: 'user',
  params: RoomParams,
  body: Content,
  response: Type.Object({}),
});

export const getAccountDataPerRoom = defineEndpoint({
  name: 'getAccountDataPerRoom',
  method: 'GET',
  ...clientV3('/user/{userId}/rooms/{roomId}/account_data/{type}'),
  auth: 'user',
  params: RoomParams,
  response: Content,
});
