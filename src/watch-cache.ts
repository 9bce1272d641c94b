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

  /**
   * Positions of the kept events by the node of the object (or of the object before: a pod
   * leaving a node), and by name: a watch with a field selector resumes from its few events
   * instead of reading every event of the kind (a kubelet resuming its pods' watch in a cluster
   * of thousands of pods). Built at the first such watch; positions below `start` are evicted.
   */
  private byNode: Map<string, number[]> | undefined;
  private byName: Map<string, number[]> | undefined;

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
    const e: CachedEvent = { type, obj, old, rv, atMs };
    this.ring[this.end % this.capacity] = e;
    if (this.byNode) this.fileByNode(this.byNode, e, this.end);
    if (this.byName) this.fileByName(this.byName, e, this.end);
    this.end++;
  }

  private fileByNode(index: Map<string, number[]>, e: CachedEvent, pos: number): void {
    const now = e.obj.spec?.nodeName;
    const before = e.old?.spec?.nodeName;
    if (typeof now === 'string') this.file(index, now, pos);
    if (typeof before === 'string' && before !== now) this.file(index, before, pos);
  }

  private fileByName(index: Map<string, number[]>, e: CachedEvent, pos: number): void {
    this.file(index, e.obj.metadata.name ?? '', pos);
  }

  private file(index: Map<string, number[]>, key: string, pos: number): void {
    let list = index.get(key);
    if (!list) index.set(key, (list = []));
    // Evicted positions go once they are half the list.
    if (list.length >= 16 && list[list.length >> 1]! < this.start) list.splice(0, this.firstKept(list));
    list.push(pos);
  }

  /** Index in `list` of the first position not evicted. */
  private firstKept(list: readonly number[]): number {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid]! < this.start) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * The kept events after `fromRv` whose object is (or was, for `nodeName`) on node `nodeName`
   * or is named `name` — a subset of `since(fromRv)`'s events in the same order, every event a
   * watch with that field selector can see — or the 410 message.
   */
  sinceFor(fromRv: number, sel: { nodeName?: string | undefined; name?: string | undefined }): { events: CachedEvent[] } | { tooOld: string } {
    const tooOld = this.tooOld(fromRv);
    if (tooOld !== undefined) return { tooOld };
    let list: number[] | undefined;
    if (sel.nodeName !== undefined) {
      if (!this.byNode) this.byNode = this.build((index, e, pos) => this.fileByNode(index, e, pos));
      list = this.byNode.get(sel.nodeName);
    } else if (sel.name !== undefined) {
      if (!this.byName) this.byName = this.build((index, e, pos) => this.fileByName(index, e, pos));
      list = this.byName.get(sel.name);
    } else return this.since(fromRv);
    const events: CachedEvent[] = [];
    if (!list) return { events };
    for (let i = this.firstKept(list); i < list.length; i++) {
      const e = this.ring[list[i]! % this.capacity]!;
      if (e.rv > fromRv) events.push(e);
    }
    return { events };
  }

  private build(fileOne: (index: Map<string, number[]>, e: CachedEvent, pos: number) => void): Map<string, number[]> {
    const index = new Map<string, number[]>();
    for (let pos = this.start; pos < this.end; pos++) fileOne(index, this.ring[pos % this.capacity]!, pos);
    return index;
  }

  private tooOld(fromRv: number): string | undefined {
    // getAllEventsSinceLocked: with nothing evicted the oldest deliverable change is listRv + 1.
    const oldest = this.start === 0 ? this.listRv + 1 : this.ring[this.start % this.capacity]!.rv;
    return fromRv < oldest - 1 ? `too old resource version: ${fromRv} (${oldest - 1})` : undefined;
  }

  /**
   * Every kept event after `fromRv`, oldest first; or the 410 message when events after it were
   * already evicted.
   */
  since(fromRv: number): { events: CachedEvent[] } | { tooOld: string } {
    const tooOld = this.tooOld(fromRv);
    if (tooOld !== undefined) return { tooOld };
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
