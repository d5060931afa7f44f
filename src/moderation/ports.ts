/**
 * The storage moderation needs. src/storage/reports-store.ts implements it on PostgreSQL (both engines).
 */

export type ReportKind = 'event' | 'room' | 'user';

export interface NewReport {
  readonly kind: ReportKind;
  readonly reporter: string;
  readonly receivedTs: number;
  /** Event and room reports. */
  readonly roomId: string | null;
  /** Event reports. */
  readonly eventId: string | null;
  /** User reports. */
  readonly targetUserId: string | null;
  readonly reason: string | null;
  readonly score: number | null;
}

export interface StoredReport extends NewReport {
  readonly id: number;
}

export interface ReportQuery {
  readonly kind: ReportKind;
  /** Reports to skip, in the chosen order. */
  readonly from: number;
  readonly limit: number;
  /** b: newest first (the default of Synapse's admin API); f: oldest first. */
  readonly dir: 'b' | 'f';
  /** Only reports by this reporter / about this room. */
  readonly reporter?: string;
  readonly roomId?: string;
}

export interface ReportStore {
  /** Stores the report and returns its id. */
  addReport(report: NewReport): Promise<number>;
  /** A page of reports and how many match in all. */
  reports(query: ReportQuery): Promise<{ reports: StoredReport[]; total: number }>;
  report(id: number): Promise<StoredReport | undefined>;
}
