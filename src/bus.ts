/**
 * The message bus. Every message between actors goes through `send`, which stamps it
 * (from, to, type, sentAt), draws a seeded latency from the network model and schedules its
 * delivery on the simulated clock. Messages on one link (from → to) arrive in the order sent,
 * like a TCP stream or a watch: a later message never overtakes an earlier one on its link,
 * unless a fault asks for reordering — and even then never inside a watch stream, which is one
 * TCP connection. Deliveries due at the same instant run in send order.
 *
 * Fault hooks: `faults` (set by sim/faults.ts) sees every message before it is scheduled and
 * may drop it, delay it, duplicate it or let it overtake (reorder). Partitions are `cuts`
 * between groups of hosts (several at once, each lifted by its own heal; one-way cuts drop only
 * what the first group sends); a host that is `down` (crashed) receives nothing. RxJS carries the
 * ordered deliveries to subscribers (invariant checkers, exporters) through `delivered$`.
 *
 * Watch streams are connections: each watch (`api.watch` and the `watch` events it carries) is
 * its own stream, ordered on its own. When the network loses a message of a stream — dropped by
 * a fault, a cut, or a host that is down — the connection breaks: both ends get `watch.broken`
 * (the client's reflector then resumes the watch, the API server forgets it), as a reset TCP
 * connection is seen by both peers. A crashed host resets every stream it was an end of.
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

/**
 * What a fault does to one message: copies to deliver, each with extra delay; reorder skips FIFO.
 * No copy loses it; `silent` loses it without breaking the watch stream it belongs to (a watch
 * event that simply never arrives, or what a process sent as it died).
 */
export interface Routing {
  delaysMs: readonly number[];
  reorder?: boolean;
  silent?: boolean;
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

/** A partition: hosts in different groups cannot talk (one way: only the first group's sends are lost). */
interface Cut {
  id: string;
  groupOf: Map<string, number>;
  oneWay: boolean;
}

/** An open watch stream: who watches, who serves. */
interface Stream {
  watchId: string;
  client: string;
  server: string;
}

/**
 * The host an address runs on, in SPEC §1's names (what crashes and partitions name): a kubelet
 * lives on its node (`kubelet/node-1` -> `node/node-1`), a storage system is its own host
 * (`backend/ceph`), every control-plane component a host named after itself (`apiserver`,
 * `kube-scheduler`, `cluster-dns`, ...); `place` puts the controllers on kube-controller-manager.
 */
export function hostOf(address: string): string {
  if (address.startsWith('kubelet/')) return `node/${address.slice('kubelet/'.length)}`;
  return address;
}

const NORMAL: Routing = { delaysMs: [0] };
const DROP: Routing = { delaysMs: [] };

export class Bus {
  readonly delivered$ = new Subject<Envelope>();
  /** Each message the network accepted, as it is sent (exporters draw its arrow from here). */
  readonly sent$ = new Subject<Envelope>();
  faults: FaultHook | undefined;
  /** Active partitions, in the order they were made. */
  private cuts: Cut[] = [];
  /** Hosts that are down (crashed): messages to them are lost. */
  private readonly down = new Set<string>();
  /** Open watch streams by watch id; a client has one per kind (`current`: client|kind -> id). */
  private readonly streams = new Map<string, Stream>();
  private readonly current = new Map<string, string>();
  /** Watch ids whose connection broke: reported once. */
  private readonly broken = new Set<string>();
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
  /** The message being handed over and not yet published (deliver, chainNext). */
  private handling: Envelope | undefined;
  private chainTo = '';
  /** A message chainNext may take: for the same address, to a host that is up, with nothing of deliver's to do first. */
  private readonly chainable = (env: Envelope): boolean =>
    env.to === this.chainTo && env.msg.type !== 'api.watch' && !(this.down.size > 0 && this.down.has(this.hostFor(env.to)));

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
   * Splits the network: hosts listed in different groups cannot exchange messages (both ways, or
   * with `oneWay` only what the first group sends); hosts not listed are unaffected. Cuts compose:
   * `heal(id)` lifts only the cut made under `id`.
   */
  cut(id: string, groups: readonly (readonly string[])[], oneWay = false): void {
    const groupOf = new Map<string, number>();
    groups.forEach((g, i) => g.forEach((h) => groupOf.set(h, i)));
    this.cuts = [...this.cuts.filter((c) => c.id !== id), { id, groupOf, oneWay }];
  }

