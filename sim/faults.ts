/**
 * The fault injector: makes each fault of a run (scripted in spec.faults or drawn by chaos)
 * happen where it would in a real cluster, on the simulation clock, and heals it after its `for`.
 *
 * - Hosts (`crash`, `restart`): every actor on the host stops, its memory lost, its timers gone;
 *   the bus loses what is sent to it and resets its watch connections. A node's disk stays (its
 *   kubelet finds it when it boots again); its storage clients die with it, so a Ceph watch it
 *   held expires after osd_client_watch_timeout. A control-plane host restarts with empty memory
 *   and lists again; the API server keeps its objects (etcd) but loses its watch cache.
 * - Partitions are cuts on the bus: messages between hosts of different groups are dropped (one
 *   way: only those the first group sends) until the heal, which replays nothing. A node cut off
 *   from a Ceph cluster is a lost client there, as a crashed one is.
 * - Message faults are operators on the bus (`route`): each matching message is dropped,
 *   delayed, duplicated or let overtake earlier ones (reorder is the only one that breaks a
 *   link's order), each draw from the fault's own stream.
 * - Controller perturbations act on one controller's watch streams or writes: staleView delays
 *   its watch events, dropWatch loses them silently and ends with its informers re-listing (as
 *   after 410 Gone), crashMidReconcile crashes it right after its Nth write in one reconcile.
 * - Storage, DNS and clock faults reach the component or storage system they hit through the
 *   world (outages, wiped disks, CSI errors, DNS failures, skewed clocks).
 *
 * Randomness: each fault draws from a stream keyed by the fault record itself (kind, at,
 * target), never by its position in the list, so that removing one fault (as shrink does) leaves
 * the others' draws as they were. Every start and heal is an 'F' trace line (src/fault-marks.ts)
 * and `stats.faults` counts the faults started.
 */
import type { Envelope, FaultHook, Routing } from '../src/bus.ts';
import type { Rng } from '../src/rng.ts';
import type { Fault } from '../src/scenario/types.ts';
import { formatFaultMark } from '../src/fault-marks.ts';
import { faultBody, faultHosts, faultText } from './fault-forms.ts';
import type { Bus } from '../src/bus.ts';
import type { SimClock } from '../src/clock.ts';
import type { Trace } from '../src/trace.ts';
import type { Timer } from '../src/clock.ts';
import { assert } from '../src/assert.ts';

/** What the injector needs of the world it strikes (sim/world.ts provides it). */
export interface FaultTarget {
  readonly clock: SimClock;
  readonly bus: Bus;
  readonly trace: Trace;
  readonly rng: Rng;
  faultsInjected: number;
  crashHost(host: string): void;
  restartHost(host: string): void;
  crashActor(address: string): void;
  restartActor(address: string): void;
  storageCut(groups: readonly (readonly string[])[], on: boolean): void;
  outage(backend: string, on: boolean): void;
  wipeDisk(node: string): void;
  /** `streamKey` on a heal names the fault that heals (several may overlap). */
  dnsFailure(cfg: { mode: string; rate: number; streamKey: string } | undefined, streamKey?: string): void;
  clockSkew(node: string, byMs: number): void;
  csiError(backend: string, cfg: { rpc: string; code: string; rate: number; streamKey: string } | undefined, streamKey?: string): void;
}

/** API verbs that write (crashMidReconcile counts these). */
const WRITES: ReadonlySet<string> = new Set(['create', 'update', 'updateStatus', 'patch', 'apply', 'delete', 'bind']);

interface Active {
  fault: Fault;
  id: string;
  rng: Rng;
  /** For message faults with `between`: bus host -> group index. */
  groupOf: Map<string, number> | undefined;
  /** crashMidReconcile: writes counted in the current instant, and whether it struck. */
  writesAt?: { atMs: number; n: number };
  struck?: boolean;
}

export class FaultInjector implements FaultHook {
  /** Message faults and perturbations in force, in the order they started. */
  private active: Active[] = [];
  /** Controllers being crashed by crashMidReconcile this instant: what they still send is lost. */
  private readonly dying = new Set<string>();
  /** The instant of the last heal, and whether some fault never heals. */
  lastHealMs = 0;
  neverHealed: Fault[] = [];
  started = 0;
  /**
   * Every fault of the run in the scripted form's terms: scripted, drawn, then those added from
   * code (the library's sim.fault), a fault healed from code with its `for` as it turned out.
   */
  readonly faults: Fault[];
  /** The heal still to come of each fault that lasts, by id; and the faults already healed. */
  private readonly endTimers = new Map<string, Timer>();
  private readonly healed = new Set<string>();

  constructor(
    private readonly world: FaultTarget,
    faults: readonly Fault[],
  ) {
    this.faults = [...faults];
    for (const f of faults) {
      const id = `f${f.index}`;
      world.clock.at(f.atMs, () => this.begin(f, id));
      if (f.forMs !== undefined) this.endTimers.set(id, world.clock.at(f.atMs + f.forMs, () => this.end(f, id)));
    }
    this.recount();
    world.bus.faults = this;
  }

