/**
 * Calls awaiting a reply over the bus, matched by reqId, each with a deadline. A call whose reply
 * does not come in time is failed by its `onTimeout` (an API Timeout status, a gRPC
 * DeadlineExceeded, ...); a reply arriving after that, or twice, is ignored. The deadline is a
 * component timer `<prefix>/<reqId>`: the owner routes its timer keys to `timer()`.
 */
import type { Port } from './component.ts';

const noop = (): void => {};

interface Pending<R> {
  cb: (reply: R) => void;
  onTimeout: () => void;
  armed: boolean;
}

export class Calls<R extends { reqId: string }> {
  private readonly pending = new Map<string, Pending<R>>();

  constructor(
    private readonly port: Port,
    private readonly prefix: string,
  ) {}

  /** Waits for the reply to `reqId` (send the request yourself); no deadline without `timeoutMs`. */
  await(reqId: string, cb: (reply: R) => void, timeoutMs?: number, onTimeout?: () => void): void {
    const armed = timeoutMs !== undefined && onTimeout !== undefined;
    this.pending.set(reqId, { cb, onTimeout: onTimeout ?? noop, armed });
    if (armed) this.port.setTimer(`${this.prefix}/${reqId}`, timeoutMs);
  }

  /** Hands a reply to its caller; false when nobody waits for it (late or duplicated). */
  resolve(reply: R): boolean {
    const p = this.pending.get(reply.reqId);
    if (!p) return false;
    this.pending.delete(reply.reqId);
    if (p.armed) this.port.cancelTimer(`${this.prefix}/${reply.reqId}`);
    p.cb(reply);
    return true;
  }

  /** Routes the owner's timer keys: true when `key` was one of these deadlines. */
  timer(key: string): boolean {
    if (!key.startsWith(`${this.prefix}/`)) return false;
    const reqId = key.slice(this.prefix.length + 1);
    const p = this.pending.get(reqId);
    if (p) {
      this.pending.delete(reqId);
      p.onTimeout();
    }
    return true;
  }

  get size(): number {
    return this.pending.size;
  }
}
