import type { FastifyInstance } from 'fastify';
import {
  inviteV1,
  inviteV2,
  makeJoin,
  makeKnock,
  makeLeave,
  sendJoinV1,
  sendJoinV2,
  sendKnock,
  sendLeaveV1,
  sendLeaveV2,
} from '../../protocol/endpoints/federation-membership.js';
import type { FederationMembership, JoinState } from '../../rooms/index.js';
import type { PduJson } from '../../events/index.js';
import { federationRoute } from './auth.js';

/** The v1 answers' shape: the status beside the body. */
const v1 = <T>(body: T): [200, T] => [200, body];

/** The membership handshakes other servers make with this one: make_/send_ join, leave, knock, and invites. */
export function federationMembershipRoutes(membership: FederationMembership, serverName: string) {
  const joinBody = (answer: JoinState & { event?: PduJson }) => ({
    origin: serverName,
    state: answer.state,
    auth_chain: answer.authChain,
    ...(answer.event ? { event: answer.event } : {}),
    ...(answer.membersOmitted ? { members_omitted: true, servers_in_room: answer.serversInRoom } : {}),
  });
  return async (app: FastifyInstance): Promise<void> => {
    federationRoute(app, makeJoin, ({ origin, params, query }) => membership.makeJoin(origin, params.roomId, params.userId, query.ver));
    federationRoute(app, makeLeave, ({ origin, params }) => membership.makeLeave(origin, params.roomId, params.userId));
    federationRoute(app, makeKnock, ({ origin, params, query }) => membership.makeKnock(origin, params.roomId, params.userId, query.ver));

    federationRoute(app, sendJoinV2, async ({ origin, params, query, body }) =>
      joinBody(await membership.sendJoin(origin, params.roomId, params.eventId, body, query.omit_members === true)));
    federationRoute(app, sendJoinV1, async ({ origin, params, body }) =>
      v1(joinBody(await membership.sendJoin(origin, params.roomId, params.eventId, body, false))));

    federationRoute(app, sendLeaveV2, async ({ origin, params, body }) => {
      await membership.sendLeave(origin, params.roomId, params.eventId, body);
      return {};
    });
    federationRoute(app, sendLeaveV1, async ({ origin, params, body }) => {
      await membership.sendLeave(origin, params.roomId, params.eventId, body);
      return v1({});
    });

    federationRoute(app, sendKnock, async ({ origin, params, body }) => ({
      knock_room_state: await membership.sendKnock(origin, params.roomId, params.eventId, body),
    }));

    federationRoute(app, inviteV2, async ({ origin, params, body }) => ({
      event: await membership.invite(origin, params.roomId, params.eventId, {
        roomVersion: body.room_version,
        event: body.event,
        inviteRoomState: body.invite_room_state ?? [],
      }),
    }));
    // v1 is for rooms of versions 1 and 2 (the same event format); the stripped state rides in the event's unsigned.
    federationRoute(app, inviteV1, async ({ origin, params, body }) => {
      const unsigned = (body as { unsigned?: { invite_room_state?: unknown } }).unsigned;
      const state = Array.isArray(unsigned?.invite_room_state) ? (unsigned.invite_room_state as unknown[]) : [];
      const event = await membership.invite(origin, params.roomId, params.eventId, { roomVersion: undefined, event: body, inviteRoomState: state });
      return v1({ event });
    });
  };
}
