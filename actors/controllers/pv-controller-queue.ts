/**
 * The PersistentVolume controller's work queues (pv-controller.ts): one Lane per worker, as
 * pv_controller_base.go runs one volumeWorker and one claimWorker over a client-go workqueue
 * (util/workqueue/queue.go: a key queued while it is processed runs again after, never twice at
 * once).
 *
 * Differences forced by the bus: an API call does not block, so a lane holds its key until the
 * writes of that sync are answered (`End`), and takes queued keys in (namespace, name) order per
 * batch instead of arrival order. A sync whose write was refused with 409 is handed to
 * `onConflict` (pv-controller-base.ts), which runs it again once the watch has brought the newer
 * object.
 */

/** A write refused with 409: the object and the resourceVersion the write carried. */
export interface Conflict {
  kind: string;
  namespace: string | undefined;
  name: string;
  rv: number;
}
export type End = (err?: string, conflict?: Conflict) => void;

/**
 * One worker's queue: one key at a time, keys taken in (namespace, name) order per batch. A
 * sync whose write was refused with 409 runs again once the watch has brought the newer object.
 */
export class Lane {
  private readonly queued = new Set<string>();
  private batch: string[] = [];
  private next = 0;
  private running: string | undefined;
  private again = false;
  gated = true;

  constructor(
    private readonly run: (key: string, end: End) => void,
    private readonly onIdle: () => void,
    private readonly onConflict: (lane: Lane, key: string, conflict: Conflict) => void,
  ) {}

  enqueue(key: string): void {
    if (!this.gated && this.running === undefined && this.queued.size === 0) {
      // An idle lane with nothing queued takes this key at once, without the queue's
      // bookkeeping: as take() would, it passes over what is left of the last batch up to the
      // key (none of it is queued).
      while (this.next < this.batch.length) if (this.batch[this.next++] === key) break;
      this.work(key);
      return;
    }
    this.push(key);
    this.kick();
  }

  private push(key: string): void {
    if (this.running === key) this.again = true;
    else this.queued.add(key);
  }

  kick(): void {
    this.work(undefined);
  }

  /**
   * What enqueue() does with a key whose sync would change nothing and enqueue nothing, on an
   * idle lane: the sync would run at once and end inline, then the lane would find its batch
   * done and go idle. False when the lane is not idle (the key must be queued: its sync runs
   * later, on what the cache holds then).
   */
  passIdle(): boolean {
    if (this.gated || this.running !== undefined || this.queued.size !== 0) return false;
    this.next = this.batch.length;
    this.onIdle();
    return true;
  }

  /** Runs `first` (if given), then the queued keys, until a sync waits for an answer. */
  private work(first: string | undefined): void {
    let next = first;
    while (!this.gated && this.running === undefined) {
      const key = next ?? this.take();
      next = undefined;
      if (key === undefined) {
        this.onIdle();
        return;
      }
      this.running = key;
      this.again = false;
      let ended = false;
      let inline = true;
      this.run(key, (_err, conflict) => {
        if (ended) return;
        ended = true;
        this.running = undefined;
        if (this.again) this.push(key);
        if (conflict) this.onConflict(this, key, conflict);
        if (!inline) this.kick();
      });
      inline = false;
      if (!ended) return;
    }
  }

  private take(): string | undefined {
    while (this.next < this.batch.length) {
      const key = this.batch[this.next++]!;
      if (this.queued.delete(key)) return key;
    }
    const size = this.queued.size;
    if (size === 0) return undefined;
    if (size === 1) {
      // A batch of one (an idle lane handed a single key, as resync does key by key): no copy
      // to sort.
      for (const key of this.queued) {
        this.queued.clear();
        return key;
      }
    }
    this.batch = [...this.queued].sort();
    this.next = 0;
    return this.take();
  }
}
