/**
 * `sim.fault` (SPEC §7): every fault form of SPEC §1 injected from code into a running
 * simulation, now. Each call is checked by the scenario loader's own fault parser
 * (src/scenario/faults.ts), so a bad target or value gets the words a scenario file would get,
 * and becomes an ordinary Fault record handed to the run's FaultInjector (sim/faults.ts). The
 * report lists it in the scripted form with the `at` at which it began, so a run driven from
 * code can be replayed as a scenario file.
 *
 * When a fault begins: at the first instant at which nothing has run yet. After `runFor` that is
 * the current instant (runFor runs what is due before its end, not at it); after `runUntil`,
 * `exec` or `act`, which stop in the middle of an instant, it is the next millisecond. Among the
 * timers of that instant it runs where the same fault scripted last in spec.faults would (after
 * what the scenario scheduled before the run, before what the run scheduled since), which is
 * what makes the scripted form replay it exactly.
 */
import type { Fault, FaultKind, Scenario } from '../src/scenario/types.ts';
import { parseFaults, monitorNames, type CONTROLLERS, type CSI_RPCS, type FaultContext, type GRPC_CODE_NAMES } from '../src/scenario/faults.ts';
import { fmtPath } from '../src/scenario/load.ts';
import { formatDuration } from '../src/duration.ts';
import type { Seg } from '../src/scenario/actions.ts';
import { scriptedFault, type ScriptedFault } from './fault-forms.ts';
import type { World } from './world.ts';

/** A duration: Go style (`'90s'`, `'2m'`, `'1h30m'`) or a number of milliseconds. */
export type Duration = string | number;
/** Hosts as SPEC §1 names them: `node/node-1` (or `node-1`), `apiserver`, `kube-controller-manager`, `kube-scheduler`, `cluster-dns`, `backend/NAME`. */
export type Host = string;
/** Two groups of hosts: a message fault then hits only the messages between them (both ways). */
export type Between = [Host[], Host[]];
export type ControllerName = (typeof CONTROLLERS)[number];
export type CsiRpc = (typeof CSI_RPCS)[number];
export type GrpcCode = (typeof GRPC_CODE_NAMES)[number];

/** How long a fault lasts; without `for` it lasts until `heal()` (or for good). */
export interface Lasting {
  for?: Duration;
}

export interface PartitionOptions extends Lasting {
  /** Only messages from the first group to the others are dropped. */
  oneWay?: boolean;
}

/** What a fault call returns. */
export interface FaultHandle {
  /** The fault's kind (`crash`, `partition`, ...). */
  readonly kind: FaultKind;
  /** The fault as spec.faults writes it, `at` included; `for` as it turned out once healed from code. */
  readonly scripted: ScriptedFault;
  /** Heals this fault at the first instant not begun (see FaultControl.heal). */
  heal(): void;
}

/** A fault call with bad arguments: `lines` are the problems, in the scenario loader's words. */
export class FaultError extends Error {
  override name = 'FaultError';
  constructor(readonly lines: string[]) {
    super(lines.join('\n'));
  }
}

/** Where a Simulation stands: the instant a fault would begin at, and timer places after the scenario's own. */
export interface FaultClock {
  /** The first instant at which nothing has run yet. */
  openMs(): number;
  /** A tie-breaking number for one timer (SimClock.atInOrder), increasing with each call. */
  seq(): number;
}

const API_POS = { file: '<sim.fault>', line: 0, col: 0 };

/** A duration for the parser: numbers are milliseconds here (the parser reads Go's text). */
function durationText(v: Duration | undefined): unknown {
  if (typeof v !== 'number' || !Number.isFinite(v)) return v;
  return v < 0 ? `-${formatDuration(-v)}` : formatDuration(v);
}

/** `{for}` as the scripted form's sibling, only when given. */
function lasting(o: Lasting | undefined): Record<string, unknown> {
  return o?.for === undefined ? {} : { for: durationText(o.for) };
}

