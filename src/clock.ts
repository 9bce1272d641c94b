/**
 * The simulated clock: one binary heap of timers ordered by (dueAtMs, seq).
 *
 * Everything that happens later — XState `after` timers, bus deliveries, scripted faults and
 * user actions — is an entry in this one heap, so a single total order covers the whole world.
 * Equal deadlines run in the order they were scheduled (seq breaks ties), as RxJS's
 * VirtualTimeScheduler does; XState's SimulatedClock does not, which is why we do not use it.
 * Time is integer milliseconds since the scenario's startTime.
 *
 * The object also satisfies XState's `Clock` interface (`setTimeout`/`clearTimeout`), so it is
 * passed to every `createActor(..., { clock })`.
 */
import { assert } from './assert.ts';

export interface Timer {
  dueAtMs: number;
  seq: number;
  fn: (arg: any) => void;
  /** Handed to `fn`: lets a caller schedule one shared function instead of a closure per entry. */
  arg: unknown;
  cancelled: boolean;
}

export class SimClock {
  nowMs = 0;
  private heap: Timer[] = [];
  private seq = 0;
  /** Count of timers that ran (the report's stats.steps). */
  steps = 0;

  /** XState Clock interface: run `fn` after `ms` simulated milliseconds. */
  setTimeout(fn: (...args: unknown[]) => void, ms: number): Timer {
    return this.at(this.nowMs + Math.max(0, Math.round(ms)), fn as () => void);
  }

  clearTimeout(timer: Timer | undefined): void {
    if (timer) timer.cancelled = true;
  }

  /** Schedules `fn(arg)` at the absolute simulated time `atMs` (never in the past). */
  at<A>(atMs: number, fn: (arg: A) => void, arg?: A): Timer {
    assert(Number.isFinite(atMs), `clock.at: bad time ${atMs}`);
    const t: Timer = { dueAtMs: Math.max(atMs, this.nowMs), seq: this.seq++, fn, arg, cancelled: false };
    this.push(t);
    return t;
  }

  /**
   * The sequence number the next timer will get. With `atInOrder` a caller places a timer among
   * those of one instant as if it had been scheduled when the counter stood at a value it noted.
   */
  get nextSeq(): number {
    return this.seq;
  }

  /**
   * Schedules `fn(arg)` at `atMs` with the tie-breaking `seq` given (any number, fractions too)
   * instead of the next one: among timers due at the same instant it runs in `seq` order. The
   * library's faults injected from code use it to run where the same fault scripted in the
   * scenario would (sim/faults.ts).
   */
  atInOrder<A>(atMs: number, seq: number, fn: (arg: A) => void, arg?: A): Timer {
    assert(Number.isFinite(atMs) && Number.isFinite(seq), `clock.atInOrder: bad time ${atMs} or seq ${seq}`);
    const t: Timer = { dueAtMs: Math.max(atMs, this.nowMs), seq, fn, arg, cancelled: false };
    this.push(t);
    return t;
  }

  /** Due time of the next live timer, or undefined when nothing is scheduled. */
  nextDueMs(): number | undefined {
    this.dropCancelled();
    return this.heap[0]?.dueAtMs;
  }

  get pending(): number {
    return this.heap.length;
  }

  /** Runs the next timer if it is due at or before `limitMs`. Returns false when none is. */
  step(limitMs = Infinity): boolean {
    this.dropCancelled();
    const top = this.heap[0];
    if (!top || top.dueAtMs > limitMs) return false;
    this.pop();
    this.nowMs = top.dueAtMs;
    this.steps++;
    top.fn(top.arg);
    return true;
  }

  /** Runs every timer due at or before `limitMs`, then leaves the clock at `limitMs`. */
  runUntil(limitMs: number, stop?: () => boolean): boolean {
    while (this.step(limitMs)) {
      if (stop && stop()) return true;
    }
    if (this.nowMs < limitMs) this.nowMs = limitMs;
    return false;
  }

  /**
   * Whether `takeNext` may take steps: off unless the runner allows it (one that checks a
   * condition between steps must see every step), and never past `chainStepLimit` steps.
   */
  chaining = false;
  chainStepLimit = Infinity;

  /**
   * The very next step, taken off the clock for the caller to run itself: only when it is due now,
   * runs `fn`, and its argument passes `match`. It counts as a step. Nothing can come between:
   * anything scheduled while the current step runs sorts after every entry already due now
   * (`atInOrder` places timers between runs, never from inside a step).
   */
  takeNext<A>(fn: (arg: A) => void, match: (arg: A) => boolean): A | undefined {
    if (!this.chaining || this.steps >= this.chainStepLimit) return undefined;
    this.dropCancelled();
    const top = this.heap[0];
    if (!top || top.fn !== fn || top.dueAtMs !== this.nowMs || !match(top.arg as A)) return undefined;
    this.pop();
    this.steps++;
    return top.arg as A;
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
  }

  private push(t: Timer): void {
    // Sift up with a hole: move parents down until t's place is found, then write t once.
    const h = this.heap;
    let i = h.length;
    h.push(t);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p]!;
      if (parent.dueAtMs < t.dueAtMs || (parent.dueAtMs === t.dueAtMs && parent.seq < t.seq)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = t;
  }

  private pop(): Timer | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    const n = h.length;
    if (n === 0) return top;
    // Sift `last` down from the root with a hole.
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let m = l;
      let c = h[l]!;
      if (r < n) {
        const rc = h[r]!;
        if (rc.dueAtMs < c.dueAtMs || (rc.dueAtMs === c.dueAtMs && rc.seq < c.seq)) {
          m = r;
          c = rc;
        }
      }
      if (last.dueAtMs < c.dueAtMs || (last.dueAtMs === c.dueAtMs && last.seq < c.seq)) break;
      h[i] = c;
      i = m;
    }
    h[i] = last;
    return top;
  }
}
