import { Socket } from 'node:net';
import postgres from 'postgres';
import type { Logger } from '../platform/logger.js';
import { StorageError } from './errors.js';

/**
 * int8 columns (stream positions, millisecond timestamps, counts) come back as JS numbers, not bigint or
 * string: every such value Hearth stores stays below 2^53, and numbers keep the repositories free of
 * conversions. A value beyond 2^53 fails its query loudly instead of silently losing precision; read such a
 * column as text if one ever appears. Pass int8 parameters as numbers too.
 */
const int8AsNumber = {
  to: 20,
  from: [20],
  serialize: (value: number | bigint): string => String(value),
  parse: (raw: string): number => {
    const value = Number(raw);
    if (!Number.isSafeInteger(value)) {
      throw new StorageError(`int8 value ${raw} does not fit a JS number; select it as text`);
    }
    return value;
  },
};

export type ClientTarget =
  | { readonly kind: 'url'; readonly url: string }
  | { readonly kind: 'socket'; readonly path: string };

export interface ClientOptions {
  readonly max: number;
  readonly log: Logger;
}

/** Builds the one `postgres` client configuration both engines share; it does not connect yet. */
export function createClient(target: ClientTarget, options: ClientOptions): postgres.Sql {
  const common = {
    max: options.max,
    types: { int8: int8AsNumber },
    connect_timeout: 10,
    connection: { application_name: 'hearth' },
    onnotice: (notice: postgres.Notice) => {
      options.log.debug(
        { notice: { severity: notice.severity, code: notice.code, message: notice.message } },
        'postgres notice',
      );
    },
  };
  let sql;
  if (target.kind === 'url') {
    try {
      const { url, host, port } = libpqTargetOf(target.url);
      // `socket` is a documented option that postgres.js's types leave out: passed as a variable, not a literal.
      const withSocket = { ...common, socket: noDelaySocket, ...(host === undefined ? {} : { host }), ...(port === undefined ? {} : { port }) };
      sql = postgres(url, withSocket);
    } catch {
      // The driver's error carries the URL, password included; it must not reach a log.
      throw new StorageError('the database URL is not a valid postgres:// URL');
    }
  } else {
    sql = postgres({
      ...common,
      path: target.path,
      user: 'postgres',
      password: '',
      database: 'postgres',
      ssl: false,
      // One long-lived connection: PGlite serves a single session, so recycling it buys nothing and a
      // reconnect would race the socket server's bookkeeping of the previous one.
      idle_timeout: undefined,
      max_lifetime: null,
    });
  }
  // The client is typed with our int8 parser (`Sql<{ int8: number }>`); callers use the plain `postgres.Sql`
  // type, which describes the same object minus the extra `sql.typed.int8` helper.
  const client = sql as unknown as postgres.Sql;
  client.begin = reservingBegin(client);
  return client;
}

/**
 * libpq's query parameters for where the server is: `?host=` and `?port=`, which override the URL's own host
 * and port. A host that starts with a slash is the directory of the server's Unix socket (`.s.PGSQL.PORT`),
 * as in `?host=/var/run/postgresql`; any other is a host name (or several, comma-separated). postgres.js would
 * send an unknown query parameter to the server as a setting, which refuses both: they are taken out of the
 * URL and given as the driver's `host` and `port` options. A port that is not a number is refused (the
 * caller reports the URL as invalid without echoing it).
 */
function libpqTargetOf(url: string): { url: string; host?: string; port?: number } {
  // Only such a URL is parsed here: postgres.js reads some that URL does not (several hosts, say).
  if (!/[?&](host|port)=/.test(url)) return { url };
  const parsed = new URL(url);
  const host = parsed.searchParams.get('host');
  const port = parsed.searchParams.get('port');
  if (port !== null && !/^[0-9]{1,5}$/.test(port)) throw new Error('the port parameter is not a number');
  parsed.searchParams.delete('host');
  parsed.searchParams.delete('port');
  return {
    url: parsed.toString(),
    ...(host === null || host === '' ? {} : { host }),
    ...(port === null ? {} : { port: Number(port) }),
  };
}

/** Transactions whose COMMIT went out early (`commitNow`): `begin` sends none of its own. */
const committedEarly = new WeakSet<object>();

