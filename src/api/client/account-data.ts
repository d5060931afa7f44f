import type { FastifyInstance } from 'fastify';
import {
  getAccountData,
  getAccountDataPerRoom,
  setAccountData,
  setAccountDataPerRoom,
} from '../../protocol/endpoints/account-data.js';
import type { AccountDataService } from '../../users/index.js';
import { route } from '../plumbing/route.js';

/** Account data, global and per room; only the user's own. */
export function accountDataRoutes(accountData: AccountDataService) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, setAccountData, async ({ params, body, requester }) => {
      await accountData.put(requester, params.userId, null, params.type, body);
      return {};
    });

    route(app, getAccountData, ({ params, requester }) => accountData.get(requester, params.userId, null, params.type));

    route(app, setAccountDataPerRoom, async ({ params, body, requester }) => {
      await accountData.put(requester, params.userId, params.roomId, params.type, body);
      return {};
    });

    route(app, getAccountDataPerRoom, ({ params, requester }) =>
      accountData.get(requester, params.userId, params.roomId, params.type));
  };
}
