import type { FastifyInstance } from 'fastify';
import type { TypingService } from '../../ephemeral/index.js';
import { setTyping } from '../../protocol/endpoints/typing.js';
import { route } from '../plumbing/route.js';

/** Typing notifications: the caller's own, in rooms they are joined to. */
export function typingRoutes(typing: TypingService) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, setTyping, async ({ params, body, requester }) => {
      await typing.setTyping(requester, params.roomId, params.userId, body.typing, body.timeout);
      return {};
    });
  };
}
