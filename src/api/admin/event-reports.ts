import type { FastifyInstance } from 'fastify';
import { getEventReport, listEventReports } from '../../protocol/endpoints/reports.js';
import type { ReportService, StoredReport } from '../../moderation/index.js';
import { route } from '../plumbing/route.js';

/** Synapse's admin API for event reports, so synadm and moderation dashboards can read Hearth's. */
export function eventReportRoutes(reports: ReportService) {
  const shaped = (report: StoredReport) => ({
    id: report.id,
    received_ts: report.receivedTs,
    room_id: report.roomId ?? '',
    event_id: report.eventId ?? '',
    user_id: report.reporter,
    reason: report.reason,
    score: report.score,
  });
  return async (app: FastifyInstance): Promise<void> => {
    route(app, listEventReports, async ({ requester, query }) => {
      const page = await reports.eventReports(requester, {
        from: query.from,
        limit: query.limit,
        dir: query.dir,
        ...(query.user_id === undefined ? {} : { reporter: query.user_id }),
        ...(query.room_id === undefined ? {} : { roomId: query.room_id }),
      });
      const next = query.from + page.reports.length;
      return { event_reports: page.reports.map(shaped), total: page.total, ...(next < page.total ? { next_token: next } : {}) };
    });
    route(app, getEventReport, async ({ requester, params }) => {
      const { report, event } = await reports.eventReport(requester, params.reportId);
      const sender = typeof event?.sender === 'string' ? event.sender : undefined;
      return { ...shaped(report), ...(sender === undefined ? {} : { sender }), ...(event === undefined ? {} : { event_json: { ...event } }) };
    });
  };
}
