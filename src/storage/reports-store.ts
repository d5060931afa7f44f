import type postgres from 'postgres';
import type { NewReport, ReportQuery, ReportStore, StoredReport } from '../moderation/index.js';

interface ReportRow {
  readonly report_id: number;
  readonly kind: StoredReport['kind'];
  readonly received_ts: number;
  readonly reporter: string;
  readonly room_id: string | null;
  readonly event_id: string | null;
  readonly target_user_id: string | null;
  readonly reason: string | null;
  readonly score: number | null;
}

function reportOf(row: ReportRow): StoredReport {
  return {
    id: row.report_id,
    kind: row.kind,
    receivedTs: row.received_ts,
    reporter: row.reporter,
    roomId: row.room_id,
    eventId: row.event_id,
    targetUserId: row.target_user_id,
    reason: row.reason,
    score: row.score,
  };
}

/** Content reports (src/moderation/ports.ts) on migrations/0008_directory.sql. */
export function createReportStore(sql: postgres.Sql): ReportStore {
  return {
    async addReport(report: NewReport): Promise<number> {
      const [row] = await sql<{ report_id: number }[]>`
        insert into reports (kind, received_ts, reporter, room_id, event_id, target_user_id, reason, score)
        values (${report.kind}, ${report.receivedTs}, ${report.reporter}, ${report.roomId}, ${report.eventId},
          ${report.targetUserId}, ${report.reason}, ${report.score})
        returning report_id`;
      if (!row) throw new Error('the report was not stored');
      return row.report_id;
    },

    async reports(query: ReportQuery): Promise<{ reports: StoredReport[]; total: number }> {
      const filter = sql`
        kind = ${query.kind}
        ${query.reporter === undefined ? sql`` : sql`and reporter = ${query.reporter}`}
        ${query.roomId === undefined ? sql`` : sql`and room_id = ${query.roomId}`}`;
      const rows = await sql<ReportRow[]>`
        select report_id, kind, received_ts, reporter, room_id, event_id, target_user_id, reason, score
        from reports where ${filter}
        order by ${query.dir === 'f' ? sql`report_id asc` : sql`report_id desc`}
        offset ${query.from} limit ${query.limit}`;
      const [count] = await sql<{ total: number }[]>`select count(*)::int8 as total from reports where ${filter}`;
      return { reports: rows.map(reportOf), total: count?.total ?? 0 };
    },

    async report(id: number): Promise<StoredReport | undefined> {
      const [row] = await sql<ReportRow[]>`
        select report_id, kind, received_ts, reporter, room_id, event_id, target_user_id, reason, score
        from reports where report_id = ${id}`;
      return row === undefined ? undefined : reportOf(row);
    },
  };
}
