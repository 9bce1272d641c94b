/**
 * A controller's work queue, as client-go's `util/workqueue` builds it, driven by the simulation
 * clock instead of goroutines:
 *
 * - `add(key)`: a key already waiting is not queued twice (the `dirty` set folds repeated adds);
 *   a key being processed is queued again only when its processing is `done`, so no key is ever
 *   handed to two workers at once (queue.go Add/Get/Done).
 * - `addAfter(key, ms)`: the delaying queue; a key waiting for an earlier instant keeps it
 *   (delaying_queue.go).
 * - `addRateLimited(key)` / `forget(key)`: `DefaultControllerRateLimiter` (default_rate_limiters.go):
 *   the larger of a per-item exponential backoff, 5 ms doubling to 1000 s, and an overall token
 *   bucket of 10 qps with a burst of 100.
 * - Workers: up to `workers` keys are processed at once (kube-controller-manager's
 *   --concurrent-*-syncs). Processing is asynchronous — a sync issues API writes and finishes when
 *   their answers come — so keys that arrive meanwhile fold into one later sync, as they do in a
 *   real controller. Queued keys are handed out on a zero-delay timer: every add made in the same
 *   simulated instant before it fires is folded, in a deterministic order (first added, first out).
 * - `busyFor(key, ms)`: the sync of `key` takes that much processing time besides its API calls
 *   (a controller's own work, proportional to what it looked at; upstream computes, then makes
 *   its blocking calls): the worker holds the key that much longer after the sync's writes are
 *   answered, so that keys added meanwhile fold into one later sync. Under 1 ms it is nothing:
 *   the simulated clock counts whole milliseconds.
 *
 * The owner routes its timer keys to `timer()` (keys start with `<name>/`).
 */
import type { Port } from './component.ts';

/** What a worker does with one key; it calls `done` once, with an error to be retried. */
export type ProcessFn = (key: string, done: (err?: string) => void) => void;

/** client-go's DefaultControllerRateLimiter: max of the per-item exponential and the bucket. */
export class ControllerRateLimiter {
  private readonly failures = new Map<string, number>();
  /** Token bucket (golang.org/x/time/rate): tokens available at `lastMs`. */
  private tokens: number;
  private lastMs = 0;

  constructor(
    private readonly baseDelayMs = 5, // workqueue.DefaultControllerRateLimiter: 5 ms
    private readonly maxDelayMs = 1_000_000, // ... up to 1000 s
    private readonly qps = 10, // BucketRateLimiter: rate.NewLimiter(rate.Limit(10), 100)
    private readonly burst = 100,
  ) {
    this.tokens = burst;
  }

  /** The delay before `key` may be processed again; counts one more failure of it. */
  when(key: string, nowMs: number): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    // ItemExponentialFailureRateLimiter: base * 2^failures, capped (and no overflow).
    const exp = n > 40 ? this.maxDelayMs : Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** n);
    // BucketRateLimiter: Reserve() takes a token, possibly from the future.
    this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.lastMs) * this.qps) / 1000);
    this.lastMs = nowMs;
    this.tokens -= 1;
    const bucket = this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.qps);
    return Math.max(exp, bucket);
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}

export interface WorkQueueOptions {
  /** Timer-key prefix, unique within the owning component. */
  name: string;
  /** Keys processed at once (kube-controller-manager --concurrent-*-syncs). */
  workers: number;
  process: ProcessFn;
  rateLimiter?: ControllerRateLimiter;
  /** Hand out nothing until `run()` (a controller starts its workers once its caches synced). */
  paused?: boolean;
  /** A key that failed this many times in a row is dropped (a controller's maxRetries). */
  maxRetries?: number;
}

export class WorkQueue {
  /** Keys waiting for a worker, first added first out. */
  private queue: string[] = [];
  private head = 0;
  /** Keys added and not yet handed to a worker (queue.go `dirty`). */
  private readonly dirty = new Set<string>();
  /** Keys a worker holds (queue.go `processing`). */
  private readonly processing = new Set<string>();
  /** Delayed adds: key -> instant it is due (delaying_queue.go waitingForQueue). */
  private readonly waiting = new Map<string, number>();
  private waitingArmedAtMs: number | undefined;
  private drainArmed = false;
  private paused: boolean;
  readonly rateLimiter: ControllerRateLimiter;
  private readonly drainKey: string;
  private readonly delayKey: string;
  private readonly busyPrefix: string;
  /** Processing time of the sync of each key (busyFor), and how the syncs still held ended. */
  private readonly busyMs = new Map<string, number>();
  private readonly held = new Map<string, string | undefined>();

