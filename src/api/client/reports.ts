import type { FastifyInstance } from 'fastify';
import { reportEvent, reportRoom, reportUser } from '../../protocol/endpoints/reports.js';
import type { ReportService } from '../../moderation/index.js';
import { route } from '../plumbing/route.js';

/** Reporting events, rooms and users to the server's admins. */
export function reportRoutes(reports: ReportService) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, reportEvent, async ({ requester, params, body }) => {
      await reports.reportEvent(requester, params.roomId, params.eventId, body.reason, body.score);
      return {};
    });
    route(app, reportRoom, async ({ requester, params, body }) => {
      await reports.reportRoom(requester, params.roomId, body.reason);
      return {};
    });
    route(app, reportUser, async ({ requester, params, body }) => {
      await reports.reportUser(requester, params.userId, body.reason);
      return {};
    });
  };
}
