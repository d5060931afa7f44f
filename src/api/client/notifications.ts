import type { FastifyInstance } from 'fastify';
import { getNotifications } from '../../protocol/endpoints/notifications.js';
import type { NotificationsList } from '../../sync/index.js';
import { route } from '../plumbing/route.js';

/** GET /notifications. */
export function notificationRoutes(list: NotificationsList) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, getNotifications, ({ requester, query }) => list.list(requester.userId, query));
  };
}
