import type postgres from 'postgres';
import type { DeviceId, UserId } from '../protocol/index.js';
import { MatrixError } from '../protocol/index.js';
import { devicesRemoved, recordDeviceListChanges } from './device-list-changes.js';
import type {
  AccountStore,
  DeviceRecord,
  ExternalIdentity,
  NewDeviceSession,
  Profile,
  RegistrationNonceStore,
  TokenRecord,
  UiaSessionRecord,
  UiaStore,
  UserRecord,
} from '../users/index.js';

type Query = postgres.Sql | postgres.TransactionSql;

/** Thrown inside createUser's transaction to roll it back when the single sign-on identity is linked already. */
const IDENTITY_TAKEN = Symbol('identity taken');

interface DeviceRow {
  device_id: string;
  display_name: string | null;
  last_seen_ts: number | null;
  last_seen_ip: string | null;
  last_seen_user_agent: string | null;
}

function deviceRecord(row: DeviceRow): DeviceRecord {
  return {
    deviceId: row.device_id as DeviceId,
    displayName: row.display_name,
    lastSeenTs: row.last_seen_ts,
    lastSeenIp: row.last_seen_ip,
    lastSeenUserAgent: row.last_seen_user_agent,
  };
}

interface UserRow {
  user_id: string;
  password_hash: string | null;
  created_ts: number;
  deactivated: boolean;
  admin: boolean;
  is_guest: boolean;
  locked: boolean;
  suspended: boolean;
}

/**
 * The accounts service's storage (src/users/ports.ts) on migrations/0003_accounts.sql. Writes that touch
 * several tables run in one transaction, every query of it on that transaction.
 */
