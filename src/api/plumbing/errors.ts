import type { FastifyError, FastifyInstance } from 'fastify';
import { MatrixError } from '../../protocol/index.js';

/**
 * The one place an error becomes a reply. MatrixErrors carry their own status and body; Fastify's own
 * client errors are translated to the errcode the spec asks for; anything else is our fault and is
 * answered 500 M_UNKNOWN with no detail, the detail going to the log.
 */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | MatrixError, request, reply) => {
    const matrixError = toMatrixError(error);
    if (matrixError.status >= 500) {
      request.log.error({ err: error, route: request.routeOptions.url, method: request.method }, 'request failed');
    }
    void reply.code(matrixError.status).headers(matrixError.headers).send(matrixError.toJSON());
  });

  app.setNotFoundHandler((request, reply) => {
    const error = new MatrixError('M_UNRECOGNIZED', `Unrecognized request: ${request.method} ${pathOf(request.url)}`);
    void reply.code(error.status).send(error.toJSON());
  });
}

function toMatrixError(error: FastifyError | MatrixError): MatrixError {
  if (error instanceof MatrixError) return error;
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new MatrixError('M_TOO_LARGE', 'The request body is too large');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new MatrixError('M_UNKNOWN', 'The Content-Length header does not match the body', { status: 400 });
    case 'FST_ERR_BAD_URL':
      return new MatrixError('M_UNRECOGNIZED', 'The request path is not valid URL encoding', { status: 400 });
    case 'FST_ERR_ASYNC_CONSTRAINT':
    default:
      break;
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    // Fastify's own client errors (aborted body, bad headers) have messages safe to show.
    return new MatrixError('M_UNKNOWN', error.message, { status: 400 });
  }
  return new MatrixError('M_UNKNOWN', 'Internal server error', { status: 500 });
}

/** The path without its query string, which may carry an access token. */
export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
