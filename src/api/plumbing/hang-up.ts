import type { FastifyRequest } from 'fastify';
import type { HangUpWatch } from '../../sync/index.js';

/**
 * Runs a long-poll with a watch on the client hanging up. The socket outlives the request with keep-alive,
 * so a listener goes once its poll is answered. A plain listener, not an AbortController: every long-poll
 * makes one, and an AbortSignal with its listener costs a couple of KB that live as long as the poll.
 */
export function untilHangUp<T>(request: FastifyRequest, poll: (hangUp: HangUpWatch) => Promise<T>): Promise<T> {
  const socket = request.raw.socket;
  return poll((stop) => {
    socket.on('close', stop);
    return () => socket.off('close', stop);
  });
}