export function createAccountsStore(sql: postgres.Sql): AccountStore & UiaStore & RegistrationNonceStore {
  /** Deletes the devices (every one when null) with their tokens and keys; records the device-list change. */
  async function deleteDevicesOf(userId: UserId, deviceIds: readonly DeviceId[] | null): Promise<number | null> {
    return (await sql.begin(async (tx) => {
      const position = await devicesRemoved(tx, userId, deviceIds);
      // Tokens and keys go with the device (on delete cascade).
      if (deviceIds === null) await tx`delete from devices where user_id = ${userId}`;
      else await tx`delete from devices where user_id = ${userId} and device_id = any(${tx.array([...deviceIds])}::text[])`;
      return position;
    })) as number | null;
  }

  return {
    async user(userId: UserId): Promise<UserRecord | undefined> {
      const [row] = await sql<UserRow[]>`
        select user_id, password_hash, created_ts, deactivated, admin, is_guest, locked, suspended from users where user_id = ${userId}`;
      return row === undefined
        ? undefined
        : {
            userId: row.user_id as UserId,
            passwordHash: row.password_hash,
            createdTs: row.created_ts,
            deactivated: row.deactivated,
            admin: row.admin,
            isGuest: row.is_guest,
            locked: row.locked,
            suspended: row.suspended,
          };
    },

    async listUsers(query) {
      // LIKE's own wildcards in what the admin typed match themselves.
      const like = (text: string | undefined) => (text === undefined ? null : `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      const name = like(query.name);
      const userId = like(query.userId);
      const filter = sql`
        where (${query.guests} or not u.is_guest) and (${query.deactivated} or not u.deactivated)
          and (${name}::text is null or u.user_id ilike ${name} or p.displayname ilike ${name})
          and (${userId}::text is null or u.user_id ilike ${userId})`;
      const [rows, [count]] = await Promise.all([
        sql<Array<Omit<UserRow, 'password_hash'> & { displayname: string | null; avatar_url: string | null }>>`
          select u.user_id, u.created_ts, u.deactivated, u.admin, u.is_guest, u.locked, u.suspended, p.displayname, p.avatar_url
          from users u left join profiles p on p.user_id = u.user_id ${filter}
          order by u.user_id limit ${query.limit} offset ${query.from}`,
        sql<Array<{ total: number }>>`select count(*)::int8 as total from users u left join profiles p on p.user_id = u.user_id ${filter}`,
      ]);
      return {
        total: count?.total ?? 0,
        users: rows.map((row) => ({
          userId: row.user_id as UserId,
          createdTs: row.created_ts,
          deactivated: row.deactivated,
          admin: row.admin,
          isGuest: row.is_guest,
          locked: row.locked,
          suspended: row.suspended,
          displayName: row.displayname,
          avatarUrl: row.avatar_url,
        })),
      };
    },

    async createUser(user: UserRecord, session: NewDeviceSession | null, profile: Profile, identity?: ExternalIdentity): Promise<boolean> {
      try {
        return (await sql.begin(async (tx) => {
          const inserted = await tx`
            insert into users (user_id, password_hash, created_ts, deactivated, admin, is_guest)
            values (${user.userId}, ${user.passwordHash}, ${user.createdTs}, ${user.deactivated}, ${user.admin}, ${user.isGuest})
            on conflict (user_id) do nothing`;
          if (inserted.count === 0) return false;
          await tx`
            insert into profiles (user_id, displayname, avatar_url)
            values (${user.userId}, ${profile.displayName}, ${profile.avatarUrl})`;
          if (identity !== undefined) {
            const linked = await tx`
              insert into sso_identities (provider, subject, user_id, created_ts)
              values (${identity.provider}, ${identity.subject}, ${user.userId}, ${user.createdTs})
              on conflict (provider, subject) do nothing`;
            // The account must not outlive a lost race for the identity: undo it all.
            if (linked.count === 0) throw IDENTITY_TAKEN;
          }
          if (session !== null) await startSession(tx, user.userId, session, user.createdTs);
          return true;
        })) as boolean;
      } catch (err) {
        if (err === IDENTITY_TAKEN) return false;
        throw err;
      }
    },

    async createDevice(userId: UserId, deviceId: DeviceId, displayName: string | null, nowMs: number): Promise<number | null> {
      return (await sql.begin(async (tx) => {
        const [created] = await tx`
          insert into devices (user_id, device_id, display_name, created_ts, last_seen_ts)
          values (${userId}, ${deviceId}, ${displayName}, ${nowMs}, ${nowMs})
          on conflict (user_id, device_id) do nothing
          returning 1`;
        return created === undefined ? null : recordDeviceListChanges(tx, [{ userId }]);
      })) as number | null;
    },

    async startDeviceSession(userId: UserId, session: NewDeviceSession, nowMs: number): Promise<number | null> {
      return (await sql.begin((tx) => startSession(tx, userId, session, nowMs))) as number | null;
    },

    async nextGuestNumber(): Promise<number> {
      const [row] = await sql<{ n: string }[]>`select nextval('guest_localparts')::text as n`;
      return Number(row?.n);
    },

    async accessToken(tokenHash: string): Promise<TokenRecord | undefined> {
      const [row] = await sql<
        {
          user_id: string;
          device_id: string;
          is_guest: boolean;
          locked: boolean;
          suspended: boolean;
          expires_ts: number | null;
          refresh_pending: boolean;
          last_seen_ts: number | null;
          last_seen_ip: string | null;
        }[]
      >`
        select t.user_id, t.device_id, u.is_guest, u.locked, u.suspended, t.expires_ts, t.refresh_pending, d.last_seen_ts, d.last_seen_ip
        from access_tokens t
        join users u on u.user_id = t.user_id
        join devices d on d.user_id = t.user_id and d.device_id = t.device_id
        where t.token_hash = ${tokenHash} and not u.deactivated`;
      return row === undefined
        ? undefined
        : {
            userId: row.user_id as UserId,
            deviceId: row.device_id as DeviceId,
            isGuest: row.is_guest,
            ...(row.locked ? { locked: true } : {}),
            ...(row.suspended ? { suspended: true } : {}),
            expiresTs: row.expires_ts,
            refreshPending: row.refresh_pending,
            lastSeenTs: row.last_seen_ts,
            lastSeenIp: row.last_seen_ip,
          };
    },

    async setModeration(userId: UserId, change: { readonly locked?: boolean; readonly suspended?: boolean }): Promise<boolean> {
      const updated = await sql`
        update users set locked = coalesce(${change.locked ?? null}::boolean, locked), suspended = coalesce(${change.suspended ?? null}::boolean, suspended)
        where user_id = ${userId} and not deactivated`;
      return updated.count === 1;
    },

    async setAdmin(userId: UserId, admin: boolean): Promise<void> {
      await sql`update users set admin = ${admin} where user_id = ${userId}`;
    },

    async confirmRefresh(tokenHash: string): Promise<void> {
      await sql.begin(async (tx) => {
        const [row] = await tx<{ refresh_hash: string | null }[]>`
          update access_tokens set refresh_pending = false
          where token_hash = ${tokenHash} and refresh_pending returning refresh_hash`;
        // The predecessor goes, and with it (cascade) the access token issued with it.
        if (row?.refresh_hash) await tx`delete from refresh_tokens where next_hash = ${row.refresh_hash}`;
      });
    },

    async touchDevice(userId: UserId, deviceId: DeviceId, nowMs: number, ip: string | null, userAgent: string | null = null): Promise<void> {
      await sql`
        update devices set last_seen_ts = ${nowMs}, last_seen_ip = coalesce(${ip}, last_seen_ip),
          last_seen_user_agent = coalesce(${userAgent}, last_seen_user_agent)
        where user_id = ${userId} and device_id = ${deviceId}`;
    },

    async refreshSession(refreshTokenHash, next, nowMs) {
      return (await sql.begin(async (tx) => {
        const [row] = await tx<{ user_id: string; device_id: string; next_hash: string | null; locked: boolean }[]>`
          select r.user_id, r.device_id, r.next_hash, u.locked
          from refresh_tokens r join users u on u.user_id = r.user_id
          where r.token_hash = ${refreshTokenHash} and not u.deactivated
          for update of r`;
        if (row === undefined) return undefined;
        // A locked account gets no new access token; the refresh token stays for when it is unlocked.
        if (row.locked) return 'locked';
        // A repeated refresh replaces the successor it made before (and that one's access token).
        if (row.next_hash !== null) await tx`delete from refresh_tokens where token_hash = ${row.next_hash}`;
        // Using this token shows its predecessor's successor arrived: the predecessor goes.
        await tx`delete from refresh_tokens where next_hash = ${refreshTokenHash}`;
        await tx`
          insert into refresh_tokens (token_hash, user_id, device_id, created_ts)
          values (${next.refreshTokenHash}, ${row.user_id}, ${row.device_id}, ${nowMs})`;
        await tx`update refresh_tokens set next_hash = ${next.refreshTokenHash} where token_hash = ${refreshTokenHash}`;
        await tx`
          insert into access_tokens (token_hash, user_id, device_id, created_ts, expires_ts, refresh_hash, refresh_pending)
          values (${next.tokenHash}, ${row.user_id}, ${row.device_id}, ${nowMs}, ${next.expiresTs}, ${next.refreshTokenHash}, true)`;
        return { userId: row.user_id as UserId, deviceId: row.device_id as DeviceId };
      })) as { userId: UserId; deviceId: DeviceId } | 'locked' | undefined;
    },

    async devices(userId: UserId): Promise<DeviceRecord[]> {
      const rows = await sql<DeviceRow[]>`
        select device_id, display_name, last_seen_ts, last_seen_ip, last_seen_user_agent from devices
        where user_id = ${userId} order by device_id`;
      return rows.map(deviceRecord);
    },

    async device(userId: UserId, deviceId: DeviceId): Promise<DeviceRecord | undefined> {
      const [row] = await sql<DeviceRow[]>`
        select device_id, display_name, last_seen_ts, last_seen_ip, last_seen_user_agent from devices
        where user_id = ${userId} and device_id = ${deviceId}`;
      return row === undefined ? undefined : deviceRecord(row);
    },

    async setDeviceDisplayName(userId: UserId, deviceId: DeviceId, displayName: string) {
      return (await sql.begin(async (tx) => {
        const result = await tx`
          update devices set display_name = ${displayName} where user_id = ${userId} and device_id = ${deviceId}`;
        if (result.count === 0) return { found: false, position: null };
        // The name is part of what /keys/query shows of a device: its watchers look again.
        return { found: true, position: await recordDeviceListChanges(tx, [{ userId }]) };
      })) as { found: boolean; position: number | null };
    },

    async deleteDevice(userId: UserId, deviceId: DeviceId) {
      return deleteDevicesOf(userId, [deviceId]);
    },

    async deleteDevices(userId: UserId, deviceIds: readonly DeviceId[]) {
      if (deviceIds.length === 0) return null;
      return deleteDevicesOf(userId, deviceIds);
    },

    async deleteAllDevices(userId: UserId) {
      return deleteDevicesOf(userId, null);
    },

    async setPassword(userId: UserId, passwordHash: string, logoutExcept: DeviceId | undefined) {
      return (await sql.begin(async (tx) => {
        await tx`update users set password_hash = ${passwordHash} where user_id = ${userId}`;
        if (logoutExcept === undefined) return null;
        const others = await tx<{ device_id: string }[]>`select device_id from devices where user_id = ${userId} and device_id <> ${logoutExcept}`;
        const position = await devicesRemoved(tx, userId, others.map((row) => row.device_id));
        await tx`delete from devices where user_id = ${userId} and device_id <> ${logoutExcept}`;
        return position;
      })) as number | null;
    },

    async deactivateUser(userId: UserId, erase = false) {
      return (await sql.begin(async (tx) => {
        await tx`update users set deactivated = true, erased = erased or ${erase} where user_id = ${userId}`;
        const position = await devicesRemoved(tx, userId, null);
        await tx`delete from devices where user_id = ${userId}`;
        await tx`update profiles set displayname = null, avatar_url = null where user_id = ${userId}`;
        return position;
      })) as number | null;
    },

    async erasedUsers(): Promise<UserId[]> {
      const rows = await sql<{ user_id: UserId }[]>`select user_id from users where erased`;
      return rows.map((row) => row.user_id);
    },

    async upgradeGuest(userId: UserId, passwordHash: string, session: NewDeviceSession | null, nowMs: number): Promise<boolean> {
      return (await sql.begin(async (tx) => {
        const upgraded = await tx`
          update users set password_hash = ${passwordHash}, is_guest = false
          where user_id = ${userId} and is_guest and not deactivated`;
        if (upgraded.count === 0) return false;
        if (session !== null) await startSession(tx, userId, session, nowMs);
        return true;
      })) as boolean;
    },

    async createUiaSession(session: UiaSessionRecord): Promise<void> {
      await sql`
        insert into uia_sessions (session_id, operation, completed, created_ts, params, flows, subject)
        values (${session.sessionId}, ${session.operation}, ${JSON.stringify(session.completed)}, ${session.createdTs},
          ${session.params ? JSON.stringify(session.params) : null}, ${session.flows ? JSON.stringify(session.flows) : null}, ${session.subject ?? null})`;
    },

    async uiaSession(sessionId: string): Promise<UiaSessionRecord | undefined> {
      const [row] = await sql<
        {
          session_id: string;
          operation: string;
          completed: string;
          created_ts: number;
          params: string | null;
          result: string | null;
          flows: string | null;
          subject: string | null;
          refused: string | null;
        }[]
      >`select session_id, operation, completed, created_ts, params, result, flows, subject, refused from uia_sessions where session_id = ${sessionId}`;
      return row === undefined
        ? undefined
        : {
            sessionId: row.session_id,
            operation: row.operation,
            completed: JSON.parse(row.completed) as string[],
            createdTs: row.created_ts,
            params: row.params === null ? null : (JSON.parse(row.params) as Record<string, unknown>),
            result: row.result,
            flows: row.flows === null ? null : (JSON.parse(row.flows) as string[][]),
            subject: row.subject,
            refused: row.refused,
          };
    },

    async refuseUiaSession(sessionId: string, reason: string): Promise<void> {
      await sql`update uia_sessions set refused = ${reason} where session_id = ${sessionId}`;
    },

    async setUiaCompleted(sessionId: string, completed: readonly string[]): Promise<void> {
      await sql`update uia_sessions set completed = ${JSON.stringify(completed)} where session_id = ${sessionId}`;
    },

    async setUiaParams(sessionId: string, params: Readonly<Record<string, unknown>>): Promise<void> {
      await sql`update uia_sessions set params = ${JSON.stringify(params)} where session_id = ${sessionId}`;
    },

    async setUiaResult(sessionId: string, result: string): Promise<void> {
      await sql`update uia_sessions set result = ${result} where session_id = ${sessionId}`;
    },

    async takeUiaSession(sessionId: string): Promise<boolean> {
      return (await sql.begin(async (tx) => {
        const [row] = await tx<{ registration_token: string | null }[]>`
          delete from uia_sessions where session_id = ${sessionId} returning registration_token`;
        if (row === undefined) return false;
        // A registration token the session held is no longer pending.
        if (row.registration_token !== null) {
          await tx`update registration_tokens set pending = pending - 1 where token = ${row.registration_token}`;
        }
        return true;
      })) as boolean;
    },

    async deleteUiaSessionsBefore(beforeMs: number): Promise<void> {
      await sql.begin(async (tx) => {
        // Registrations abandoned after the token stage release their hold on the token.
        await tx`
          update registration_tokens r set pending = r.pending - s.n
          from (
            select registration_token, count(*)::int as n from uia_sessions
            where created_ts < ${beforeMs} and registration_token is not null group by registration_token
          ) s
          where r.token = s.registration_token`;
        await tx`delete from uia_sessions where created_ts < ${beforeMs}`;
      });
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
async function startSession(tx: Query, userId: UserId, session: NewDeviceSession, nowMs: number): Promise<number | null> {
  // xmax is 0 for a row this statement inserted, not for one it updated.
  const [device] = await tx<{ created: boolean }[]>`
    insert into devices (user_id, device_id, display_name, created_ts, last_seen_ts)
    values (${userId}, ${session.deviceId}, ${session.displayName}, ${nowMs}, ${nowMs})
    on conflict (user_id, device_id) do update set last_seen_ts = excluded.last_seen_ts
    returning (xmax = 0) as created`;
  // A dehydrated device (MSC3814) never gets a token: taking it over would hand its queued room keys to a
  // client that cannot decrypt them and clash with its published keys. Checked after the upsert, which
  // waited for any upload of it in flight, so the two cannot cross. Throwing rolls the login back.
  if (device?.created !== true) {
    const [dehydrated] = await tx`select 1 from dehydrated_devices where user_id = ${userId} and device_id = ${session.deviceId}`;
    if (dehydrated !== undefined) {
      throw new MatrixError('M_INVALID_PARAM', `device_id ${session.deviceId} is your dehydrated device, which cannot be logged in to; use another device_id or leave it out`);
    }
  }
  await tx`delete from access_tokens where user_id = ${userId} and device_id = ${session.deviceId}`;
  await tx`delete from refresh_tokens where user_id = ${userId} and device_id = ${session.deviceId}`;
  const refreshHash = session.refreshTokenHash ?? null;
  if (refreshHash !== null) {
    await tx`
      insert into refresh_tokens (token_hash, user_id, device_id, created_ts)
      values (${refreshHash}, ${userId}, ${session.deviceId}, ${nowMs})`;
  }
  await tx`
    insert into access_tokens (token_hash, user_id, device_id, created_ts, expires_ts, refresh_hash)
    values (${session.tokenHash}, ${userId}, ${session.deviceId}, ${nowMs}, ${session.expiresTs ?? null}, ${refreshHash})`;
  // A new device: clients watching the user's device list look again.
  return device?.created === true ? recordDeviceListChanges(tx, [{ userId }]) : null;
}
