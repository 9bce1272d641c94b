/**
 * The API server's watch cache for one kind (k8s.io/apiserver/pkg/storage/cacher/watch_cache.go,
 * v1.30): a ring of the latest change events, so that a watch can start from a resourceVersion
 * a client saw earlier and receive every change after it, in order.
 *
 * - The cache starts empty at the resourceVersion of the list it was built from (`listRv`: the
 *   store's revision when the API server started). As long as no event has been evicted, a watch
 *   from `listRv` or later is served; once events were evicted, from the oldest kept event's
 *   revision minus one (getAllEventsSinceLocked).
 * - A watch from an older revision gets `410 Gone`: `too old resource version: X (Y)`.
 * - Capacity starts at 100 events and adapts as resizeCacheLocked does: when the ring is full and
 *   its oldest event is younger than `eventFreshDuration` (75 s) it doubles (up to 100 * 1024);
 *   when full and the event a quarter from the newest is older than 75 s it halves (down to 100).
 *   So it keeps at least the last 75 s of events, within its capacity.
 *
 * Pure data: no messages. actors/apiserver.ts owns one per kind and loses them when it crashes.
 */
import type { KObject } from './protocol.ts';

// staging/src/k8s.io/apiserver/pkg/storage/cacher/watch_cache.go (v1.30)
export const EVENT_FRESH_DURATION_MS = 75_000;
export const LOWER_BOUND_CAPACITY = 100;
export const UPPER_BOUND_CAPACITY = 100 * 1024;

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface CachedEvent {
  type: ChangeType;
  obj: KObject;
  /** The object before this change (field selectors need it: a pod leaving a node). */
  old: KObject | undefined;
  rv: number;
  atMs: number;
}

export class WatchCache {
  private ring: (CachedEvent | undefined)[];
  private capacity = LOWER_BOUND_CAPACITY;
  /** Index of the oldest kept event and one past the newest (monotonic, taken modulo capacity). */
  private start = 0;
  private end = 0;

  constructor(readonly listRv: number) {
    this.ring = new Array(this.capacity);
  }

  get size(): number {
    return this.end - this.start;
  }

  add(type: ChangeType, obj: KObject, old: KObject | undefined, atMs: number): void {
    const rv = Number(obj.metadata.resourceVersion);
    this.resize(atMs);
    if (this.end - this.start === this.capacity) this.start++;
    this.ring[this.end % this.capacity] = { type, obj, old, rv, atMs };
    this.end++;
  }

  /**
   * Every kept event after `fromRv`, oldest first; or the 410 message when events after it were
   * already evicted.
   */
  since(fromRv: number): { events: CachedEvent[] } | { tooOld: string } {
    // getAllEventsSinceLocked: with nothing evicted the oldest deliverable change is listRv + 1.
    const oldest = this.start === 0 ? this.listRv + 1 : this.ring[this.start % this.capacity]!.rv;
    if (fromRv < oldest - 1) return { tooOld: `too old resource version: ${fromRv} (${oldest - 1})` };
    const events: CachedEvent[] = [];
    // Events are in revision order: find the first after fromRv by binary search.
    let lo = this.start;
    let hi = this.end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ring[mid % this.capacity]!.rv <= fromRv) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.end; i++) events.push(this.ring[i % this.capacity]!);
    return { events };
  }

  private resize(atMs: number): void {
    const full = this.end - this.start === this.capacity;
    if (!full) return;
    if (atMs - this.ring[this.start % this.capacity]!.atMs < EVENT_FRESH_DURATION_MS) {
      const capacity = Math.min(this.capacity * 2, UPPER_BOUND_CAPACITY);
      if (capacity > this.capacity) this.resizeTo(capacity);
      return;
    }
    if (atMs - this.ring[(this.end - this.capacity / 4) % this.capacity]!.atMs > EVENT_FRESH_DURATION_MS) {
      const capacity = Math.max(this.capacity / 2, LOWER_BOUND_CAPACITY);
      if (capacity < this.capacity) this.resizeTo(capacity);
    }
  }

  /** doCacheResizeLocked: keeps the newest `capacity` events. */
  private resizeTo(capacity: number): void {
    const next: (CachedEvent | undefined)[] = new Array(capacity);
    const from = Math.max(this.start, this.end - capacity);
    for (let i = from; i < this.end; i++) next[i % capacity] = this.ring[i % this.capacity];
    this.ring = next;
    this.capacity = capacity;
    this.start = from;
  }
}