  /** The last heal and the faults that never heal, from the list as it stands. */
  private recount(): void {
    this.lastHealMs = 0;
    this.neverHealed = [];
    for (const f of this.faults) {
      if (f.forMs !== undefined) this.lastHealMs = Math.max(this.lastHealMs, f.atMs + f.forMs);
      else if (!isInstant(f)) this.neverHealed.push(f);
      else this.lastHealMs = Math.max(this.lastHealMs, f.atMs);
    }
  }

  /**
   * A fault added while the run goes on (the library's sim.fault): it begins at `f.atMs` (now, or
   * the next instant not begun) and heals after its `forMs`. `seq` places each of its two timers
   * among the timers of its instant (SimClock.atInOrder): the caller passes numbers that sort
   * after everything the scenario scheduled before the run and before everything the run
   * scheduled since, which is where the same fault scripted last in spec.faults would run, so
   * that the scripted form replays it exactly.
   */
  add(f: Fault, seq: () => number): void {
    const id = `f${f.index}`;
    assert(!this.faults.some((x) => x.index === f.index), `fault index ${f.index} is taken`);
    this.faults.push(f);
    this.world.clock.atInOrder(f.atMs, seq(), () => this.begin(f, id));
    if (f.forMs !== undefined) this.endTimers.set(id, this.world.clock.atInOrder(f.atMs + f.forMs, seq(), () => this.end(f, id)));
    this.recount();
  }

  /**
   * The faults that a heal at `atMs` would end: each lasting fault that has begun or begins at
   * that instant and has not healed yet. Instant faults (restart, wipeDisk, crashMidReconcile)
   * have nothing to heal.
   */
  healable(atMs: number): Fault[] {
    return this.faults.filter((f) => !isInstant(f) && f.atMs <= atMs && !this.healed.has(`f${f.index}`) && !(f.forMs !== undefined && f.atMs + f.forMs <= atMs));
  }

  /**
   * Heals one fault at `atMs` (at least 1 ms after it began: `for` must be positive), instead of
   * when its `for` said; its record's `for` becomes what it lasted. `seq` as in `add`. False when
   * there was nothing to heal.
   */
  healAt(index: number, atMs: number, seq: () => number): boolean {
    const i = this.faults.findIndex((x) => x.index === index);
    const f = this.faults[i];
    if (f === undefined || !this.healable(atMs).includes(f)) return false;
    const id = `f${f.index}`;
    const endMs = Math.max(atMs, f.atMs + 1);
    // Begun at this very instant: it heals 1 ms later, unless its own `for` ends it by then.
    if (f.forMs !== undefined && f.atMs + f.forMs <= endMs) return true;
    this.world.clock.clearTimeout(this.endTimers.get(id));
    const now = { ...f, forMs: endMs - f.atMs } as Fault;
    this.faults[i] = now;
    this.endTimers.set(id, this.world.clock.atInOrder(endMs, seq(), () => this.end(f, id)));
    this.recount();
    return true;
  }

  /** The stream of one fault: named by what the fault is, not where it sits in the list. */
  private streamKeyOf(f: Fault): string {
    return `fault/${f.atMs}/${JSON.stringify(faultBody(f))}`;
  }

  private streamOf(f: Fault): Rng {
    return this.world.rng.fork(this.streamKeyOf(f));
  }

  private mark(phase: 'start' | 'heal' | 'once', f: Fault, id: string): void {
    this.world.trace.record(this.world.clock.nowMs, 'F', 'faults', formatFaultMark({ phase, id, hosts: faultHosts(f), fault: faultText(f) }));
  }

  private begin(f: Fault, id: string): void {
    this.started++;
    this.world.faultsInjected++;
    const w = this.world;
    this.mark(isInstant(f) ? 'once' : 'start', f, id);
    switch (f.kind) {
      case 'crash':
        return w.crashHost(f.host);
      case 'restart':
        w.crashHost(f.host);
        return w.restartHost(f.host);
      case 'partition':
        w.bus.cut(id, f.groups, f.oneWay);
        return w.storageCut(f.groups, true);
      case 'messageLoss':
      case 'messageDuplicate':
      case 'messageDelay':
      case 'messageReorder':
      case 'staleView':
      case 'dropWatch':
      case 'crashMidReconcile':
        this.active.push({ fault: f, id, rng: this.streamOf(f), groupOf: 'between' in f && f.between ? groupsOf(f.between) : undefined });
        return;
      case 'outage':
        return w.outage(f.backend, true);
      case 'wipeDisk':
        return w.wipeDisk(f.node);
      case 'dnsFailure':
        return w.dnsFailure({ mode: f.mode, rate: f.rate, streamKey: this.streamKeyOf(f) });
      case 'clockSkew':
        return w.clockSkew(f.node, f.byMs);
      case 'csiError':
        return w.csiError(f.backend, { rpc: f.rpc, code: f.code, rate: f.rate, streamKey: this.streamKeyOf(f) });
    }
  }

