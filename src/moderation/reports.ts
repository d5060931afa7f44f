import { stateKey } from '../events/index.js';
import { MatrixError, parseEventId, parseRoomId, parseUserId, userIdServer, type UserId } from '../protocol/index.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { RoomReads } from '../rooms/index.js';
import type { ReportQuery, ReportStore, StoredReport } from './ports.js';

/**
 * Reporting content (client-server API, "Reporting content"): users report events, rooms and users to
 * the server's admins, who read the reports through the admin API. Reasons are stored for admins and
 * never logged.
 */

export interface ReportDeps {
  readonly store: ReportStore;
  readonly rooms: Pick<RoomReads, 'room' | 'events' | 'currentStateEntries'>;
  /** Whether a local account exists (deactivated ones included). */
  readonly localUserExists: (userId: UserId) => Promise<boolean>;
  readonly isServerAdmin: (userId: string) => Promise<boolean>;
  readonly serverName: string;
  readonly clock: Clock;
  readonly log: Logger;
}

export interface Reporter {
  readonly userId: string;
}

export function createReportService(deps: ReportDeps) {
  const { store, rooms, clock, log } = deps;

  async function joined(roomId: string, userId: string): Promise<boolean> {
    const key = stateKey('m.room.member', userId);
    const eventId = (await rooms.currentStateEntries(roomId, [key])).get(key);
    const event = eventId === undefined ? undefined : (await rooms.events([eventId])).get(eventId)?.event;
    return event?.content.membership === 'join';
  }

  async function admin(userId: string): Promise<void> {
    if (!(await deps.isServerAdmin(userId))) throw new MatrixError('M_FORBIDDEN', 'You are not a server admin');
  }

  return {
    /** POST /rooms/{roomId}/report/{eventId}: only a member of the room can report an event in it. */
    async reportEvent(reporter: Reporter, roomIdValue: string, eventIdValue: string, reason: string | undefined, score: number | undefined): Promise<void> {
      const roomId = parseRoomId(roomIdValue);
      const eventId = parseEventId(eventIdValue);
      const notFound = () => new MatrixError('M_NOT_FOUND', 'The event was not found or you are not joined to the room');
      if (!(await rooms.room(roomId)) || !(await joined(roomId, reporter.userId))) throw notFound();
      const stored = (await rooms.events([eventId])).get(eventId);
      if (!stored || stored.event.roomId !== roomId || stored.outlier || stored.rejectedReason !== null || stored.softFailed) throw notFound();
      const id = await store.addReport({
        kind: 'event', reporter: reporter.userId, receivedTs: clock.now(), roomId, eventId, targetUserId: null,
        reason: reason ?? null, score: score ?? null,
      });
      log.info({ reportId: id, roomId, eventId, reporter: reporter.userId }, 'event reported');
    },

    /** POST /rooms/{roomId}/report: the reporter need not be in the room. */
    async reportRoom(reporter: Reporter, roomIdValue: string, reason: string): Promise<void> {
      const roomId = parseRoomId(roomIdValue);
      if (!(await rooms.room(roomId))) throw new MatrixError('M_NOT_FOUND', `There is no room ${roomId} on this server`);
      const id = await store.addReport({
        kind: 'room', reporter: reporter.userId, receivedTs: clock.now(), roomId, eventId: null, targetUserId: null, reason, score: null,
      });
      log.info({ reportId: id, roomId, reporter: reporter.userId }, 'room reported');
    },

    /** POST /users/{userId}/report: a local user must exist; another server's users cannot be checked here. */
    async reportUser(reporter: Reporter, userIdValue: string, reason: string): Promise<void> {
      const userId = parseUserId(userIdValue);
      if (userIdServer(userId) === deps.serverName && !(await deps.localUserExists(userId))) {
        throw new MatrixError('M_NOT_FOUND', `There is no user ${userId} on this server`);
      }
      const id = await store.addReport({
        kind: 'user', reporter: reporter.userId, receivedTs: clock.now(), roomId: null, eventId: null, targetUserId: userId, reason, score: null,
      });
      log.info({ reportId: id, target: userId, reporter: reporter.userId }, 'user reported');
    },

    /** Synapse's admin API: a page of event reports, for server admins. */
    async eventReports(caller: Reporter, query: Omit<ReportQuery, 'kind'>): Promise<{ reports: StoredReport[]; total: number }> {
      await admin(caller.userId);
      return store.reports({ ...query, kind: 'event' });
    },

    /** Synapse's admin API: one event report with the reported event, for server admins. */
    async eventReport(caller: Reporter, id: number): Promise<{ report: StoredReport; event: Readonly<Record<string, unknown>> | undefined }> {
      await admin(caller.userId);
      const report = await store.report(id);
      if (!report || report.kind !== 'event') throw new MatrixError('M_NOT_FOUND', `There is no event report ${id}`);
      const event = report.eventId === null ? undefined : (await rooms.events([report.eventId])).get(report.eventId)?.event;
      return { report, event: event?.pdu };
    },
  };
}

export type ReportService = ReturnType<typeof createReportService>;
