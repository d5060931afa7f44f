import type postgres from 'postgres';
import type { PeekStore } from '../rooms/index.js';
import { writeCommitted } from './client.js';
import { ADVISORY_LOCK_NAMESPACE, PEEKS_STREAM_LOCK_ID } from './migrate.js';

/** The rooms devices peek into (src/rooms/peeks.ts) on migrations/0041_room_peeks.sql. */
export function createPeekStore(sql: postgres.Sql): PeekStore {
  /** Sets whether the device peeks into the room, at a new position of the peeks stream, returned. */
  const setPeeking = async (userId: string, deviceId: string, roomId: string, peeking: boolean): Promise<number> => {
    // The lock (held to commit) makes positions commit in the order they are drawn: see the migration.
    // One statement takes it, draws the position and writes (writeCommitted).
    const [row] = await writeCommitted(sql, (tx) => tx<{ stream_position: number }[]>`
      insert into room_peeks (user_id, device_id, room_id, peeking, stream_position)
      select ${userId}, ${deviceId}, ${roomId}, ${peeking}, nextval('room_peeks_stream_seq')
      where (select true from pg_advisory_xact_lock(${ADVISORY_LOCK_NAMESPACE}, ${PEEKS_STREAM_LOCK_ID}))
      on conflict (user_id, device_id, room_id) do update
      set peeking = excluded.peeking, stream_position = excluded.stream_position
      returning stream_position`);
    if (row === undefined) throw new Error('no peeks stream position was drawn');
    return row.stream_position;
  };

  return {
    peek: (userId, deviceId, roomId) => setPeeking(userId, deviceId, roomId, true),
    async unpeek(userId, deviceId, roomId): Promise<number | null> {
      const [row] = await sql<{ peeking: boolean }[]>`
        select peeking from room_peeks where user_id = ${userId} and device_id = ${deviceId} and room_id = ${roomId}`;
      if (row === undefined || !row.peeking) return null;
      return setPeeking(userId, deviceId, roomId, false);
    },
  };
}
