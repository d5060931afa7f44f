import type { FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';
import { MatrixError } from '../../protocol/index.js';

/**
 * Request bodies are JSON whatever their Content-Type says, as Synapse reads them: many clients send
 * JSON as text/plain or with no type at all. Media uploads register their own parser in their plugin.
 */
export function installJsonBodies(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, text, done) => {
    const body = typeof text === 'string' ? text : text.toString('utf8');
    if (body.length === 0) return done(null, undefined);
    try {
      done(null, secureJson.parse(body, undefined, { protoAction: 'error', constructorAction: 'error' }));
    } catch (err) {
      const poisoned = err instanceof SyntaxError && err.message.startsWith('Object contains forbidden');
      done(
        poisoned
          ? new MatrixError('M_BAD_JSON', 'JSON objects may not have keys named __proto__ or constructor.prototype')
          : new MatrixError('M_NOT_JSON', 'The request body is not valid JSON'),
        undefined,
      );
    }
  });
}