  constructor(
    private readonly port: Port,
    private readonly opts: WorkQueueOptions,
  ) {
    this.rateLimiter = opts.rateLimiter ?? new ControllerRateLimiter();
    this.paused = opts.paused ?? false;
    this.drainKey = `${opts.name}/drain`;
    this.delayKey = `${opts.name}/delay`;
    this.busyPrefix = `${opts.name}/busy/`;
  }

  /** The sync of `key` now being processed takes `ms` of processing time (whole ms count). */
  busyFor(key: string, ms: number): void {
    const whole = Math.floor(ms);
    if (whole < 1 || !this.processing.has(key)) return;
    this.busyMs.set(key, whole);
  }

  add(key: string): void {
    if (this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.queue.push(key);
    this.armDrain();
  }

  /** Adds `key` after `delayMs` (at once when 0); an earlier pending instant wins. */
  addAfter(key: string, delayMs: number): void {
    if (delayMs <= 0) return this.add(key);
    const due = this.port.now() + Math.round(delayMs);
    const prev = this.waiting.get(key);
    if (prev !== undefined && prev <= due) return;
    this.waiting.set(key, due);
    if (this.waitingArmedAtMs === undefined || due < this.waitingArmedAtMs) {
      this.waitingArmedAtMs = due;
      this.port.setTimer(this.delayKey, due - this.port.now());
    }
  }

  /** Starts the workers (cache.WaitForCacheSync is done): what was added meanwhile is handed out. */
  run(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.length > 0) this.armDrain();
  }

  addRateLimited(key: string): void {
    this.addAfter(key, this.rateLimiter.when(key, this.port.now()));
  }

  forget(key: string): void {
    this.rateLimiter.forget(key);
  }

  get length(): number {
    return this.queue.length - this.head;
  }

  /** Whether `key` waits for a worker or is being processed. */
  has(key: string): boolean {
    return this.dirty.has(key) || this.processing.has(key);
  }

  /** Whether `key` was added and waits for a worker (it may be processed meanwhile). */
  isQueued(key: string): boolean {
    return this.dirty.has(key);
  }

  /** Routes the owner's timer keys; true when `key` was this queue's. */
  timer(key: string): boolean {
    if (key === this.drainKey) {
      this.drainArmed = false;
      this.drain();
      return true;
    }
    if (key === this.delayKey) {
      this.waitingArmedAtMs = undefined;
      this.promoteDue();
      return true;
    }
    if (key.startsWith(this.busyPrefix)) {
      const k = key.slice(this.busyPrefix.length);
      if (this.held.has(k)) {
        const err = this.held.get(k);
        this.held.delete(k);
        this.finish(k, err);
      }
      return true;
    }
    return false;
  }

  private armDrain(): void {
    if (this.drainArmed || this.paused || this.processing.size >= this.opts.workers) return;
    this.drainArmed = true;
    this.port.setTimer(this.drainKey, 0);
  }

  /** Hands queued keys to free workers. */
  private drain(): void {
    while (this.head < this.queue.length && this.processing.size < this.opts.workers) {
      const key = this.queue[this.head++]!;
      this.dirty.delete(key);
      this.processing.add(key);
      let finished = false;
      this.opts.process(key, (err) => {
        if (finished) return;
        finished = true;
        // The sync's own processing time (busyFor) follows its calls: the key is held that long.
        const busy = this.busyMs.get(key);
        if (busy === undefined) return this.finish(key, err);
        this.busyMs.delete(key);
        this.held.set(key, err);
        this.port.setTimer(`${this.busyPrefix}${key}`, busy);
      });
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** processNextWorkItem's end: forget or requeue with backoff, then Done. */
  private finish(key: string, err: string | undefined): void {
    if (err === undefined) this.forget(key);
    else if (this.opts.maxRetries !== undefined && this.rateLimiter.numRequeues(key) >= this.opts.maxRetries) {
      this.port.note(`${this.opts.name}: dropping ${key} out of the queue after ${this.opts.maxRetries} retries: ${err}`);
      this.forget(key);
    } else this.addRateLimited(key);
    this.done(key);
  }

  /** queue.go Done: a key added while it was processed goes back in line. */
  private done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) this.queue.push(key);
    if (this.length > 0) this.armDrain();
  }

  private promoteDue(): void {
    const now = this.port.now();
    let next: number | undefined;
    const due: [string, number][] = [];
    for (const [key, at] of this.waiting) {
      if (at <= now) due.push([key, at]);
      else if (next === undefined || at < next) next = at;
    }
    // Earliest first, as the delaying queue's heap hands them; equal instants in the order they
    // were first delayed (Map order, and sort is stable): never by hash or arrival race.
    due.sort((a, b) => a[1] - b[1]);
    for (const [key] of due) {
      this.waiting.delete(key);
      this.add(key);
    }
    if (next !== undefined) {
      this.waitingArmedAtMs = next;
      this.port.setTimer(this.delayKey, next - now);
    }
  }
}