/**
 * Sends COMMIT on a transaction of `begin` now, after the statements already sent and with them: the last
 * statements' answers need not come back before the commit goes out. Issue it in the same turn as those
 * statements, and nothing after it. Should one of them fail, the server answers the COMMIT of the failed
 * transaction with a rollback, so nothing is half-written.
 *
 * "Now" is not postgres.js's default: it writes what a connection has gathered at once only when that
 * reaches FLUSH_AT bytes, else on the next setImmediate. A statement carrying an event's JSON passes that
 * size and goes out alone; a bare COMMIT after it would wait for the event loop to come round, and the
 * events-stream lock the statement took (persist-events.ts) would be held, for every room's writers, as
 * long as this process is busy with other requests. Padded to the size, the COMMIT goes out at once with
 * whatever the connection still held (spec/storage/database.test.ts holds the driver to it).
 */
export function commitNow(tx: postgres.TransactionSql): Promise<unknown> {
  committedEarly.add(tx);
  return tx.unsafe(PADDED_COMMIT);
}

/**
 * A transaction of one statement, its COMMIT sent right behind it (commitNow), returning the statement's
 * rows. For a write that takes a stream's advisory lock: the lock is then held while the server works,
 * never while this process is busy with something else.
 */
export async function writeCommitted<Row extends object>(
  sql: postgres.Sql,
  statement: (tx: postgres.TransactionSql) => postgres.PendingQuery<Row[]>,
): Promise<Row[]> {
  // Wrapped: a callback's array answer would be taken for queries to run.
  const { rows } = (await sql.begin(async (tx) => {
    const [written] = await Promise.all([statement(tx), commitNow(tx)]);
    return { rows: [...written] };
  })) as { rows: Row[] };
  return rows;
}

/** What postgres.js (3.4) gathers for a connection before it writes without waiting for setImmediate. */
const FLUSH_AT = 1024;

/** COMMIT and trailing spaces, as long as a message that goes out at once. */
const PADDED_COMMIT = 'commit'.padEnd(FLUSH_AT, ' ');

/**
 * `sql.begin` that reserves an idle connection before it sends BEGIN. postgres.js 3.4.9's own begin can
 * write BEGIN without reserving the connection when that connection's pipeline or socket buffer is full
 * (porsager/postgres#823, #1189; no fixed release yet): the call fails with UNSAFE_TRANSACTION and the
 * server-side transaction stays open for the unrelated queries that run next on that connection. Seen here
 * under load (the sync-latency bench, 1,000 clients). The callback gets the reserved connection, which
 * serves every query form Hearth's transactions use (tagged templates, helpers, unsafe).
 */
function reservingBegin(sql: postgres.Sql): postgres.Sql['begin'] {
  const begin = async (...args: unknown[]): Promise<unknown> => {
    const [options, fn] = (typeof args[0] === 'string' ? args : ['', args[0]]) as [string, (tx: postgres.ReservedSql) => unknown];
    return transaction(sql, `begin ${options}`, /\bread only\b/.test(options), fn);
  };
  // The driver's type has overloads (options first or not) and a TransactionSql argument; the reserved
  // connection has all of TransactionSql that Hearth uses (not savepoint or prepare, which it never calls).
  return begin as unknown as postgres.Sql['begin'];
}

/**
 * Makes the transaction's prepared statements use their generic plan, made once per connection, instead of
 * a plan for each execution's values. PostgreSQL's default keeps planning afresh any statement whose generic
 * plan it judges costlier than the plans for the values seen, and a statement over `unnest` of array
 * parameters always looks so: the generic plan guesses 100 elements, a plan for the values knows the few
 * there are (an event's insert has one row, a message reads four state keys).
 *
 * Only for statements that look rows up by key, where the values never change the best plan: a range such
 * as "positions after the client's token" is not one (a generic plan cannot tell a few rows from the table).
 * Set with a BEGIN that goes out anyway, it costs next to nothing. A transaction opened only to set it
 * costs more than it saves: tried for the sync's standing read, it made a sync that then needs a snapshot
 * transaction a third slower.
 */
const GENERIC_PLANS = 'set local plan_cache_mode = force_generic_plan';

/**
 * A write transaction that holds the transaction-scoped advisory lock `lockKey` (a bigint, as digits) from
 * its start: BEGIN and the lock go out as one message of the simple protocol, which runs them in order and
 * stops at the first error, so they cost one round trip, not two.
 *
 * `early` may send statements right behind the lock, before it is held: the server runs them once it is,
 * in the same round trip. It must only send them (and keep their answers from going unhandled); `fn`
 * starts once the lock is held, and decides what to make of them.
 *
 * The statements use their generic plans (GENERIC_PLANS): a room's writes, and the reads they make, look
 * rows up by key or within one room (its index leads with the room id).
 */
