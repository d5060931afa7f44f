import { Type } from '@sinclair/typebox';
import { defineEndpoint } from '../endpoint.js';

/** Client config (client-server API, "Client Config"): account data, global and per room. */

const v3 = (path: string) => ({ path: `/_matrix/client/v3${path}`, aliases: [`/_matrix/client/r0${path}`] });

const Content = Type.Record(Type.String(), Type.Unknown());
const GlobalParams = Type.Object({ userId: Type.String(), type: Type.String() });
const RoomParams = Type.Object({ userId: Type.String(), roomId: Type.String(), type: Type.String() });

export const setAccountData = defineEndpoint({
  name: 'setAccountData',
  method: 'PUT',
  ...v3('/user/{userId}/account_data/{type}'),
  auth: 'user',
  params: GlobalParams,
  body: Content,
  response: Type.Object({}),
});

export const getAccountData = defineEndpoint({
  name: 'getAccountData',
  method: 'GET',
  ...v3('/user/{userId}/account_data/{type}'),
  auth: 'user',
  params: GlobalParams,
  response: Content,
});

export const setAccountDataPerRoom = defineEndpoint({
  name: 'setAccountDataPerRoom',
  method: 'PUT',
  ...v3('/user/{userId}/rooms/{roomId}/account_data/{type}'),
  auth: 'user',
  params: RoomParams,
  body: Content,
  response: Type.Object({}),
});

export const getAccountDataPerRoom = defineEndpoint({
  name: 'getAccountDataPerRoom',
  method: 'GET',
  ...v3('/user/{userId}/rooms/{roomId}/account_data/{type}'),
  auth: 'user',
  params: RoomParams,
  response: Content,
});
