import type { FastifyInstance } from 'fastify';
import {
  createRegistrationToken,
  deleteRegistrationToken,
  getRegistrationToken,
  listRegistrationTokens,
  registrationTokenValidity,
  updateRegistrationToken,
} from '../../protocol/endpoints/registration-tokens.js';
import type { RegistrationTokenRecord, RegistrationTokens } from '../../users/index.js';
import { route } from '../plumbing/route.js';

function tokenJson(token: RegistrationTokenRecord) {
  return {
    token: token.token,
    uses_allowed: token.usesAllowed,
    pending: token.pending,
    completed: token.completed,
    expiry_time: token.expiryTime,
  };
}

/** The client's validity check and Synapse's admin API for registration tokens. */
export function registrationTokenRoutes(tokens: RegistrationTokens) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, registrationTokenValidity, async ({ query }) => ({ valid: await tokens.validity(query.token) }));

    route(app, listRegistrationTokens, async ({ requester, query }) => ({
      registration_tokens: (await tokens.list(requester, query.valid)).map(tokenJson),
    }));

    route(app, getRegistrationToken, async ({ requester, params }) => tokenJson(await tokens.get(requester, params.token)));

    route(app, createRegistrationToken, async ({ requester, body }) =>
      tokenJson(
        await tokens.create(requester, {
          token: body.token,
          usesAllowed: body.uses_allowed,
          expiryTime: body.expiry_time,
          length: body.length,
        }),
      ));

    route(app, updateRegistrationToken, async ({ requester, params, body }) =>
      tokenJson(await tokens.update(requester, params.token, { usesAllowed: body.uses_allowed, expiryTime: body.expiry_time })));

    route(app, deleteRegistrationToken, async ({ requester, params }) => {
      await tokens.delete(requester, params.token);
      return {};
    });
  };
}
