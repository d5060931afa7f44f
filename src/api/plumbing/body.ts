import type { FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';
import { MatrixError } from '../../protocol/index.js';

/** Refuses bytes that are not UTF-8 instead of turning them into U+FFFD (RFC 8259: JSON is UTF-8). */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Request bodies are JSON whatever their Content-Type says, as Synapse reads them: many clients send
 * JSON as text/plain or with no type at all. Media uploads register their own parser in their plugin.
 */
export function installJsonBodies(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, bytes, done) => {
    if (bytes.length === 0) return done(null, undefined);
    let body: string;
    try {
      body = strictUtf8.decode(typeof bytes === 'string' ? Buffer.from(bytes) : bytes);
    } catch {
      return done(new MatrixError('M_NOT_JSON', 'The request body is not valid UTF-8'), undefined);
    }
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

/**
 * JSON replies say `application/json`, without Fastify's `; charset=utf-8`: JSON is always UTF-8 and the
 * media type has no charset parameter (RFC 8259), Synapse sends it bare and sytest checks for exactly that.
 */
export function installJsonReplyType(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && /^application\/json;\s*charset=utf-8$/i.test(type)) reply.header('content-type', 'application/json');
    return payload;
  });
}