  heal(id: string): void {
    this.cuts = this.cuts.filter((c) => c.id !== id);
  }

  /** One partition in place of every other (tests, the library's simple form); undefined heals all. */
  partition(groups: readonly (readonly string[])[] | undefined): void {
    this.cuts = [];
    if (groups) this.cut('partition', groups);
  }

  /**
   * Marks a host crashed (messages to it are lost from now on) and resets the watch streams it
   * was an end of: the live peer of each gets `watch.broken`.
   */
  hostDown(host: string): void {
    this.down.add(host);
    for (const s of [...this.streams.values()]) {
      if (this.hostFor(s.client) === host || this.hostFor(s.server) === host) this.breakStream(s.watchId, s.server, s.client);
    }
  }

  /**
   * Ends every watch `client` has open as the API server does when the resourceVersion it
   * would resume from is gone: an ERROR event (410 Expired), after which its informers list again.
   */
  expireWatches(client: string): void {
    for (const s of [...this.streams.values()]) {
      if (s.client !== client) continue;
      const obj = { apiVersion: 'v1', kind: 'Status', metadata: {}, status: 'Failure', reason: 'Expired', code: 410, message: 'too old resource version' };
      const env: Envelope = { seq: this.seq++, from: s.server, to: client, route: this.route(s.server, client).name, msg: { type: 'watch', watchId: s.watchId, event: 'ERROR', obj }, sentAtMs: this.clock.nowMs };
      this.clock.at(this.clock.nowMs + this.network.latencyMsMin, this.deliverEnvelope, env);
    }
  }

  /** One process died (its host lives on): the watch streams it was an end of are reset. */
  processDied(address: string): void {
    for (const s of [...this.streams.values()]) if (s.client === address || s.server === address) this.breakStream(s.watchId, s.server, s.client);
  }

  hostUp(host: string): void {
    this.down.delete(host);
  }

