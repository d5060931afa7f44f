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

/** What the notifier and its listeners share: who listens for what, and the notices so far. */
class Registry {
  readonly byUser = new Map<string, Set<Listener>>();
  readonly byRoom = new Map<string, Set<Listener>>();
  closed = false;
  sequence = 0;
  /** The sequence number of the latest notice per room (one number per room that ever had one). */
  readonly lastNotice = new Map<string, number>();
  /** The same per user. */
  readonly lastUserNotice = new Map<string, number>();
}

/** One waiting or reading sync: a class, not a bundle of closures, as every long-poll makes one. */
class Listener implements SyncListener {
  readonly rooms = new Set<string>();
  woken = false;
  /** The notice sequence number when the current read began. */
  since: number;
  resolve: ((woken: boolean) => void) | undefined = undefined;
  #closed = false;

  constructor(
    private readonly registry: Registry,
    readonly userId: string,
  ) {
    this.since = registry.sequence;
    add(registry.byUser, userId, this);
  }

  wait(timeoutMs: number): Promise<boolean> {
    if (this.woken) return Promise.resolve(true);
    if (this.#closed || this.registry.closed || timeoutMs <= 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => finish(false), timeoutMs);
      const finish = (woken: boolean) => {
        clearTimeout(timer);
        this.resolve = undefined;
        resolve(woken);
      };
      this.resolve = finish;
    });
  }

  reset(): void {
    this.woken = false;
    this.since = this.registry.sequence;
  }

  addRooms(rooms: Iterable<string>): void {
    if (this.#closed) return;
    for (const room of rooms) {
      if (this.rooms.has(room)) continue;
      this.rooms.add(room);
      add(this.registry.byRoom, room, this);
      if ((this.registry.lastNotice.get(room) ?? 0) > this.since) this.woken = true;
    }
  }

  get readSequence(): number {
    return this.since;
  }

  resume(sequence: number, rooms: Iterable<string>): void {
    this.since = sequence;
    this.woken = (this.registry.lastUserNotice.get(this.userId) ?? 0) > sequence;
    this.addRooms(rooms);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    remove(this.registry.byUser, this.userId, this);
    for (const room of this.rooms) remove(this.registry.byRoom, room, this);
    this.resolve?.(false);
    this.resolve = undefined;
  }
}

export class SyncNotifier {
  readonly #registry = new Registry();

  /** Ends every wait (unwoken) and every later one at once: the server is shutting down. */
  close(): void {
    this.#registry.closed = true;
    for (const listeners of this.#registry.byUser.values()) {
      for (const listener of listeners) listener.resolve?.(false);
    }
  }

  /** How many syncs are waiting or reading (for metrics and tests). */
  get listeners(): number {
    let count = 0;
    for (const set of this.#registry.byUser.values()) count += set.size;
    return count;
  }

  notify(notice: StreamNotice): void {
    const registry = this.#registry;
    const sequence = ++registry.sequence;
    for (const room of notice.rooms ?? []) {
      registry.lastNotice.set(room, sequence);
      wakeAll(registry.byRoom.get(room));
    }
    for (const user of notice.users ?? []) {
      registry.lastUserNotice.set(user, sequence);
      wakeAll(registry.byUser.get(user));
    }
  }

  listen(userId: string): SyncListener {
    return new Listener(this.#registry, userId);
  }
}

function wakeAll(listeners: Set<Listener> | undefined): void {
  for (const listener of listeners ?? []) {
    listener.woken = true;
    listener.resolve?.(true);
  }
}

function add(index: Map<string, Set<Listener>>, key: string, entry: Listener): void {
  let set = index.get(key);
  if (set === undefined) {
    set = new Set();
    index.set(key, set);
  }
  set.add(entry);
}

function remove(index: Map<string, Set<Listener>>, key: string, entry: Listener): void {
  const set = index.get(key);
  if (set === undefined) return;
  set.delete(entry);
  if (set.size === 0) index.delete(key);
}
