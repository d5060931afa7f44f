/**
 * A storage failure the operator can act on: a database that cannot be reached, a schema that is newer than
 * this Hearth, a data directory that another process holds. The message says what to do; `cause` keeps the
 * driver's error for the log.
 */
export class StorageError extends Error {
  override readonly name = 'StorageError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