  isDown(host: string): boolean {
    return this.down.has(host);
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

  /** Whether a cut stands between the hosts of `from` and `to`. */
  severed(from: string, to: string): boolean {
    const hf = this.hostFor(from);
    const ht = this.hostFor(to);
    for (const c of this.cuts) {
      const a = c.groupOf.get(hf);
      if (a === undefined) continue;
      const b = c.groupOf.get(ht);
      if (b === undefined || a === b) continue;
      if (!c.oneWay || a === 0) return true;
    }
    return false;
  }

  send(from: string, to: string, msg: Msg): void {
    const route = this.route(from, to);
    const env: Envelope = { seq: this.seq++, from, to, route: route.name, msg, sentAtMs: this.clock.nowMs };
    const routing = this.cuts.length > 0 && this.severed(from, to) ? DROP : ((this.faults && this.faults.route(env, this.clock.nowMs)) ?? NORMAL);
    if (routing.delaysMs.length === 0) {
      if (routing.silent) {
        this.dropped++;
        this.trace.record(this.clock.nowMs, 'X', route.name, summarize(msg));
      } else this.lose(env);
      return;
    }
    const { latencyMsMin: lo, latencyMsMax: hi } = this.network;
    const latency = lo === hi ? lo : this.rng.int(lo, hi);
    // Each watch is its own stream, as client-go opens one watch (one HTTP stream) per
    // resource: a held-back Node event does not hold back Pod events to the same controller.
    const stream = msg.type === 'watch' ? msg.watchId : '';
    let link = route.streams.get(stream);
    if (!link) route.streams.set(stream, (link = { lastDeliverAtMs: 0 }));
    // A watch is one HTTP stream over TCP: nothing overtakes inside it, whatever a reorder
    // fault draws (client-go's reflector relies on that order); other messages may.
    const overtakes = routing.reorder && stream === '';
    for (const extra of routing.delaysMs) {
      let at = this.clock.nowMs + latency + extra;
      // A reordered copy neither waits for earlier messages nor holds back later ones.
      if (!overtakes) {
        at = Math.max(at, link.lastDeliverAtMs);
        link.lastDeliverAtMs = at;
      }
      this.clock.at(at, this.deliverEnvelope, env);
    }
    if (this.sent$.observed) this.sent$.next(env);
  }

  /** A message the network lost: traced, and the watch stream it belonged to breaks. */
  private lose(env: Envelope, why = ''): void {
    this.dropped++;
    this.trace.record(this.clock.nowMs, 'X', env.route, why + summarize(env.msg));
    const m = env.msg;
    if (m.type === 'watch') this.breakStream(m.watchId, env.from, env.to);
    else if (m.type === 'api.watch') this.breakStream(m.watchId, env.to, env.from);
  }

  /**
   * Both ends of a watch stream learn that its connection broke, after the network's shortest
   * latency (a reset travels no slower than a message); a stream breaks once.
   */
  private breakStream(watchId: string, server: string, client: string): void {
    if (this.broken.has(watchId)) return;
    this.broken.add(watchId);
    this.streams.delete(watchId);
    const msg: Msg = { type: 'watch.broken', watchId };
    const at = this.clock.nowMs + this.network.latencyMsMin;
    for (const [from, to] of [[server, client], [client, server]] as const) {
      const env: Envelope = { seq: this.seq++, from, to, route: this.route(from, to).name, msg, sentAtMs: this.clock.nowMs };
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
    const m = env.msg;
    if (this.down.size > 0 && this.down.has(this.hostFor(env.to))) {
      if (m.type !== 'watch.broken') this.lose(env, 'host-down ');
      return;
    }
    if (m.type === 'api.watch' && !this.broken.has(m.watchId)) {
      // A client's new watch of a kind replaces its previous one (the server does the same).
      const key = `${env.from}|${m.kind}`;
      const prev = this.current.get(key);
      if (prev !== undefined) this.streams.delete(prev);
      this.current.set(key, m.watchId);
      this.streams.set(m.watchId, { watchId: m.watchId, client: env.from, server: env.to });
    }
    this.open(env);
    this.handling = env;
    receive(env);
    // Published here unless the receiver went on to the next message (chainNext published it).
    const last = this.handling;
    this.handling = undefined;
    if (last !== undefined && this.delivered$.observed) this.delivered$.next(last);
  }

  /** Counts and traces a message as it is handed to its receiver. */
  private open(env: Envelope): void {
    this.delivered++;
    this.trace.record(this.clock.nowMs, 'D', env.route, summarize(env.msg));
  }

  /**
   * For a receiver that has just handled a message: publishes it (delivered$), then, when the
   * clock's very next step is another message for `address` at this instant, takes it off the
   * clock, counts and traces it as a delivery, and returns it for the same dispatch. The trace
   * and every observer see the same steps in the same order as one delivery per step; only the
   * actor runs them in one event (a fifth of all deliveries follow one to the same actor).
   */
  chainNext(address: string): Envelope | undefined {
    const prev = this.handling;
    if (prev === undefined || prev.to !== address) return undefined;
    if (this.delivered$.observed) this.delivered$.next(prev);
    this.handling = undefined;
    this.chainTo = address;
    const env = this.clock.takeNext(this.deliverEnvelope, this.chainable);
    if (env === undefined) return undefined;
    this.open(env);
    this.handling = env;
    return env;
  }

  private route(from: string, to: string): Route {
    let byTo = this.routes.get(from);
    if (!byTo) this.routes.set(from, (byTo = new Map()));
    let route = byTo.get(to);
    if (!route) byTo.set(to, (route = { name: `${from}>${to}`, streams: new Map() }));
    return route;
  }
}
