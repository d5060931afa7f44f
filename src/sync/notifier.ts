/**
 * Wakes idle /sync long-polls. A waiting sync listens for its user and for the rooms it is in; a notice
 * (from any process, through the bus) names rooms and users whose streams moved. Waiting syncs re-read the
 * database when woken, so a notice never carries data and a spurious wake costs one empty read.
 *
 * A listener is registered before its sync reads, so a notice that arrives while it reads is not lost:
 * the listener is already woken when it starts to wait. The rooms a sync cares about are known only once
 * it has read them; a notice for one of them that came during the read is found by its sequence number.
 */

export interface StreamNotice {
  readonly rooms?: readonly string[];
  readonly users?: readonly string[];
}

export interface SyncListener {
  /** Resolves true once woken, false once `timeoutMs` passes or the listener is closed. */
  wait(timeoutMs: number): Promise<boolean>;
  /** Forgets earlier wakes: called before each read, so only notices from then on wake the next wait. */
  reset(): void;
  /** Listens for these rooms too (the user's rooms are known only after the first read). */
  addRooms(rooms: Iterable<string>): void;
  /** The notice sequence number when the current read began (see resume). */
  readonly readSequence: number;
  /**
   * Instead of reading: takes up where an earlier sync of the same client left off, as if its read had
   * begun at `sequence` and found these rooms. Any notice since then for the user or the rooms wakes it.
   */
  resume(sequence: number, rooms: Iterable<string>): void;
  close(): void;
}

interface Entry {
  readonly userId: string;
  readonly rooms: Set<string>;
  woken: boolean;
  /** The notice sequence number when the current read began. */
  since: number;
  resolve: ((woken: boolean) => void) | undefined;
}

export class SyncNotifier {
  readonly #byUser = new Map<string, Set<Entry>>();
  readonly #byRoom = new Map<string, Set<Entry>>();
  #closed = false;
  #sequence = 0;
  /** The sequence number of the latest notice per room (one number per room that ever had one). */
  readonly #lastNotice = new Map<string, number>();
  /** The same per user. */
  readonly #lastUserNotice = new Map<string, number>();

  /** Ends every wait (unwoken) and every later one at once: the server is shutting down. */
  close(): void {
    this.#closed = true;
    for (const entries of this.#byUser.values()) {
      for (const entry of entries) entry.resolve?.(false);
    }
  }

  /** How many syncs are waiting or reading (for metrics and tests). */
  get listeners(): number {
    let count = 0;
    for (const set of this.#byUser.values()) count += set.size;
    return count;
  }

  notify(notice: StreamNotice): void {
    const sequence = ++this.#sequence;
    for (const room of notice.rooms ?? []) {
      this.#lastNotice.set(room, sequence);
      this.#wakeAll(this.#byRoom.get(room));
    }
    for (const user of notice.users ?? []) {
      this.#lastUserNotice.set(user, sequence);
      this.#wakeAll(this.#byUser.get(user));
    }
  }

  listen(userId: string): SyncListener {
    const entry: Entry = { userId, rooms: new Set(), woken: false, since: this.#sequence, resolve: undefined };
    add(this.#byUser, userId, entry);
    let closed = false;
    const addRooms = (rooms: Iterable<string>) => {
      if (closed) return;
      for (const room of rooms) {
        if (entry.rooms.has(room)) continue;
        entry.rooms.add(room);
        add(this.#byRoom, room, entry);
        if ((this.#lastNotice.get(room) ?? 0) > entry.since) entry.woken = true;
      }
    };
    const close = () => {
      if (closed) return;
      closed = true;
      remove(this.#byUser, userId, entry);
      for (const room of entry.rooms) remove(this.#byRoom, room, entry);
      entry.resolve?.(false);
      entry.resolve = undefined;
    };
    return {
      wait: (timeoutMs) => {
        if (entry.woken) return Promise.resolve(true);
        if (closed || this.#closed || timeoutMs <= 0) return Promise.resolve(false);
        return new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => finish(false), timeoutMs);
          const finish = (woken: boolean) => {
            clearTimeout(timer);
            entry.resolve = undefined;
            resolve(woken);
          };
          entry.resolve = finish;
        });
      },
      reset: () => {
        entry.woken = false;
        entry.since = this.#sequence;
      },
      addRooms,
      get readSequence() {
        return entry.since;
      },
      resume: (sequence, rooms) => {
        entry.since = sequence;
        entry.woken = (this.#lastUserNotice.get(userId) ?? 0) > sequence;
        addRooms(rooms);
      },
      close,
    };
  }

  #wakeAll(entries: Set<Entry> | undefined): void {
    for (const entry of entries ?? []) {
      entry.woken = true;
      entry.resolve?.(true);
    }
  }
}

function add(index: Map<string, Set<Entry>>, key: string, entry: Entry): void {
  let set = index.get(key);
  if (set === undefined) {
    set = new Set();
    index.set(key, set);
  }
  set.add(entry);
}

function remove(index: Map<string, Set<Entry>>, key: string, entry: Entry): void {
  const set = index.get(key);
  if (set === undefined) return;
  set.delete(entry);
  if (set.size === 0) index.delete(key);
}
