import type { FastifyInstance } from 'fastify';
import {
  addThreepid,
  addThreepidLegacy,
  bindThreepid,
  deleteThreepid,
  getAccountThreepids,
  requestEmailTokenForAccount,
  requestEmailTokenForPassword,
  requestEmailTokenForRegistration,
  requestMsisdnTokenForAccount,
  requestMsisdnTokenForPassword,
  requestMsisdnTokenForRegistration,
  unbindThreepid,
  validateEmailLink,
} from '../../protocol/endpoints/accounts.js';
import { MatrixError } from '../../protocol/index.js';
import type { AccountManagement, AccountThreepids, ThreepidBindings } from '../../users/index.js';
import { route } from '../plumbing/route.js';
import { escapeHtml, htmlPage, sendPage } from './html-page.js';

export interface ThreepidRouteDeps {
  readonly bindings: ThreepidBindings;
  readonly account: AccountThreepids;
  readonly management: AccountManagement;
  readonly serverName: string;
}

/** A page with a message and nothing to run. */
function messagePage(title: string, message: string) {
  return htmlPage(title, `<main><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></main>`, '');
}

/**
 * The account's third-party identifiers: email addresses on the account (validation link, add, list,
 * delete) and bindings at identity servers (bind, unbind).
 */
export function threepidRoutes(deps: ThreepidRouteDeps) {
  const { bindings, account, management } = deps;
  return async (app: FastifyInstance): Promise<void> => {
    route(app, requestEmailTokenForAccount, ({ body }) =>
      account.requestEmailToken({ clientSecret: body.client_secret, email: body.email, sendAttempt: body.send_attempt }, 'add'));
    route(app, requestEmailTokenForPassword, ({ body }) =>
      account.requestEmailToken({ clientSecret: body.client_secret, email: body.email, sendAttempt: body.send_attempt }, 'password'));
    route(app, requestEmailTokenForRegistration, ({ body }) =>
      account.requestEmailToken({ clientSecret: body.client_secret, email: body.email, sendAttempt: body.send_attempt }, 'register'));
    for (const msisdn of [requestMsisdnTokenForAccount, requestMsisdnTokenForPassword, requestMsisdnTokenForRegistration]) {
      route(app, msisdn, () => {
        throw new MatrixError('M_THREEPID_MEDIUM_NOT_SUPPORTED', 'This server sends no text messages, so it cannot validate phone numbers');
      });
    }
    route(app, validateEmailLink, async ({ query, reply }) => {
      const validated = await account.validate(query.sid, query.client_secret, query.token);
      const page = validated
        ? messagePage('Email address confirmed', `Your address is confirmed. Go back to your Matrix client to finish adding it to your account on ${deps.serverName}.`)
        : messagePage('This link does not work', 'It may have expired, or it was not copied whole. Ask your Matrix client to send a new email.');
      return sendPage(reply, page, validated ? 200 : 400);
    });
    route(app, getAccountThreepids, ({ requester }) => account.list(requester.userId));
    route(app, addThreepid, async ({ requester, body }) => {
      await management.confirmWithPassword(requester, 'POST /account/3pid/add', body.auth);
      await account.add(requester.userId, { sid: body.sid, clientSecret: body.client_secret });
      return {};
    });
    route(app, addThreepidLegacy, async ({ requester, body }) => {
      await account.add(requester.userId, { sid: body.three_pid_creds.sid, clientSecret: body.three_pid_creds.client_secret });
      return {};
    });
    route(app, bindThreepid, async ({ requester, body }) => {
      await bindings.bind(requester.userId, { idServer: body.id_server, idAccessToken: body.id_access_token, sid: body.sid, clientSecret: body.client_secret });
      return {};
    });
    route(app, unbindThreepid, async ({ requester, body }) => ({
      id_server_unbind_result: await bindings.unbind(requester.userId, { medium: body.medium, address: body.address }, body.id_server),
    }));
    route(app, deleteThreepid, async ({ requester, body }) => {
      // Off the account first; the binding at an identity server goes too (as Synapse does).
      await account.remove(requester.userId, body.medium, body.address);
      return { id_server_unbind_result: await bindings.delete(requester.userId, { medium: body.medium, address: body.address }, body.id_server) };
    });
  };
}
