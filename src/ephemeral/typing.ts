import { MatrixError, type RoomId } from '../protocol/index.js';
import type { Clock } from '../platform/clock.js';
import type { Requester } from '../users/index.js';
import { joinedRoom } from './membership.js';
import type { MembershipReads, StreamNotice } from './ports.js';

/**
 * Typing notifications, kept in memory as Synapse keeps them: who types where, until when. The typing
 * stream's position is a counter of this process; a room's position is the counter when its set of typers
 * last changed, so sync asks "which rooms changed since N". Several processes keep the same picture by
 * sending the updates themselves over the bus (they are small); each process counts on its own, moved on
 * by the positions it hears.
 */

/** When the client gives no timeout (the spec's example is 30 s). */
export const DEFAULT_TYPING_TIMEOUT_MS = 30_000;
/** Synapse's cap, so a client cannot leave a user "typing" for hours. */
export const MAX_TYPING_TIMEOUT_MS = 120_000;

/** A change of one user's typing state, as it travels between processes. */
export interface TypingUpdate {
  readonly roomId: string;
  readonly userId: string;
  /** When the user stops typing (ms since the epoch); null: stopped. */
  readonly expiresTs: number | null;
}

export interface TypingNotice extends StreamNotice {
  readonly update?: TypingUpdate;
}

/** The bus as the typing service uses it (stream-notices.ts: typingRelayOnBus). */
export interface TypingRelay {
  /** Announces a change: wakes sync everywhere and carries `update` to the other processes. */
  publish(notice: TypingNotice): void;
  /** Hears the notices other processes publish (not this one's); returns the unsubscribe function. */
  subscribe(handler: (notice: TypingNotice) => void): () => void;
}

/** Timers behind a port, so tests fire them by hand. */
export interface Scheduler {
  /** Runs `fn` after `ms`; returns the function that cancels it. */
  after(ms: number, fn: () => void): () => void;
}

/** Real timers that do not keep the process alive. */
export const timerScheduler: Scheduler = {
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

export interface TypingDeps {
  readonly rooms: MembershipReads;
  readonly clock: Clock;
  readonly relay: TypingRelay;
  readonly scheduler?: Scheduler;
}

export interface TypingSince {
  readonly position: number;
  /** Rooms whose typers changed, with who types now (an empty list: nobody any more). */
  readonly rooms: Map<string, string[]>;
}

interface Typer {
  readonly expiresTs: number;
  readonly cancel: () => void;
}

interface RoomTyping {
  readonly typers: Map<string, Typer>;
  /** The stream position when the set of typers last changed. */
  changed: number;
}

export function createTypingService(deps: TypingDeps) {
  const { rooms: roomReads, clock, relay } = deps;
  const scheduler = deps.scheduler ?? timerScheduler;
  const rooms = new Map<string, RoomTyping>();
  let position = 0;

  function roomOf(roomId: string): RoomTyping {
    let room = rooms.get(roomId);
    if (room === undefined) rooms.set(roomId, (room = { typers: new Map(), changed: 0 }));
    return room;
  }

  function changed(room: RoomTyping, roomId: string, update?: TypingUpdate): void {
    room.changed = ++position;
    relay.publish({ position, rooms: [roomId], ...(update ? { update } : {}) });
  }

  /** Applies a change; true when the set of typers changed (not merely a typer's timeout). */
  function apply(update: TypingUpdate): boolean {
    const room = roomOf(update.roomId);
    const known = room.typers.get(update.userId);
    known?.cancel();
    if (update.expiresTs === null || update.expiresTs <= clock.now()) {
      room.typers.delete(update.userId);
      return known !== undefined;
    }
    const { roomId, userId, expiresTs } = update;
    const cancel = scheduler.after(expiresTs - clock.now(), () => {
      if (room.typers.get(userId)?.expiresTs !== expiresTs) return;
      room.typers.delete(userId);
      changed(room, roomId);
    });
    room.typers.set(userId, { expiresTs, cancel });
    return known === undefined;
  }

  /** Drops typers whose time is up by the clock, in case their timer has not fired yet. */
  function expireDue(): void {
    const now = clock.now();
    for (const [roomId, room] of rooms) {
      let expired = false;
      for (const [userId, typer] of room.typers) {
        if (typer.expiresTs > now) continue;
        typer.cancel();
        room.typers.delete(userId);
        expired = true;
      }
      if (expired) changed(room, roomId);
    }
  }

  // Positions act as a Lamport clock across processes: hearing another process's position moves ours at
  // least as far, so the position in any notice is one every process has reached once it applied it.
  const unsubscribe = relay.subscribe((notice) => {
    if (notice.update !== undefined && apply(notice.update)) {
      position = Math.max(position + 1, notice.position);
      roomOf(notice.update.roomId).changed = position;
    } else {
      position = Math.max(position, notice.position);
    }
  });

  return {
    /** PUT /rooms/{roomId}/typing/{userId}: only the caller, only in a room they are joined to. */
    async setTyping(requester: Requester, roomIdValue: string, userId: string, typing: boolean, timeoutMs?: number): Promise<void> {
      if (userId !== requester.userId) throw new MatrixError('M_FORBIDDEN', 'You cannot set the typing state of another user');
      const roomId: RoomId = await joinedRoom(roomReads, roomIdValue, requester.userId);
      const expiresTs = typing ? clock.now() + Math.min(timeoutMs ?? DEFAULT_TYPING_TIMEOUT_MS, MAX_TYPING_TIMEOUT_MS) : null;
      const update: TypingUpdate = { roomId, userId: requester.userId, expiresTs };
      const room = roomOf(roomId);
      if (apply(update)) changed(room, roomId, update);
      // Still typing: only the timeout moved. Other processes hear it so they do not expire the user early.
      else if (typing) relay.publish({ position, rooms: [roomId], update });
    },

    /**
     * A remote server's m.typing EDU for one of its users; federation's /send has checked that the server
     * speaks for the user and that the user is joined. Typing lasts `timeoutMs` unless renewed or stopped.
     */
    applyRemote(roomId: string, userId: string, typing: boolean, timeoutMs: number): void {
      const update: TypingUpdate = { roomId, userId, expiresTs: typing ? clock.now() + timeoutMs : null };
      if (apply(update)) changed(roomOf(roomId), roomId, update);
      else if (typing) relay.publish({ position, rooms: [roomId], update });
    },

    /**
     * For sync: the rooms among `roomIds` whose typers changed after `since`, with who types now (an empty
     * list where everyone stopped). Since 0 (an initial sync, or one from before anyone typed) or a position
     * from before this process started: every room where anyone typed since the process started, as Synapse
     * answers, so a client that saw someone typing through an earlier token learns that they stopped.
     */
    typingSince(roomIds: readonly string[], since: number): TypingSince {
      expireDue();
      const from = since > position ? 0 : since;
      const changes = new Map<string, string[]>();
      for (const roomId of roomIds) {
        const room = rooms.get(roomId);
        if (room === undefined || room.changed <= from) continue;
        changes.set(roomId, [...room.typers.keys()]);
      }
      return { position, rooms: changes };
    },

    /** The typing stream's current position. */
    position(): number {
      expireDue();
      return position;
    },

    /** Stops the timers and stops listening to other processes. */
    close(): void {
      unsubscribe();
      for (const room of rooms.values()) for (const typer of room.typers.values()) typer.cancel();
      rooms.clear();
    },
  };
}

export type TypingService = ReturnType<typeof createTypingService>;