/** Drops keys whose value is undefined: an absent option, not a value to check. */
function defined(o: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

export class FaultControl {
  constructor(
    private readonly world: World,
    private readonly scenario: Scenario,
    private readonly at: FaultClock,
  ) {}

  /** A node (`node/node-1`) or control-plane host stops: memory lost, disk kept; restarts after `for`. */
  crash(host: Host, o?: Lasting): FaultHandle {
    return this.inject('crash', { crash: host, ...lasting(o) });
  }

  /** A host crashes and boots again at once. */
  restart(host: Host): FaultHandle {
    return this.inject('restart', { restart: host });
  }

  /** Messages between hosts of different groups are dropped (`oneWay`: only those from the first group). */
  partition(groups: Host[][], o?: PartitionOptions): FaultHandle {
    return this.inject('partition', { partition: groups, ...(o?.oneWay !== undefined ? { oneWay: o.oneWay } : {}), ...lasting(o) });
  }

  /** Each matching message is dropped with probability `rate`. */
  messageLoss(m: { rate: number; between?: Between }, o?: Lasting): FaultHandle {
    return this.inject('messageLoss', { messageLoss: defined(m), ...lasting(o) });
  }

  /** Each matching message is delivered twice with probability `rate`. */
  messageDuplicate(m: { rate: number; between?: Between }, o?: Lasting): FaultHandle {
    return this.inject('messageDuplicate', { messageDuplicate: defined(m), ...lasting(o) });
  }

  /** Matching messages are held `min`..`max` (default `min`), with probability `rate` (default 1). */
  messageDelay(m: { min: Duration; max?: Duration; rate?: number; between?: Between }, o?: Lasting): FaultHandle {
    return this.inject('messageDelay', { messageDelay: defined({ ...m, min: durationText(m.min), max: durationText(m.max) }), ...lasting(o) });
  }

  /** A matching message may overtake earlier ones on its link within `window` (default 1s). */
  messageReorder(m: { rate: number; window?: Duration; between?: Between }, o?: Lasting): FaultHandle {
    return this.inject('messageReorder', { messageReorder: defined({ ...m, window: durationText(m.window) }), ...lasting(o) });
  }

  /** A storage system (`backend/NAME`, or one Ceph monitor `backend/NAME/mon-a`) answers nothing. */
  outage(backend: Host, o?: Lasting): FaultHandle {
    return this.inject('outage', { outage: backend, ...lasting(o) });
  }

  /** The node's local data is gone. */
  wipeDisk(node: Host): FaultHandle {
    return this.inject('wipeDisk', { wipeDisk: node });
  }

  /** Cluster DNS answers SERVFAIL (the default) or not at all, for a share `rate` (default 1) of queries. */
  dnsFailure(m: { mode?: 'SERVFAIL' | 'timeout'; rate?: number } = {}, o?: Lasting): FaultHandle {
    return this.inject('dnsFailure', { dnsFailure: defined(m), ...lasting(o) });
  }

  /** The node's clock runs off by `by` (negative: behind). */
  clockSkew(m: { node: Host; by: Duration }, o?: Lasting): FaultHandle {
    return this.inject('clockSkew', { clockSkew: defined({ ...m, by: durationText(m.by) }), ...lasting(o) });
  }

  /** Matching CSI calls to `backend` fail with the gRPC `code`, for a share `rate` (default 1). */
  csiError(m: { backend: Host; rpc: CsiRpc; code: GrpcCode; rate?: number }, o?: Lasting): FaultHandle {
    return this.inject('csiError', { csiError: defined(m), ...lasting(o) });
  }

  /** Watch events to the controller arrive `by` late. */
  staleView(m: { controller: ControllerName; by: Duration }, o?: Lasting): FaultHandle {
    return this.inject('staleView', { staleView: defined({ ...m, by: durationText(m.by) }), ...lasting(o) });
  }

  /** A share `rate` (default 1) of the watch events to the controller never arrive; its informers re-list at the heal. */
  dropWatch(m: { controller: ControllerName; rate?: number }, o?: Lasting): FaultHandle {
    return this.inject('dropWatch', { dropWatch: defined(m), ...lasting(o) });
  }

  /** The controller crashes right after its Nth API write (default 1) in one reconcile, and restarts. */
  crashMidReconcile(m: { controller: ControllerName; afterWrites?: number }): FaultHandle {
    return this.inject('crashMidReconcile', { crashMidReconcile: defined(m) });
  }

  /**
   * Heals one fault (a handle), or every fault still in force — scripted, drawn or from code —
   * at the first instant not begun: a crashed host boots, a partition's links come back, and so
   * on. A fault healed in the instant it was to begin lasts 1 ms. Returns how many it healed.
   */
  heal(handle?: FaultHandle): number {
    const inj = this.world.injector;
    if (!inj) return 0;
    const atMs = this.at.openMs();
    if (handle !== undefined) {
      if (!(handle instanceof Handle) || handle.control !== this) throw new FaultError(['sim.fault.heal: not a fault of this simulation']);
      return inj.healAt(handle.index, atMs, () => this.at.seq()) ? 1 : 0;
    }
    let n = 0;
    for (const f of inj.healable(atMs)) if (inj.healAt(f.index, atMs, () => this.at.seq())) n++;
    return n;
  }

  /** The record of fault `index` as the injector holds it now. */
  record(index: number): Fault {
    return this.world.injector!.faults.find((f) => f.index === index)!;
  }

  private inject(kind: FaultKind, item: Record<string, unknown>): FaultHandle {
    const method = `sim.fault.${kind}`;
    const errors: string[] = [];
    const parsed = parseFaults(this.context(method, errors), [{ at: '0s', ...item }], []);
    const f = parsed[0];
    if (errors.length > 0 || f === undefined) throw new FaultError(errors.length > 0 ? errors : [`${method}: invalid fault`]);
    const inj = this.world.faultInjector();
    const fault = { ...f, atMs: this.at.openMs(), index: inj.faults.length, pos: API_POS } as Fault;
    inj.add(fault, () => this.at.seq());
    return new Handle(this, fault.index, kind);
  }

  /** What the fault parser checks names against: this scenario's nodes, backends and Ceph monitors. */
  private context(method: string, errors: string[]): FaultContext {
    const s = this.scenario;
    const extraNodes = new Set<string>();
    for (const a of s.actions) if (a.kind === 'apply' && a.manifest.kind === 'Node' && typeof a.manifest.metadata?.name === 'string') extraNodes.add(a.manifest.metadata.name);
    return {
      error: (path: readonly Seg[], message: string) => {
        const p = fmtPath(path.slice(1));
        errors.push(p ? `${method}: ${p}: ${message}` : `${method}: ${message}`);
      },
      posOf: () => API_POS,
      nodes: s.nodes,
      extraNodes,
      backends: s.backends.map((b) => b.name),
      monitors: (name) => {
        const b = s.backends.find((x) => x.name === name);
        return b?.type === 'rbd' ? monitorNames(b) : undefined;
      },
      checkApplyManifest: () => undefined,
    };
  }
}

class Handle implements FaultHandle {
  constructor(
    readonly control: FaultControl,
    readonly index: number,
    readonly kind: FaultKind,
  ) {}

  get scripted(): ScriptedFault {
    return scriptedFault(this.control.record(this.index));
  }

  heal(): void {
    this.control.heal(this);
  }
}
