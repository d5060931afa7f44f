import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * Paths pino blanks before a line is written. Tokens, passwords and message bodies never reach a log:
 * code should not log them in the first place, and this list catches the slips.
 */
export const REDACTED_PATHS: readonly string[] = [
  'password', '*.password', 'new_password', '*.new_password',
  'access_token', '*.access_token', 'refresh_token', '*.refresh_token',
  'token', '*.token', 'registration_shared_secret', '*.registration_shared_secret',
  'req.headers.authorization', 'headers.authorization', '*.headers.authorization',
  'req.query.access_token', 'body', '*.body', 'content.body', '*.content.body',
  'secret', '*.secret', 'client_secret', '*.client_secret', 'signing_key', '*.signing_key',
];

export interface LoggerOptions {
  readonly level: LevelWithSilent;
  /** Pretty output is not bundled; 'json' is the only format, one object per line. */
  readonly destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { name: 'hearth' },
      redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? process.stdout,
  );
}

/** A logger that writes nothing, for tests and pure helpers that want one. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
