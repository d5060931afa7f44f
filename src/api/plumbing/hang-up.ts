import type { FastifyRequest } from 'fastify';

/**
 * Runs a long-poll with a signal that aborts when the client hangs up. The socket outlives the request
 * with keep-alive, so the listener goes when the request is answered.
 */
export async function untilHangUp<T>(request: FastifyRequest, poll: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const gone = new AbortController();
  const socket = request.raw.socket;
  const hangUp = () => gone.abort();
  socket.once('close', hangUp);
  try {
    return await poll(gone.signal);
  } finally {
    socket.off('close', hangUp);
  }
}