export function beginLocked<T>(
  sql: postgres.Sql,
  lockKey: string,
  fn: (tx: postgres.TransactionSql) => Promise<T>,
  early?: (tx: postgres.TransactionSql) => void,
): Promise<T> {
  if (!/^-?[0-9]{1,19}$/.test(lockKey)) throw new Error(`an advisory lock key is a bigint, not ${JSON.stringify(lockKey)}`);
  // The reserved connection serves all of TransactionSql that Hearth uses (as in reservingBegin).
  return transaction(
    sql,
    `begin; ${GENERIC_PLANS}; select pg_advisory_xact_lock(${lockKey}::int8)`,
    false,
    fn as unknown as (tx: postgres.ReservedSql) => unknown,
    early as unknown as ((tx: postgres.ReservedSql) => void) | undefined,
  ) as Promise<T>;
}

/** Runs `fn` in a transaction opened by `opening` on a reserved connection; commits, or rolls back on error. */
async function transaction(
  sql: postgres.Sql,
  opening: string,
  readOnly: boolean,
  fn: (tx: postgres.ReservedSql) => unknown,
  early?: (tx: postgres.ReservedSql) => void,
): Promise<unknown> {
  const connection = await sql.reserve();
  try {
    // A read-only transaction's BEGIN goes out with its first read, not a round trip ahead of it: were
    // it to fail, the reads would run outside a transaction, which for reads costs nothing but the error.
    // Started here (the driver sends a query once something waits on it), so that it goes out before
    // anything `early` sends.
    const begun = connection.unsafe(opening);
    begun.catch(() => undefined);
    if (early) early(connection);
    if (!readOnly) await begun;
    try {
      const outcome = await fn(connection);
      if (readOnly) await begun;
      // As postgres.js: a callback may return an array of queries to run (pipelined) in the transaction.
      const result = Array.isArray(outcome) ? await Promise.all(outcome) : outcome;
      if (!committedEarly.has(connection)) await connection.unsafe('commit');
      return result;
    } catch (err) {
      // A broken connection cannot roll back; the server ends its transaction when it goes.
      await connection.unsafe('rollback').catch(() => undefined);
      throw err;
    }
  } finally {
    connection.release();
  }
}

/** "user@host:port/database", never the password: for error messages and logs. */
export function describeTarget(sql: postgres.Sql): string {
  const o = sql.options;
  const where = o.path
    ? o.path
    : o.host.map((host, i) => `${host}:${o.port[i] ?? o.port[0] ?? 5432}`).join(',');
  return `${o.user}@${where}/${o.database}`;
}

/** Runs one round trip so a wrong URL fails at start-up with a message an operator can act on. */
export async function probe(sql: postgres.Sql, engine: string): Promise<void> {
  try {
    await sql`select 1`;
  } catch (err) {
    throw new StorageError(`cannot connect to ${engine} at ${describeTarget(sql)}: ${explain(err)}`, { cause: err });
  }
}

function explain(err: unknown): string {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (is the server running and listening there?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name does not resolve';
    case 'ENOENT':
      return 'no socket at that path';
    case 'CONNECT_TIMEOUT':
      return 'timed out after 10 s';
    case '28P01':
    case '28000':
      return `authentication failed: ${messageOf(err)} (check the user and password in the URL)`;
    case '3D000':
      return 'the database does not exist (create it first)';
    default:
      return messageOf(err);
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** What postgres.js hands its `socket` option: the parsed target of the URL. */
interface SocketTarget {
  readonly host: readonly string[];
  readonly port: readonly number[];
  readonly path?: string | false;
}

/**
 * The connection's socket with Nagle's algorithm off, whose writes of one turn go out together.
 *
 * Nagle: postgres.js leaves it on, and it sends a query while the previous one's bytes may still be
 * unacknowledged (pipelined queries on one connection, BEGIN followed by the first statement): the kernel
 * then holds the second write until the delayed ACK, 40 ms on Linux, which showed as a 40 ms floor on /sync
 * delivery on PostgreSQL. The driver writes to the socket while it connects; Node queues those writes until
 * the connection is up.
 *
 * Together: the driver writes a message of 1 KiB or more at once and what follows it separately, so an
 * event's insert and the COMMIT after it (commitNow) were two system calls, each waking the server's
 * backend, which on a machine of few cores runs in this process's place. The socket is corked at a turn's
 * first write and uncorked once the turn's microtasks are done, so they leave in one write.
 */
function noDelaySocket(target: SocketTarget): Socket {
  const socket = new Socket();
  socket.setNoDelay(true);
  if (typeof target.path === 'string' && target.path !== '') socket.connect(target.path);
  else socket.connect(target.port[0] ?? 5432, target.host[0] ?? 'localhost');
  // After connect, which puts back the prototype's write should the instance have its own.
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  socket.write = ((...args: unknown[]) => {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    return write(...args);
  }) as Socket['write'];
  return socket;
}
