/**
 * The message bus. Every message between actors goes through `send`, which stamps it
 * (from, to, type, sentAt), draws a seeded latency from the network model and schedules its
 * delivery on the simulated clock. Messages on one link (from → to) arrive in the order sent,
 * like a TCP stream or a watch: a later message never overtakes an earlier one on its link,
 * unless a fault asks for reordering. Deliveries due at the same instant run in send order.
 *
 * Fault hooks: `faults` (set by sim/faults.ts) sees every message before it is scheduled and
 * may drop it, delay it, duplicate it or let it overtake (reorder). RxJS carries the ordered
 * deliveries to subscribers (invariant checkers, exporters) through `delivered$`.
 */
import { Subject } from 'rxjs';
import type { SimClock } from './clock.ts';
import type { Rng } from './rng.ts';
import type { Trace } from './trace.ts';
import { summarize, type Msg } from './protocol.ts';
import { assert } from './assert.ts';

export interface Envelope {
  seq: number;
  from: string;
  to: string;
  /** `from>to`, as the trace names the link. */
  route: string;
  msg: Msg;
  sentAtMs: number;
}

export interface NetworkModel {
  latencyMsMin: number;
  latencyMsMax: number;
}

/** What a fault does to one message: copies to deliver, each with extra delay; reorder skips FIFO. */
export interface Routing {
  delaysMs: readonly number[];
  reorder?: boolean;
}

export interface FaultHook {
  route(env: Envelope, nowMs: number): Routing | undefined;
}

interface Link {
  lastDeliverAtMs: number;
}

/** The links from one address to another: its route name and one FIFO per stream. */
interface Route {
  name: string;
  streams: Map<string, Link>;
}

export type Receiver = (env: Envelope) => void;

/**
 * The host an address runs on, for partitions: a kubelet lives on its node (`kubelet/node-1` ->
 * `node-1`), a storage system on its own server (`backend/ceph` -> `ceph`), every control-plane
 * component on a host named after itself (`apiserver`, `kube-scheduler`, `cluster-dns`, ...).
 */
export function hostOf(address: string): string {
  const slash = address.indexOf('/');
  return slash < 0 ? address : address.slice(slash + 1);
}

const NORMAL: Routing = { delaysMs: [0] };
const DROP: Routing = { delaysMs: [] };

export class Bus {
  readonly delivered$ = new Subject<Envelope>();
  faults: FaultHook | undefined;
  /** Host -> partition group; hosts in different groups cannot reach each other. */
  private groupOf: Map<string, number> | undefined;
  /** Messages delivered (stats.messages). */
  delivered = 0;
  dropped = 0;
  private seq = 0;
  private readonly receivers = new Map<string, Receiver>();
  /** Addresses placed on a host other than hostOf's (see `place`). */
  private readonly placed = new Map<string, string>();
  /** from -> to -> route (stream '' or the watched kind -> link). */
  private readonly routes = new Map<string, Map<string, Route>>();
  /** One function for every scheduled delivery (the clock hands it the envelope). */
  private readonly deliverEnvelope = (env: Envelope): void => this.deliver(env);

  constructor(
    private readonly clock: SimClock,
    private readonly rng: Rng,
    private readonly trace: Trace,
    readonly network: NetworkModel,
  ) {
    assert(network.latencyMsMin <= network.latencyMsMax, 'bus: latency min > max');
  }

  register(address: string, receive: Receiver): void {
    assert(!this.receivers.has(address), `bus: address ${address} registered twice`);
    this.receivers.set(address, receive);
  }

  has(address: string): boolean {
    return this.receivers.has(address);
  }

  /**
   * Splits the network: hosts listed in different groups cannot exchange messages (both ways);
   * hosts not listed are unaffected. `undefined` heals.
   */
  partition(groups: readonly (readonly string[])[] | undefined): void {
    if (!groups) {
      this.groupOf = undefined;
      return;
    }
    this.groupOf = new Map();
    groups.forEach((g, i) => g.forEach((h) => this.groupOf!.set(h, i)));
  }

  /**
   * Runs `address` on `host` for partitions, where hostOf's rule does not say it: the
   * controllers are processes of kube-controller-manager, so a partition of
   * kube-controller-manager cuts them all off.
   */
  place(address: string, host: string): void {
    this.placed.set(address, host);
  }

  /** The host `address` runs on (see hostOf and place). */
  hostFor(address: string): string {
    return this.placed.get(address) ?? hostOf(address);
  }

  private severed(from: string, to: string): boolean {
    const a = this.groupOf!.get(this.hostFor(from));
    const b = this.groupOf!.get(this.hostFor(to));
    return a !== undefined && b !== undefined && a !== b;
  }

  send(from: string, to: string, msg: Msg): void {
    const route = this.route(from, to);
    const env: Envelope = { seq: this.seq++, from, to, route: route.name, msg, sentAtMs: this.clock.nowMs };
    const routing = this.groupOf && this.severed(from, to) ? DROP : ((this.faults && this.faults.route(env, this.clock.nowMs)) ?? NORMAL);
    if (routing.delaysMs.length === 0) {
      this.dropped++;
      this.trace.record(this.clock.nowMs, 'X', route.name, summarize(msg));
      return;
    }
    const { latencyMsMin: lo, latencyMsMax: hi } = this.network;
    const latency = lo === hi ? lo : this.rng.int(lo, hi);
    // Each informer has its own watch stream (one per kind), as client-go opens one watch per
    // resource: a held-back Node event does not hold back Pod events to the same controller.
    const stream = msg.type === 'watch' ? msg.obj.kind : '';
    let link = route.streams.get(stream);
    if (!link) route.streams.set(stream, (link = { lastDeliverAtMs: 0 }));
    for (const extra of routing.delaysMs) {
      let at = this.clock.nowMs + latency + extra;
      // A reordered copy neither waits for earlier messages nor holds back later ones.
      if (!routing.reorder) {
        at = Math.max(at, link.lastDeliverAtMs);
        link.lastDeliverAtMs = at;
      }
      this.clock.at(at, this.deliverEnvelope, env);
    }
  }

  private deliver(env: Envelope): void {
    const receive = this.receivers.get(env.to);
    if (!receive) {
      this.dropped++;
      this.trace.record(this.clock.nowMs, 'X', env.route, `no-receiver ${summarize(env.msg)}`);
      return;
    }
    this.delivered++;
    this.trace.record(this.clock.nowMs, 'D', env.route, summarize(env.msg));
    receive(env);
    if (this.delivered$.observed) this.delivered$.next(env);
  }

  private route(from: string, to: string): Route {
    let byTo = this.routes.get(from);
    if (!byTo) this.routes.set(from, (byTo = new Map()));
    let route = byTo.get(to);
    if (!route) byTo.set(to, (route = { name: `${from}>${to}`, streams: new Map() }));
    return route;
  }
}
