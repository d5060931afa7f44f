import type { FastifyInstance } from 'fastify';
import { searchUserDirectory } from '../../protocol/endpoints/user-directory.js';
import type { UserDirectory } from '../../users/index.js';
import { route } from '../plumbing/route.js';

/** The user directory search. */
export function userDirectoryRoutes(directory: UserDirectory) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, searchUserDirectory, ({ requester, body }) => directory.search(requester, body.search_term, body.limit));
  };
}