  private end(f: Fault, id: string): void {
    const w = this.world;
    this.healed.add(id);
    this.endTimers.delete(id);
    // A fault healed from code ends now; its record says for how long it lasted.
    f = this.faults.find((x) => x.index === f.index) ?? f;
    this.mark('heal', f, id);
    switch (f.kind) {
      case 'crash':
        return w.restartHost(f.host);
      case 'partition':
        w.bus.heal(id);
        return w.storageCut(f.groups, false);
      case 'outage':
        return w.outage(f.backend, false);
      case 'dnsFailure':
        return w.dnsFailure(undefined, this.streamKeyOf(f));
      case 'clockSkew':
        return w.clockSkew(f.node, 0);
      case 'csiError':
        return w.csiError(f.backend, undefined, this.streamKeyOf(f));
      case 'dropWatch':
        this.active = this.active.filter((a) => a.id !== id);
        // Its informers re-list, as after 410 Gone: the final state, never the steps missed.
        return w.bus.expireWatches(f.controller);
      default:
        this.active = this.active.filter((a) => a.id !== id);
        return;
    }
  }

  /** The bus asks for every message: what the faults in force do to it. */
  route(env: Envelope, nowMs: number): Routing | undefined {
    if (this.dying.size > 0 && this.dying.has(env.from)) return SILENT_DROP;
    if (this.active.length === 0) return undefined;
    let extraMs = 0;
    let duplicateMs: number | undefined;
    let reorder = false;
    for (const a of this.active) {
      const f = a.fault;
      switch (f.kind) {
        case 'messageLoss':
          if (this.matches(a, env) && a.rng.chance(f.rate)) return DROP;
          break;
        case 'messageDelay':
          if (this.matches(a, env) && a.rng.chance(f.rate)) extraMs += f.minMs === f.maxMs ? f.minMs : a.rng.int(f.minMs, f.maxMs);
          break;
        case 'messageDuplicate':
          // The copy follows within the network's latency range, as a retransmission would.
          if (this.matches(a, env) && a.rng.chance(f.rate)) duplicateMs = a.rng.int(0, Math.max(1, this.world.bus.network.latencyMsMax));
          break;
        case 'messageReorder':
          if (this.matches(a, env) && a.rng.chance(f.rate)) {
            reorder = true;
            extraMs += a.rng.int(0, f.windowMs);
          }
          break;
        case 'staleView':
          if (env.to === f.controller && env.msg.type === 'watch') extraMs += f.byMs;
          break;
        case 'dropWatch':
          if (env.to === f.controller && env.msg.type === 'watch' && env.msg.event !== 'ERROR' && a.rng.chance(f.rate)) return SILENT_DROP;
          break;
        case 'crashMidReconcile':
          if (!a.struck && env.from === f.controller && env.msg.type === 'api.request' && WRITES.has(env.msg.verb)) this.countWrite(a, f.controller, f.afterWrites, nowMs);
          break;
        default:
          break;
      }
    }
    if (extraMs === 0 && duplicateMs === undefined && !reorder) return undefined;
    const delaysMs = duplicateMs === undefined ? [extraMs] : [extraMs, extraMs + duplicateMs];
    return reorder ? { delaysMs, reorder: true } : { delaysMs };
  }

  /**
   * One more write of the controller in this instant (one reconcile issues its writes in one
   * go); at the Nth the controller dies right after sending it, and restarts from the API
   * server's state. What it would still send in this reconcile is never sent.
   */
  private countWrite(a: Active, controller: string, afterWrites: number, nowMs: number): void {
    if (!a.writesAt || a.writesAt.atMs !== nowMs) a.writesAt = { atMs: nowMs, n: 0 };
    if (++a.writesAt.n < afterWrites) return;
    a.struck = true;
    this.dying.add(controller);
    this.world.clock.at(nowMs, () => {
      this.dying.delete(controller);
      this.world.crashActor(controller);
      this.world.restartActor(controller);
    });
  }

  private matches(a: Active, env: Envelope): boolean {
    if (!a.groupOf) return true;
    const bus = this.world.bus;
    const x = a.groupOf.get(bus.hostFor(env.from));
    const y = a.groupOf.get(bus.hostFor(env.to));
    return x !== undefined && y !== undefined && x !== y;
  }

  /** Faults still in force at the end (for `converges`: what never healed). */
  stillActive(): Fault[] {
    return this.neverHealed;
  }
}

const DROP: Routing = { delaysMs: [] };
/** Lost without breaking the watch stream it belongs to (dropWatch; a process that died). */
const SILENT_DROP: Routing = { delaysMs: [], silent: true };

function isInstant(f: Fault): boolean {
  return f.kind === 'restart' || f.kind === 'wipeDisk' || f.kind === 'crashMidReconcile';
}

function groupsOf(groups: string[][]): Map<string, number> {
  const m = new Map<string, number>();
  groups.forEach((g, i) => g.forEach((h) => m.set(h, i)));
  return m;
}

