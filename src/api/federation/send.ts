import type { FastifyInstance } from 'fastify';
import type { TransactionReceiver } from '../../federation/index.js';
import { sendTransaction } from '../../protocol/endpoints/federation-send.js';
import { federationRoute } from './auth.js';

/** PUT /send/{txnId}: another server's PDUs and EDUs, handled by the transaction receiver. */
export function federationSendRoutes(transactions: TransactionReceiver) {
  return async (app: FastifyInstance): Promise<void> => {
    federationRoute(app, sendTransaction, ({ origin, params, body }) => transactions.receive(origin, params.txnId, body));
  };
}
