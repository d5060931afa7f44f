import type { FastifySchemaCompiler } from 'fastify';
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value, type ValueError } from '@sinclair/typebox/value';
import { MatrixError } from '../../protocol/index.js';

/**
 * Fastify validates with TypeBox's compiler instead of ajv, so a request is checked by the very schema
 * its handler is typed from. The errcode follows the part that was wrong: a body that breaks its schema
 * is M_BAD_JSON, a bad query or path parameter M_INVALID_PARAM; the message names the field.
 */
export const typeboxValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = TypeCompiler.Compile(schema);
  const part = httpPart ?? 'body';
  if (part === 'body') {
    return (data: unknown) => {
      if (data === null || data === undefined) {
        return { error: new MatrixError('M_NOT_JSON', 'The request body is empty; this endpoint expects a JSON object') };
      }
      if (check.Check(data)) return { value: data };
      return { error: new MatrixError('M_BAD_JSON', describe(check.Errors(data).First(), 'body')) };
    };
  }
  // Query strings and path segments are text: numbers and booleans are read from it before checking.
  return (data: unknown) => {
    const converted = Value.Convert(schema, Value.Default(schema, Value.Clone(data ?? {})));
    if (check.Check(converted)) return { value: converted };
    return { error: new MatrixError('M_INVALID_PARAM', describe(check.Errors(converted).First(), part)) };
  };
};

function describe(error: ValueError | undefined, part: string): string {
  if (!error) return `The ${part} is not valid`;
  const field = error.path === '' ? '' : error.path.slice(1).replaceAll('/', '.');
  const where = part === 'body' ? (field || 'the body') : `${part === 'querystring' ? 'query parameter' : 'path parameter'} '${field}'`;
  return `${where}: ${error.message.toLowerCase()}`;
}
