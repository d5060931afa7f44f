export type * from './ports.js';
export { createReportService, type ReportDeps, type ReportService, type Reporter } from './reports.js';
