import type { FastifyInstance } from 'fastify';
import {
  forgetRoom,
  getEventByTimestamp,
  getEventContext,
  getMembersByRoom,
  getOneEvent,
  getOneRoomEvent,
  getRoomEvents,
  redactEvent,
  redactEventWithoutTxn,
} from '../../protocol/endpoints/room-history.js';
import type { ClientRooms } from '../../rooms/index.js';
import { route } from '../plumbing/route.js';

/** A room's history: /messages, /context, /event, /members, redact, forget, timestamp_to_event. */
export function roomHistoryRoutes(rooms: ClientRooms) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, getRoomEvents, ({ requester, params, query }) => rooms.messages(requester, params.roomId, query));
    route(app, getEventContext, ({ requester, params, query }) => rooms.context(requester, params.roomId, params.eventId, query));
    route(app, getOneRoomEvent, ({ requester, params }) => rooms.event(requester, params.roomId, params.eventId));
    route(app, getOneEvent, ({ requester, params }) => rooms.eventById(requester, params.eventId));
    route(app, getMembersByRoom, async ({ requester, params, query }) => ({
      chunk: await rooms.members(requester, params.roomId, {
        ...(query.at === undefined ? {} : { at: query.at }),
        ...(query.membership === undefined ? {} : { membership: query.membership }),
        ...(query.not_membership === undefined ? {} : { notMembership: query.not_membership }),
      }),
    }));
    route(app, redactEvent, async ({ requester, params, body }) => ({
      event_id: await rooms.redact(requester, params.roomId, params.eventId, params.txnId, body.reason === undefined ? {} : { reason: body.reason }),
    }));
    route(app, redactEventWithoutTxn, async ({ requester, params, body }) => ({
      event_id: await rooms.redact(requester, params.roomId, params.eventId, undefined, body.reason === undefined ? {} : { reason: body.reason }),
    }));
    route(app, forgetRoom, async ({ requester, params }) => {
      await rooms.forget(requester, params.roomId);
      return {};
    });
    route(app, getEventByTimestamp, ({ requester, params, query }) =>
      rooms.timestampToEvent(requester, params.roomId, query.ts, query.dir));
  };
}
