/** A Port for unit-testing a Component without XState, a bus or a clock. */
import type { Component, Port } from '../../src/component.ts';
import { isoAt } from '../../src/component.ts';
import type { Msg } from '../../src/protocol.ts';
import { Rng } from '../../src/rng.ts';
import { Ids } from '../../src/ids.ts';

export class FakePort implements Port {
  nowMs = 0;
  sent: { to: string; msg: Msg }[] = [];
  timers = new Map<string, number>();
  notes: string[] = [];
  readonly rng: Rng;
  readonly ids: Ids;
  constructor(readonly address = 'test', seed = 1) {
    this.rng = Rng.root(seed).fork(address);
    this.ids = new Ids(this.rng.fork('ids'));
  }
  now(): number {
    return this.nowMs;
  }
  nowIso(): string {
    return isoAt(Date.UTC(2025, 0, 1), this.nowMs);
  }
  send(to: string, msg: Msg): void {
    this.sent.push({ to, msg });
  }
  setTimer(key: string, delayMs: number): void {
    this.timers.set(key, this.nowMs + delayMs);
  }
  cancelTimer(key: string): void {
    this.timers.delete(key);
  }
  note(detail: string): void {
    this.notes.push(detail);
  }
  /**
   * Fires on `c` the earliest timer due by `untilMs` (ties: the first armed), moving the clock to
   * its deadline. False when none is due: the clock then stays where it is.
   */
  fireDue(c: Component, untilMs: number): boolean {
    let next: [string, number] | undefined;
    for (const [k, at] of this.timers) if (at <= untilMs && (!next || at < next[1])) next = [k, at];
    if (!next) return false;
    this.timers.delete(next[0]);
    this.nowMs = next[1];
    c.timer?.(next[0]);
    return true;
  }

  /** Armed timers other than the informers' (each informer keeps a watch-timeout timer). */
  workTimers(): string[] {
    return [...this.timers.keys()].filter((k) => !k.startsWith('informer/'));
  }

  /** Messages sent since the last call, then forgets them. */
  take(): { to: string; msg: Msg }[] {
    const s = this.sent;
    this.sent = [];
    return s;
  }
}
