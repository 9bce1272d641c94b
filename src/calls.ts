/**
 * Calls awaiting a reply over the bus, matched by reqId, each with a deadline. A call whose reply
 * does not come in time is failed by its `onTimeout` (an API Timeout status, a gRPC
 * DeadlineExceeded, ...); a reply arriving after that, or twice, is ignored.
 *
 * The deadlines share one component timer, the key `<prefix>`, armed while some call waits: a
 * reply does not move it (nearly every call is answered long before its deadline, often by a
 * reply whose handler makes the next call), and when it fires, the calls due time out in deadline
 * order (equal deadlines in the order the calls were made) and it is armed again for the earliest
 * deadline still waited for. It is cancelled when the last waiting call is answered, so an idle
 * owner has no timer. A timer request per call and another per reply cost more than everything
 * else a reply does. The owner routes its timer keys to `timer()`.
 */
import type { Port } from './component.ts';

const noop = (): void => {};

interface Deadline {
  reqId: string;
  atMs: number;
}

interface Pending<R> {
  cb: (reply: R) => void;
  onTimeout: () => void;
  /** This call's entry in the deadline queue; undefined without a deadline. */
  deadline: Deadline | undefined;
}

export class Calls<R extends { reqId: string }> {
  private readonly pending = new Map<string, Pending<R>>();
  /**
   * Deadlines by instant, equal instants in the order of the calls; entries before `head` are
   * done. An entry whose call was answered stays until it comes to the head.
   */
  private deadlines: Deadline[] = [];
  private head = 0;
  /** Calls with a deadline still waiting. */
  private live = 0;
  /** The instant the timer is armed for. */
  private armedAtMs: number | undefined;

  constructor(
    private readonly port: Port,
    private readonly prefix: string,
  ) {}

  /** Waits for the reply to `reqId` (send the request yourself); no deadline without `timeoutMs`. */
  await(reqId: string, cb: (reply: R) => void, timeoutMs?: number, onTimeout?: () => void): void {
    const prev = this.pending.get(reqId);
    if (prev?.deadline) this.live--;
    if (timeoutMs === undefined || onTimeout === undefined) {
      this.pending.set(reqId, { cb, onTimeout: onTimeout ?? noop, deadline: undefined });
      return;
    }
    // The instant a component timer of `timeoutMs` would fire at.
    const deadline: Deadline = { reqId, atMs: this.port.now() + Math.max(0, Math.round(timeoutMs)) };
    this.pending.set(reqId, { cb, onTimeout, deadline });
    this.live++;
    this.insert(deadline);
    if (this.armedAtMs === undefined || deadline.atMs < this.armedAtMs) this.arm(deadline.atMs);
  }

  /** Hands a reply to its caller; false when nobody waits for it (late or duplicated). */
  resolve(reply: R): boolean {
    const p = this.pending.get(reply.reqId);
    if (!p) return false;
    this.pending.delete(reply.reqId);
    if (p.deadline) this.live--;
    p.cb(reply);
    // Checked after the callback: it often makes the next call, which keeps the timer.
    if (this.live === 0 && this.armedAtMs !== undefined) this.disarm();
    return true;
  }

  /** Routes the owner's timer keys: true when `key` is the deadline timer. */
  timer(key: string): boolean {
    if (key !== this.prefix) return false;
    this.armedAtMs = undefined;
    const now = this.port.now();
    const due: Deadline[] = [];
    while (this.head < this.deadlines.length && this.deadlines[this.head]!.atMs <= now) due.push(this.deadlines[this.head++]!);
    for (const d of due) {
      const p = this.pending.get(d.reqId);
      if (!p || p.deadline !== d) continue;
      this.pending.delete(d.reqId);
      this.live--;
      p.onTimeout();
    }
    this.rearm();
    return true;
  }

  get size(): number {
    return this.pending.size;
  }

  /** Places a deadline after every one at the same instant or earlier. */
  private insert(d: Deadline): void {
    const list = this.deadlines;
    let lo = this.head;
    let hi = list.length;
    // Nearly always the latest: calls are made in time order with one timeout.
    if (hi === lo || list[hi - 1]!.atMs <= d.atMs) {
      list.push(d);
      return;
    }
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid]!.atMs <= d.atMs) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, d);
  }

  /** Arms the timer for the earliest deadline still waited for, dropping answered ones before it. */
  private rearm(): void {
    const list = this.deadlines;
    while (this.head < list.length) {
      const d = list[this.head]!;
      if (this.pending.get(d.reqId)?.deadline === d) break;
      this.head++;
    }
    if (this.live === 0 || this.head >= list.length) {
      this.deadlines = [];
      this.head = 0;
      return;
    }
    if (this.head > 1024 && this.head * 2 > list.length) {
      this.deadlines = list.slice(this.head);
      this.head = 0;
    }
    const next = this.deadlines[this.head]!.atMs;
    if (this.armedAtMs === undefined || next < this.armedAtMs) this.arm(next);
  }

  /** Nobody waits: no timer, and the answered calls' deadlines go. */
  private disarm(): void {
    this.armedAtMs = undefined;
    this.deadlines = [];
    this.head = 0;
    this.port.cancelTimer(this.prefix);
  }

  private arm(atMs: number): void {
    this.armedAtMs = atMs;
    this.port.setTimer(this.prefix, atMs - this.port.now());
  }
}
