import type postgres from 'postgres';
import type { UserId } from '../protocol/index.js';
import type { UserDirectoryEntry, UserDirectoryStore } from '../users/index.js';

/**
 * The user directory (src/users/user-directory.ts) on profiles (0005) and the rooms' current state (0002).
 * Each search reads the join events of the rooms involved; a table kept up to date as memberships change
 * would be the next step for servers with many rooms. Being computed from current state, a user drops out as
 * soon as they leave, or their last open room turns private.
 *
 * Only rooms this server is still in count (a local user is joined): once its last local member leaves, the
 * server hears nothing more of a room, so the members its state still lists are stale. Synapse drops such
 * rooms from its directory the same way. Local users are shown with their profile; remote users, who have
 * none here, with the display name and avatar of their latest join event among the rooms that count.
 */
export function createUserDirectoryStore(sql: postgres.Sql): UserDirectoryStore {
  return {
    async searchUsers(searcher: UserId, term: string, limit: number): Promise<UserDirectoryEntry[]> {
      const escaped = term.replace(/[\\%_]/g, (c) => `\\${c}`);
      const contains = `%${escaped}%`;
      const startsWith = `${escaped}%`;
      const rows = await sql<{ user_id: string; displayname: string | null; avatar_url: string | null }[]>`
        with joined as (
          select c.room_id, c.state_key as user_id, e.stream_position, e.origin_server_ts,
            case when jsonb_typeof(e.json::jsonb -> 'content' -> 'displayname') = 'string'
              then e.json::jsonb -> 'content' ->> 'displayname' end as displayname,
            case when jsonb_typeof(e.json::jsonb -> 'content' -> 'avatar_url') = 'string'
              then e.json::jsonb -> 'content' ->> 'avatar_url' end as avatar_url
          from current_state c join events e on e.event_id = c.event_id
          where c.type = 'm.room.member' and (e.json::jsonb -> 'content' ->> 'membership') = 'join'
        ),
        our_rooms as (
          select distinct j.room_id from joined j join users u on u.user_id = j.user_id
        ),
        open_rooms as (
          select c.room_id
          from current_state c join events e on e.event_id = c.event_id
          where c.state_key = '' and (
            (c.type = 'm.room.join_rules' and (e.json::jsonb -> 'content' ->> 'join_rule') = 'public')
            or (c.type = 'm.room.history_visibility'
              and (e.json::jsonb -> 'content' ->> 'history_visibility') = 'world_readable'))
        ),
        visible as (
          select j.* from joined j
          where j.room_id in (select room_id from our_rooms)
            and ((j.room_id in (select room_id from joined where user_id = ${searcher}) and j.user_id <> ${searcher})
              or j.room_id in (select room_id from open_rooms))
        ),
        remote_profiles as (
          select distinct on (v.user_id) v.user_id, v.displayname, v.avatar_url
          from visible v
          where not exists (select 1 from users u where u.user_id = v.user_id)
          order by v.user_id, v.stream_position desc nulls last, v.origin_server_ts desc
        ),
        candidates as (
          select p.user_id, p.displayname, p.avatar_url
          from profiles p join users u on u.user_id = p.user_id
          where p.user_id in (select user_id from visible) and not u.deactivated
          union all
          select user_id, displayname, avatar_url from remote_profiles
        )
        select user_id, displayname, avatar_url
        from candidates
        where user_id ilike ${contains} or displayname ilike ${contains}
        order by (displayname ilike ${startsWith} or substring(user_id from 2) ilike ${startsWith}) desc,
          (displayname is not null) desc, user_id
        limit ${limit}`;
      return rows.map((row) => ({ userId: row.user_id as UserId, displayName: row.displayname, avatarUrl: row.avatar_url }));
    },
  };
}
