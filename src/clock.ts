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
  fn: () => void;
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

  /** Schedules `fn` at the absolute simulated time `atMs` (never in the past). */
  at(atMs: number, fn: () => void): Timer {
    assert(Number.isFinite(atMs), `clock.at: bad time ${atMs}`);
    const t: Timer = { dueAtMs: Math.max(atMs, this.nowMs), seq: this.seq++, fn, cancelled: false };
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
    top.fn();
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

  private dropCancelled(): void {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
  }

  private less(a: Timer, b: Timer): boolean {
    return a.dueAtMs < b.dueAtMs || (a.dueAtMs === b.dueAtMs && a.seq < b.seq);
  }

  private push(t: Timer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Timer | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
