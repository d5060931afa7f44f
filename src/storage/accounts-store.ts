import type postgres from 'postgres';
import type { DeviceId, UserId } from '../protocol/index.js';
import type {
  AccountStore,
  NewDeviceSession,
  Profile,
  RegistrationNonceStore,
  Requester,
  UiaSessionRecord,
  UiaStore,
  UserRecord,
} from '../users/index.js';

type Query = postgres.Sql | postgres.TransactionSql;

interface UserRow {
  user_id: string;
  password_hash: string | null;
  created_ts: number;
  deactivated: boolean;
  admin: boolean;
  is_guest: boolean;
}

/**
 * The accounts service's storage (src/users/ports.ts) on migrations/0003_accounts.sql. Writes that touch
 * several tables run in one transaction, every query of it on that transaction.
 */
export function createAccountsStore(sql: postgres.Sql): AccountStore & UiaStore & RegistrationNonceStore {
  return {
    async user(userId: UserId): Promise<UserRecord | undefined> {
      const [row] = await sql<UserRow[]>`
        select user_id, password_hash, created_ts, deactivated, admin, is_guest from users where user_id = ${userId}`;
      return row === undefined
        ? undefined
        : {
            userId: row.user_id as UserId,
            passwordHash: row.password_hash,
            createdTs: row.created_ts,
            deactivated: row.deactivated,
            admin: row.admin,
            isGuest: row.is_guest,
          };
    },

    async createUser(user: UserRecord, session: NewDeviceSession | null, profile: Profile): Promise<boolean> {
      return (await sql.begin(async (tx) => {
        const inserted = await tx`
          insert into users (user_id, password_hash, created_ts, deactivated, admin, is_guest)
          values (${user.userId}, ${user.passwordHash}, ${user.createdTs}, ${user.deactivated}, ${user.admin}, ${user.isGuest})
          on conflict (user_id) do nothing`;
        if (inserted.count === 0) return false;
        await tx`
          insert into profiles (user_id, displayname, avatar_url)
          values (${user.userId}, ${profile.displayName}, ${profile.avatarUrl})`;
        if (session !== null) await startSession(tx, user.userId, session, user.createdTs);
        return true;
      })) as boolean;
    },

    async startDeviceSession(userId: UserId, session: NewDeviceSession, nowMs: number): Promise<void> {
      await sql.begin((tx) => startSession(tx, userId, session, nowMs));
    },

    async requester(tokenHash: string): Promise<Requester | undefined> {
      const [row] = await sql<{ user_id: string; device_id: string; is_guest: boolean }[]>`
        select t.user_id, t.device_id, u.is_guest
        from access_tokens t join users u on u.user_id = t.user_id
        where t.token_hash = ${tokenHash} and not u.deactivated`;
      return row === undefined
        ? undefined
        : { userId: row.user_id as UserId, deviceId: row.device_id as DeviceId, isGuest: row.is_guest };
    },

    async deleteDevice(userId: UserId, deviceId: DeviceId): Promise<void> {
      // The tokens go with the device (on delete cascade).
      await sql`delete from devices where user_id = ${userId} and device_id = ${deviceId}`;
    },

    async deleteAllDevices(userId: UserId): Promise<void> {
      await sql`delete from devices where user_id = ${userId}`;
    },

    async createUiaSession(session: UiaSessionRecord): Promise<void> {
      await sql`
        insert into uia_sessions (session_id, operation, completed, created_ts)
        values (${session.sessionId}, ${session.operation}, ${JSON.stringify(session.completed)}, ${session.createdTs})`;
    },

    async uiaSession(sessionId: string): Promise<UiaSessionRecord | undefined> {
      const [row] = await sql<{ session_id: string; operation: string; completed: string; created_ts: number }[]>`
        select session_id, operation, completed, created_ts from uia_sessions where session_id = ${sessionId}`;
      return row === undefined
        ? undefined
        : {
            sessionId: row.session_id,
            operation: row.operation,
            completed: JSON.parse(row.completed) as string[],
            createdTs: row.created_ts,
          };
    },

    async setUiaCompleted(sessionId: string, completed: readonly string[]): Promise<void> {
      await sql`update uia_sessions set completed = ${JSON.stringify(completed)} where session_id = ${sessionId}`;
    },

    async deleteUiaSessionsBefore(beforeMs: number): Promise<void> {
      await sql`delete from uia_sessions where created_ts < ${beforeMs}`;
    },

    async addRegistrationNonce(nonce: string, nowMs: number): Promise<void> {
      await sql`insert into registration_nonces (nonce, created_ts) values (${nonce}, ${nowMs})`;
    },

    async takeRegistrationNonce(nonce: string): Promise<number | undefined> {
      const [row] = await sql<{ created_ts: number }[]>`
        delete from registration_nonces where nonce = ${nonce} returning created_ts`;
      return row?.created_ts;
    },

    async deleteRegistrationNoncesBefore(beforeMs: number): Promise<void> {
      await sql`delete from registration_nonces where created_ts < ${beforeMs}`;
    },
  };
}

/**
 * Creates or takes over the device. A device taken over keeps its name and loses its old tokens, as the
 * spec says of POST /login with a known device_id.
 */
async function startSession(tx: Query, userId: UserId, session: NewDeviceSession, nowMs: number): Promise<void> {
  await tx`
    insert into devices (user_id, device_id, display_name, created_ts, last_seen_ts)
    values (${userId}, ${session.deviceId}, ${session.displayName}, ${nowMs}, ${nowMs})
    on conflict (user_id, device_id) do update set last_seen_ts = excluded.last_seen_ts`;
  await tx`delete from access_tokens where user_id = ${userId} and device_id = ${session.deviceId}`;
  await tx`
    insert into access_tokens (token_hash, user_id, device_id, created_ts)
    values (${session.tokenHash}, ${userId}, ${session.deviceId}, ${nowMs})`;
}
