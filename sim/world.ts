/**
 * A simulated cluster: the clock, the seeded streams, the bus, the trace, the object store, and
 * one XState actor per component, assembled from a Scenario. The world also plays the user:
 * it hands each action to kubectl at its time. It never reaches into an actor's state; what it
 * reports comes from the store (what `kubectl get` would show), the Event log and the results
 * kubectl reported.
 *
 * Bootstrap (before t=0, as a freshly installed cluster): the namespaces default, kube-system,
 * kube-public, kube-node-lease; the `kubernetes` Service (10.96.0.1) and `kube-dns`
 * (10.96.0.10, kubeadm's defaults); one Node per scenario node, registered and Ready, with the
 * N-th /24 of the cluster CIDR as node-N's pod CIDR (spec.cluster.podCIDR; default
 * 10.244.0.0/16, kube-controller-manager's --cluster-cidr in kubeadm setups with flannel, so
 * node-N has 10.244.N.0/24). A node past the CIDR's room gets none (CIDRNotAvailable).
 */
import { SimClock } from '../src/clock.ts';
import { Rng } from '../src/rng.ts';
import { Ids } from '../src/ids.ts';
import { Bus } from '../src/bus.ts';
import { Trace, type Hasher, type TraceEvent } from '../src/trace.ts';
import { ObjectStore } from '../src/store.ts';
import { isoAt, isoClock, spawnComponent, type ComponentActor, type ComponentFactory, type FaultSignal } from '../src/component.ts';
import type { KObject, Msg } from '../src/protocol.ts';
import type { Fault, Scenario } from '../src/scenario/types.ts';
import { monitorNames } from '../src/scenario/faults.ts';
import { applyDefaults } from '../src/model/defaults.ts';
import { MemFs } from '../src/fs.ts';
import { apiServer, EventLog } from '../actors/apiserver.ts';
import { kubeScheduler } from '../actors/kube-scheduler.ts';
import { kubelet, NETWORK_NOT_READY, type NodeState } from '../actors/kubelet.ts';
import { DEFAULT_CLUSTER_CIDR, type ClusterCIDR, nodeInternalIP, nodeSubnet, parseClusterCIDR } from '../src/model/cidr.ts';
import { kubectl, type ActionResult } from '../actors/kubectl.ts';
import { STATEFULSET_CONTROLLER, statefulSetController } from '../actors/controllers/statefulset-controller.ts';
import { ENDPOINTSLICE_CONTROLLER, endpointSliceController } from '../actors/controllers/endpointslice-controller.ts';
import { GARBAGE_COLLECTOR, garbageCollector } from '../actors/controllers/garbage-collector.ts';
import { clusterDns } from '../actors/cluster-dns.ts';
import { ATTACHDETACH_CONTROLLER, attachDetachController } from '../actors/controllers/attach-detach-controller.ts';
import { PV_CONTROLLER, pvController } from '../actors/controllers/pv-controller.ts';
import { PVC_PROTECTION_CONTROLLER, pvcProtectionController } from '../actors/controllers/pvc-protection-controller.ts';
import { PV_PROTECTION_CONTROLLER, pvProtectionController } from '../actors/controllers/pv-protection-controller.ts';
import { NODE_LIFECYCLE_CONTROLLER, nodeLifecycleController } from '../actors/controllers/node-lifecycle-controller.ts';
import { TAINT_EVICTION_CONTROLLER, taintEvictionController } from '../actors/controllers/taint-eviction-controller.ts';
import { POD_GC_CONTROLLER, podGarbageCollectorController } from '../actors/controllers/pod-garbage-collector-controller.ts';
import { FaultInjector } from './faults.ts';
import { NODE_DOWN } from './invariants/statefulset.ts';
import { drawChaos } from './chaos.ts';
import { externalProvisioner } from '../actors/controllers/external-provisioner.ts';
import { NfsServer, nfsBackend } from '../backends/nfs.ts';
import { CephCluster, cephRbdBackend } from '../backends/ceph-rbd.ts';
import { CsiPlugin, csiDriverBackend, csiDriverSpecFrom } from '../backends/csi-driver.ts';
import { DEFAULT_CEPH, NODE_LOCAL_PROVISIONERS, backendForProvisioner, isInTree } from '../backends/registry.ts';
import { parseQuantity } from '../src/quantity.ts';

/** A storage system of the world: its pure model (for faults and invariants) and its type. */
export type BackendModelRef = { type: 'nfs'; model: NfsServer } | { type: 'rbd'; model: CephCluster } | { type: 'csi'; model: CsiPlugin };
import { deepCopy } from '../src/model/objects.ts';
import { nullProto } from '../src/scenario/actions.ts';

/** A failure mode `--bug` re-introduces: where, what it breaks, and which invariants catch it. */
export interface KnownBug {
  /** The one component whose behaviour the bug changes. */
  component: string;
  breaks: string;
  /** The invariants (SPEC §6 names) that catch it, the first the usual one. */
  caughtBy: readonly string[];
}

/**
 * Failure modes `--bug` can re-introduce, each in one component (SPEC §4), in the order
 * `ksim run --bug list` prints them. The first eight are SPEC §4's; the last three are mistakes
 * an operator author makes that only a controller perturbation (staleView, dropWatch,
 * crashMidReconcile) brings out (docs/invariants.md).
 */
export const BUGS: Readonly<Record<string, KnownBug>> = nullProto({
  'sts-force-delete': {
    component: 'statefulset-controller',
    breaks: 'the StatefulSet controller deletes and recreates a pod on an unreachable node without waiting (two pods with one identity)',
    caughtBy: ['sts-identity-unique', 'rwo-single-node'],
  },
  'kubelet-skip-mount': {
    component: 'kubelet',
    breaks: "the kubelet sets up a claim's volume but does not mount it into the container (writes land in the container layer and are lost)",
    caughtBy: ['no-data-loss'],
  },
  'informer-no-relist': {
    component: 'statefulset-controller',
    breaks: "the StatefulSet controller's informers never re-establish a watch that broke (its view freezes after a partition or lost message)",
    caughtBy: ['converges'],
  },
  'binder-ignore-access-modes': {
    component: 'persistentvolume-binder-controller',
    breaks: 'the PV binder matches claims to volumes without looking at access modes: whichever claim it syncs first may take a volume that cannot serve it (a ReadWriteMany claim bound to a ReadWriteOnce volume)',
    caughtBy: ['converges', 'rwo-single-node'],
  },
  'attach-skip-multiattach-check': {
    component: 'persistentvolume-attach-detach-controller',
    breaks: 'the attach/detach controller attaches a ReadWriteOnce volume to a second node while it is still attached to the first (no Multi-Attach check)',
    caughtBy: ['rwo-single-node'],
  },
  'dns-ignore-ttl': {
    component: 'cluster-dns',
    breaks: "cluster DNS serves cached records after their TTL expired: a pod that moved is still resolved to its old IP",
    caughtBy: ['dns-consistent'],
  },
  'reclaim-delete-while-bound': {
    component: 'persistentvolume-binder-controller',
    breaks: "the PV controller's reclaim treats a claim being deleted as gone: it releases and deletes the volume while the claim is still Bound and in use (storage object in use protection defeated)",
    caughtBy: ['protection', 'no-data-loss'],
  },
  'scheduler-ignore-volume-affinity': {
    component: 'kube-scheduler',
    breaks: "the scheduler's VolumeBinding filter ignores a bound PersistentVolume's node affinity: a pod with a local or node-local volume may run on another node",
    caughtBy: ['hostpath-affinity'],
  },
  'attach-check-in-use': {
    component: 'persistentvolume-attach-detach-controller',
    breaks: "the attach/detach controller refuses a second node only while another node reports the volume in use (status.volumesInUse), not while it is attached: when its view is late, a second node attaches a ReadWriteOnce volume (staleView brings it out)",
    caughtBy: ['rwo-single-node'],
  },
  'attach-pod-node-cached': {
    component: 'persistentvolume-attach-detach-controller',
    breaks: "the attach/detach controller remembers each pod's node by the pod's name and keeps it on updates (a pod never changes node): a pod deleted and recreated elsewhere unseen keeps its volume wanted on the old node (dropWatch brings it out)",
    caughtBy: ['converges'],
  },
  'attach-adopt-from-node-status': {
    component: 'persistentvolume-attach-detach-controller',
    breaks: "a restarted attach/detach controller rebuilds what is attached from Nodes' status.volumesAttached only, not from VolumeAttachments: a crash between the two writes of a detach leaves an attachment it never knows of (crashMidReconcile brings it out)",
    caughtBy: ['rwo-single-node'],
  },
});

/** Each `--bug` name with what it breaks (BUGS without the details). */
export const KNOWN_BUGS: Readonly<Record<string, string>> = nullProto(Object.fromEntries(Object.entries(BUGS).map(([name, b]) => [name, b.breaks])));

export interface WorldOptions {
  seed?: number;
  hasher: () => Hasher;
  bug?: string;
  traceSink?: (e: TraceEvent) => void;
  /** kubectl's --validate for the run's patches (default strict). */
  validate?: 'strict' | 'warn' | 'ignore';
  /** Most simulation steps the run may take (DEFAULT_MAX_STEPS); past it runUntil throws StepBudgetExceeded. */
  maxSteps?: number;
  /**
   * Called once the clock, trace, bus and store exist, before anything is stored, spawned or
   * sent: an observer (the timeline exporter) subscribes here to see the run from its start.
   */
  observe?: (world: World) => void;
}

export interface RunWarning {
  warning: string;
  atMs: number;
  message: string;
  objects: string[];
}

/**
 * Thrown when an actor fails: the run cannot go on. Carries what is needed to report and replay
 * it (SPEC §5 `crash`); `detail` has the last trace lines and the stack, for a bug report.
 */
export class WorldCrash extends Error {
  override name = 'WorldCrash';
  constructor(
    readonly atMs: number,
    readonly actor: string,
    readonly seed: number,
    readonly reason: string,
    readonly replay: string,
    readonly detail: string,
  ) {
    super(`actor ${actor} failed at ${atMs}ms (seed ${seed}): ${reason}\nreplay: ${replay}\n${detail}`);
  }
}

/** Thrown when a run takes more simulation steps than its budget (WorldOptions.maxSteps). */
export class StepBudgetExceeded extends Error {
  override name = 'StepBudgetExceeded';
  constructor(
    readonly atMs: number,
    readonly maxSteps: number,
  ) {
    super(`the run took more than ${maxSteps} simulation steps (at ${atMs}ms of simulated time)`);
  }
}

export class World {
  readonly clock = new SimClock();
  readonly rng: Rng;
  readonly trace: Trace;
  readonly bus: Bus;
  readonly store = new ObjectStore();
  readonly events = new EventLog();
  readonly seed: number;
  readonly startMs: number;
  readonly results: ActionResult[] = [];
  /** Observers of each action result (invariant monitors). */
  readonly resultListeners: ((r: ActionResult) => void)[] = [];
  readonly warnings: RunWarning[] = [];
  readonly nodes = new Map<string, NodeState>();
  readonly backends = new Map<string, BackendModelRef>();
  faultsInjected = 0;
  private readonly actors = new Map<string, ComponentActor>();
  private failure: { address: string; err: unknown } | undefined;
  private aborted: Error | undefined;
  private readonly bootIds: Ids;
  private readonly isoNow: () => string;

  constructor(
    readonly scenario: Scenario,
    readonly opts: WorldOptions,
  ) {
    this.seed = opts.seed ?? scenario.seed;
    this.startMs = scenario.startMs;
    this.rng = Rng.root(this.seed);
    this.trace = new Trace(opts.hasher);
    this.trace.sink = opts.traceSink;
    this.bus = new Bus(this.clock, this.rng.fork('network'), this.trace, { latencyMsMin: scenario.latencyMsMin, latencyMsMax: scenario.latencyMsMax });
    this.store.traceCommit = (line) => this.trace.record(this.clock.nowMs, 'C', 'apiserver', line);
    opts.observe?.(this);
    this.bootIds = new Ids(this.rng.fork('bootstrap'));
    this.isoNow = isoClock(this.clock, this.startMs);
    this.trace.record(0, 'S', 'world', `scenario=${scenario.name} seed=${this.seed} nodes=${scenario.nodes.join(',')}`);
    this.bootstrap();
    this.createBackends();
    this.spawnAll();
    this.scheduleActions();
    this.drawnFaults = scenario.chaos ? drawChaos(scenario, this.rng.fork('chaos')) : [];
    const faults = [...scenario.faults, ...this.drawnFaults];
    if (faults.length > 0) this.injector = new FaultInjector(this, faults);
  }

  /** The faults chaos drew for this seed (scripted ones are in scenario.faults). */
  readonly drawnFaults: Fault[];
  /** The fault injector, when the run has faults. */
  injector: FaultInjector | undefined;

  /** The fault injector, created when a scenario without faults gets one from code (sim.fault). */
  faultInjector(): FaultInjector {
    return (this.injector ??= new FaultInjector(this, []));
  }

  get nowMs(): number {
    return this.clock.nowMs;
  }

  /** Runs the simulation up to `limitMs` (absolute). Stops early when `stop` holds. */
  runUntil(limitMs: number, stop?: () => boolean): boolean {
    if (this.failure) this.crash();
    const maxSteps = this.opts.maxSteps ?? Infinity;
    // An actor may handle the messages that follow one another to it in one dispatch
    // (Bus.chainNext) unless a condition is checked between steps; never past the step budget.
    this.clock.chaining = stop === undefined;
    this.clock.chainStepLimit = maxSteps;
    try {
      while (this.clock.step(limitMs)) {
        if (this.failure) this.crash();
        if (this.aborted) throw this.aborted;
        if (this.clock.steps > maxSteps) throw new StepBudgetExceeded(this.clock.nowMs, maxSteps);
        if (stop && stop()) return true;
      }
    } finally {
      this.clock.chaining = false;
    }
    if (this.clock.nowMs < limitMs) this.clock.nowMs = limitMs;
    return false;
  }

  /**
   * Stops the run at the next step with `err` (the edge's own failures, such as a trace file
   * that can no longer be written): runUntil throws it.
   */
  abort(err: Error): void {
    this.aborted ??= err;
  }

  /** Delivers a message to an actor from outside the cluster (the user, the fault injector). */
  inject(to: string, msg: Msg, from = 'user'): void {
    const actor = this.actors.get(to);
    if (!actor) return;
    actor.send({ type: 'deliver', msg, from });
    if (this.failure) this.crash();
  }

  actor(address: string): ComponentActor | undefined {
    return this.actors.get(address);
  }

  // -------------------------------------------------------------------------------------------
  // What faults do to the world (sim/faults.ts decides when)

  /** Process faults in force per address: a process that restarts is struck again. */
  private readonly processFaults = new Map<string, Map<string, FaultSignal>>();
  /** Node disks wiped on purpose, for no-data-loss: `node -> instants`. */
  readonly wipes: { node: string; atMs: number }[] = [];
  /**
   * When each storage system could not delete volumes (an outage of it or of one of its
   * monitors, a csiError on DeleteVolume), for reclaim-policy: a Delete volume is not blamed
   * for staying while its storage could not delete it. `toMs` undefined: still in force.
   */
  readonly storageTrouble: { backend: string; key: string; fromMs: number; toMs: number | undefined }[] = [];

  private troubleBegins(backend: string, key: string): void {
    this.storageTrouble.push({ backend, key, fromMs: this.clock.nowMs, toMs: undefined });
  }

  private troubleEnds(key: string): void {
    for (const t of this.storageTrouble) if (t.toMs === undefined && (t.key === key || t.key.startsWith(`${key}/`))) t.toMs = this.clock.nowMs;
  }

  /**
   * Since when the storage system behind a volume source has been able to delete volumes: 0
   * when it always could, Infinity while it cannot.
   */
  storageBackSinceMs(ref: { type: string; name: string }): number {
    let since = 0;
    for (const t of this.storageTrouble) {
      const b = this.backends.get(t.backend);
      if (t.backend !== ref.name && !(ref.type === 'rbd' && b?.type === 'rbd')) continue;
      since = Math.max(since, t.toMs ?? Infinity);
    }
    return since;
  }

  /** Addresses of the actors on `host`, in the order they were spawned. */
  addressesOn(host: string): string[] {
    return [...this.actors.keys()].filter((a) => this.bus.hostFor(a) === host);
  }

  /** One process dies: memory and timers lost, its watch connections reset. */
  crashActor(address: string): void {
    this.actors.get(address)?.send({ type: 'crash' });
    this.bus.processDied(address);
  }

  /** One process starts again with empty memory (and the process faults still in force). */
  restartActor(address: string): void {
    const actor = this.actors.get(address);
    if (!actor) return;
    actor.send({ type: 'restart' });
    for (const f of this.processFaults.get(address)?.values() ?? []) actor.send({ type: 'fault', fault: f });
    if (this.failure) this.crash();
  }

  /**
   * A host goes down: every actor on it stops; the network loses what is sent to it. A node's
   * storage clients die with it (a Ceph watch it held expires after the watch timeout); a
   * storage system that goes down answers nothing until it is back.
   */
  crashHost(host: string): void {
    this.bus.hostDown(host);
    for (const a of this.addressesOn(host)) this.actors.get(a)!.send({ type: 'crash' });
    if (host.startsWith('node/')) {
      const node = host.slice('node/'.length);
      this.trace.record(this.clock.nowMs, 'S', `kubelet/${node}`, NODE_DOWN);
      this.storageClientLost(node);
    }
  }

  restartHost(host: string): void {
    this.bus.hostUp(host);
    for (const a of this.addressesOn(host)) this.restartActor(a);
  }

  private storageClientLost(node: string): void {
    for (const b of this.backends.values()) b.model.nodeLost(node, this.clock.nowMs);
  }

  /**
   * A partition (or its heal) between nodes and storage systems: a node cut off from a Ceph
   * cluster is a lost client there, its watch expiring after osd_client_watch_timeout; NFS and
   * CSI I/O simply gets no answer meanwhile (the bus drops it).
   */
  storageCut(groups: readonly (readonly string[])[], on: boolean): void {
    if (!on) return;
    const groupOf = new Map<string, number>();
    groups.forEach((g, i) => g.forEach((h) => groupOf.set(h, i)));
    for (const [host, gi] of groupOf) {
      if (!host.startsWith('node/')) continue;
      const node = host.slice('node/'.length);
      for (const [name, b] of this.backends) {
        const bg = groupOf.get(`backend/${name}`);
        if (b.type === 'rbd' && bg !== undefined && bg !== gi) b.model.nodeLost(node, this.clock.nowMs);
      }
    }
  }

  /**
   * A storage system (or one Ceph monitor: `backend/ceph/mon-a`) answers nothing until it
   * recovers; its data stays. A whole backend goes off the network (every request to it is
   * lost: NFS hard mounts retransmit, callers' deadlines expire). A monitor is taken out of the
   * model at once, whatever its component's state, and the component is told (calls it holds
   * hung for want of quorum go on when quorum returns).
   */
  outage(backend: string, on: boolean): void {
    const [, name, monitor] = backend.split('/');
    const b = this.backends.get(name!);
    if (on) this.troubleBegins(name!, `outage/${backend}`);
    else this.troubleEnds(`outage/${backend}`);
    if (monitor !== undefined) {
      if (b?.type !== 'rbd') return;
      if (on) b.model.monitorDown(monitor);
      else b.model.monitorUp(monitor);
      this.processFault(`backend/${name}`, { name: `outage/${monitor}`, on, monitor });
      return;
    }
    if (on) this.bus.hostDown(`backend/${name}`);
    else this.bus.hostUp(`backend/${name}`);
    if (b?.type === 'nfs') (on ? b.model.outage() : b.model.recover());
  }

  /**
   * The node's local data is gone: its disk holds only what a fresh node's has — no hostPath,
   * local or node-local provisioned volume data, no emptyDir, no pulled image (the next start
   * pulls again). What is in memory stays: a tmpfs emptyDir, the kubelet's own state.
   */
  wipeDisk(node: string): void {
    const name = node.startsWith('node/') ? node.slice('node/'.length) : node;
    const state = this.nodes.get(name);
    state?.disk.wipe();
    state?.images.clear();
    this.wipes.push({ node: name, atMs: this.clock.nowMs });
  }

  /**
   * Strikes (or heals) a process fault in one actor, remembered across its restarts. Faults of
   * one kind that may overlap are named `<kind>/<streamKey>`; a heal without a stream key heals
   * every fault of its kind there.
   */
  private processFault(address: string, f: FaultSignal): void {
    let m = this.processFaults.get(address);
    if (!m) this.processFaults.set(address, (m = new Map()));
    if (f.on) m.set(f.name, f);
    else if (m.has(f.name)) m.delete(f.name);
    else for (const k of [...m.keys()]) if (k.startsWith(`${f.name}/`)) m.delete(k);
    this.actors.get(address)?.send({ type: 'fault', fault: f });
    if (this.failure) this.crash();
  }

  dnsFailure(cfg: { mode: string; rate: number; streamKey: string } | undefined, streamKey?: string): void {
    if (cfg) this.processFault('cluster-dns', { name: `dnsFailure/${cfg.streamKey}`, on: true, ...cfg });
    else this.processFault('cluster-dns', streamKey === undefined ? { name: 'dnsFailure', on: false } : { name: `dnsFailure/${streamKey}`, on: false, streamKey });
  }

  clockSkew(node: string, byMs: number): void {
    const name = node.startsWith('node/') ? node.slice('node/'.length) : node;
    this.processFault(`kubelet/${name}`, { name: 'clockSkew', on: byMs !== 0, byMs });
  }

  csiError(backend: string, cfg: { rpc: string; code: string; rate: number; streamKey: string } | undefined, streamKey?: string): void {
    const address = this.backendAddress(backend);
    if (cfg?.rpc === 'DeleteVolume') this.troubleBegins(address.slice('backend/'.length), `csiError/${cfg.streamKey}`);
    else if (!cfg) this.troubleEnds(streamKey === undefined ? 'csiError' : `csiError/${streamKey}`);
    if (cfg) this.processFault(address, { name: `csiError/${cfg.streamKey}`, on: true, ...cfg });
    else this.processFault(address, streamKey === undefined ? { name: 'csiError', on: false } : { name: `csiError/${streamKey}`, on: false, streamKey });
  }

  /** `backend/<name>` of a storage system's actor (the registry's `ceph` alias resolved). */
  private backendAddress(backend: string): string {
    const name = backend.split('/')[1] ?? '';
    if (this.actors.has(`backend/${name}`)) return `backend/${name}`;
    const ceph = name === DEFAULT_CEPH ? [...this.backends].find(([, b]) => b.type === 'rbd') : undefined;
    return ceph ? `backend/${ceph[0]}` : `backend/${name}`;
  }

  addresses(): string[] {
    return [...this.actors.keys()];
  }

  /** Every stored object except Events and Leases, as `kubectl get -o json` would list them. */
  objects(): KObject[] {
    const out: KObject[] = [];
    for (const kind of this.store.kindNames()) if (kind !== 'Lease' && kind !== 'Event') out.push(...this.store.list(kind));
    return out;
  }

  iso(atMs: number): string {
    return isoAt(this.startMs, atMs);
  }

  private crash(): never {
    const f = this.failure!;
    const err = f.err instanceof Error ? f.err : new Error(String(f.err));
    const replay = `ksim run ${this.scenario.file} --seed ${this.seed}${this.opts.bug ? ` --bug ${this.opts.bug}` : ''}`;
    throw new WorldCrash(this.clock.nowMs, f.address, this.seed, err.message, replay, `last trace lines:\n  ${this.trace.lastLines(15).join('\n  ')}\n${err.stack ?? ''}`);
  }

  private boot(obj: KObject): KObject {
    const o = deepCopy(obj);
    applyDefaults(o);
    o.metadata.uid = this.bootIds.uid();
    o.metadata.creationTimestamp = this.iso(0);
    return this.store.put(o);
  }

  private bootstrap(): void {
    for (const ns of ['default', 'kube-node-lease', 'kube-public', 'kube-system']) {
      this.boot({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    }
    this.boot({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: { clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1'], ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }] },
    });
    this.boot({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/name': 'CoreDNS' } },
      spec: {
        clusterIP: '10.96.0.10',
        clusterIPs: ['10.96.0.10'],
        selector: { 'k8s-app': 'kube-dns' },
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
          { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
        ],
      },
    });
    const given = new Map(this.scenario.manifests.filter((m) => m.obj.kind === 'Node').map((m) => [m.obj.metadata.name!, m.obj]));
    this.scenario.nodes.forEach((name, i) => {
      const n = i + 1;
      const manifest = given.get(name);
      const now = this.iso(0);
      const subnet = this.podSubnet(n);
      const cidr = subnet === null ? {} : { podCIDR: `${subnet}.0/24`, podCIDRs: [`${subnet}.0/24`] };
      // A node the range allocator had no /24 left for: its CNI plugin has no subnet, so its
      // kubelet posts Ready False and the node lifecycle controller taints it not-ready.
      const ready = subnet === null
        ? { type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: NETWORK_NOT_READY, lastHeartbeatTime: now, lastTransitionTime: now }
        : { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: now, lastTransitionTime: now };
      const taints = subnet === null ? { taints: [...((manifest?.spec?.taints ?? []) as unknown[]), { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }] } : {};
      const node: KObject = {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          ...(manifest?.metadata ?? {}),
          name,
          labels: { 'beta.kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', ...(manifest?.metadata.labels ?? {}) },
        },
        spec: { ...cidr, ...(manifest?.spec ?? {}), ...taints },
        status: {
          capacity: { cpu: '4', memory: '16318976Ki', pods: '110', 'ephemeral-storage': '101430960Ki' },
          allocatable: { cpu: '4', memory: '16216576Ki', pods: '110', 'ephemeral-storage': '93478772582' },
          conditions: [
            { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available', lastHeartbeatTime: now, lastTransitionTime: now },
            { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: 'kubelet has no disk pressure', lastHeartbeatTime: now, lastTransitionTime: now },
            { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available', lastHeartbeatTime: now, lastTransitionTime: now },
            ready,
          ],
          addresses: [
            { type: 'InternalIP', address: nodeInternalIP(n) },
            { type: 'Hostname', address: name },
          ],
          nodeInfo: { kubeletVersion: 'v1.30.0', kubeProxyVersion: 'v1.30.0', containerRuntimeVersion: 'containerd://1.7.13', operatingSystem: 'linux', architecture: 'amd64', osImage: 'Debian GNU/Linux 12 (bookworm)', kernelVersion: '6.1.0-18-amd64' },
        },
      };
      const stored = this.boot(node);
      if (subnet === null) {
        // pkg/controller/nodeipam/ipam/range_allocator.go: recordNodeStatusChange(..., "CIDRNotAvailable").
        this.events.record({ type: 'api.event', eventType: 'Normal', reason: 'CIDRNotAvailable', message: `Node ${name} status is now: CIDRNotAvailable`, source: 'cidrAllocator', involvedObject: { kind: 'Node', name, uid: stored.metadata.uid! } }, 0);
      }
      this.nodes.set(name, { disk: MemFs.nodeDisk(), images: new Set() });
    });
  }

  /** CSIDriver.spec.attachRequired (ceph-csi RBD true; NFS and node-local drivers false). */
  csiAttachRequired(driver: string): boolean {
    if (driver === 'rbd.csi.ceph.com') return true;
    if (driver === 'nfs.csi.k8s.io' || NODE_LOCAL_PROVISIONERS.has(driver)) return false;
    const b = this.backends.get(driver);
    if (b?.type === 'csi') return b.model.spec.attachRequired;
    // A provisioner name used as a driver (its PVs' csi.driver): attachable only if it is a CSI plugin.
    const served = this.provisionerBackends.get(driver);
    return served === undefined ? true : served === 'rbd';
  }

  /**
   * The backend type behind each StorageClass provisioner of the manifests that is not a CSI
   * plugin (an NFS or Ceph provisioner name can appear as a PV's csi.driver). Computed once:
   * csiAttachRequired is asked on every mount and attach decision.
   */
  private readonly provisionerBackends = new Map<string, string>();

  /** One model per storage system the scenario names or implies (SPEC §3). */
  private createBackends(): void {
    for (const obj of this.declaredObjects()) {
      if (obj.kind !== 'StorageClass' || typeof obj['provisioner'] !== 'string') continue;
      const ref = backendForProvisioner(obj['provisioner'], (obj['parameters'] ?? {}) as Record<string, string>);
      if (ref && ref.type !== 'csi' && !this.provisionerBackends.has(obj['provisioner'])) this.provisionerBackends.set(obj['provisioner'], ref.type);
    }
    for (const spec of this.scenario.backends) {
      if (spec.type === 'nfs') {
        const exports = Array.isArray(spec['exports']) ? (spec['exports'] as string[]) : undefined;
        this.backends.set(spec.name, { type: 'nfs', model: new NfsServer(spec.name, exports) });
      } else if (spec.type === 'rbd') {
        const monitors = monitorNames(spec);
        this.backends.set(spec.name, { type: 'rbd', model: new CephCluster(spec.name, monitors) });
      } else if (spec.type === 'csi') {
        const driver = csiDriverSpecFrom(spec as Record<string, unknown>, spec.name);
        if (typeof driver !== 'string') this.backends.set(spec.name, { type: 'csi', model: new CsiPlugin(driver) });
      }
    }
    // Images that statically defined rbd volumes name exist in the cluster before the run, as
    // an administrator created them: for the manifests applied at the start and for those the
    // actions apply later alike (the storage is there before anyone writes a manifest for it).
    const ceph = [...this.backends.values()].find((b) => b.type === 'rbd');
    if (ceph?.type !== 'rbd') return;
    const images = (spec: { rbd?: { pool?: string; image: string }; capacity?: { storage?: string } } | undefined) => {
      if (!spec?.rbd) return;
      const size = parseQuantity(spec.capacity?.storage ?? '1Gi');
      ceph.model.createImage(spec.rbd.pool ?? 'rbd', spec.rbd.image, typeof size === 'number' ? size : 2 ** 30);
    };
    for (const obj of this.declaredObjects()) {
      if (obj.kind === 'PersistentVolume') images(obj.spec);
      if (obj.kind === 'Pod') for (const v of obj.spec?.volumes ?? []) images(v);
      if (obj.kind === 'StatefulSet') for (const v of obj.spec?.template?.spec?.volumes ?? []) images(v);
    }
  }

  /** Every object the scenario declares: its manifests, then what its `apply` actions apply. */
  private declaredObjects(): KObject[] {
    return [...this.scenario.manifests.map((m) => m.obj), ...this.scenario.actions.flatMap((a) => (a.kind === 'apply' ? [a.manifest] : []))];
  }

  /**
   * Whether some out-of-tree provisioner is in use: a StorageClass (in the manifests or applied
   * by an action) or a PV's provisioned-by annotation names one, or spec.backends names a CSI
   * plugin.
   */
  private servesExternalProvisioner(): boolean {
    if (this.scenario.backends.some((b) => b.type === 'csi')) return true;
    return this.declaredObjects().some((o) => {
      const provisioner = o.kind === 'StorageClass' ? o['provisioner'] : o.kind === 'PersistentVolume' ? o.metadata?.annotations?.['pv.kubernetes.io/provisioned-by'] : undefined;
      return typeof provisioner === 'string' && !isInTree(provisioner);
    });
  }

  private spawnBackends(): void {
    for (const [name, b] of this.backends) {
      const address = `backend/${name}`;
      if (b.type === 'nfs') this.spawn(address, (port) => nfsBackend(port, { name, model: b.model }));
      else if (b.type === 'rbd') this.spawn(address, (port) => cephRbdBackend(port, { name, model: b.model }));
      else this.spawn(address, (port) => csiDriverBackend(port, { model: b.model }));
      // The registry names the Ceph cluster `ceph` unless a class says otherwise: alias it.
      if (b.type === 'rbd' && name !== DEFAULT_CEPH && !this.backends.has(DEFAULT_CEPH) && !this.bus.has(`backend/${DEFAULT_CEPH}`)) {
        const actor = this.actors.get(address)!;
        this.bus.register(`backend/${DEFAULT_CEPH}`, (env) => actor.send({ type: 'deliver', msg: env.msg, from: env.from }));
        this.bus.place(`backend/${DEFAULT_CEPH}`, address);
      }
    }
  }

  private spawn(address: string, make: ComponentFactory): void {
    const actor = spawnComponent({
      address,
      make,
      clock: this.clock,
      startMs: this.startMs,
      rng: this.rng.fork(address),
      ids: new Ids(this.rng.fork(`${address}/ids`)),
      send: (from, to, msg) => this.bus.send(from, to, msg),
      trace: (at, kind, actor, detail) => this.trace.record(at, kind, actor, detail),
      iso: this.isoNow,
      onError: (addr, err) => {
        this.failure ??= { address: addr, err };
      },
    });
    this.actors.set(address, actor);
    const more = () => this.bus.chainNext(address);
    this.bus.register(address, (env) => actor.send({ type: 'deliver', msg: env.msg, from: env.from, more }));
  }

  /**
   * A controller of kube-controller-manager: its own actor, on the kube-controller-manager host,
   * so that a partition of that process cuts off every controller it runs
   * (cmd/kube-controller-manager; SPEC §1 names it as a partition target).
   */
  private spawnController(address: string, make: ComponentFactory): void {
    // Placed first, so that even what it sends as it starts comes from its host.
    this.bus.place(address, 'kube-controller-manager');
    this.spawn(address, make);
  }

  private spawnAll(): void {
    const t = this.scenario.timings;
    const tolerationSeconds = {
      ...(t['defaultNotReadyTolerationSeconds'] !== undefined ? { notReady: Math.round(t['defaultNotReadyTolerationSeconds'] / 1000) } : {}),
      ...(t['defaultUnreachableTolerationSeconds'] !== undefined ? { unreachable: Math.round(t['defaultUnreachableTolerationSeconds'] / 1000) } : {}),
    };
    // --bug: the one component it names receives it (KNOWN_BUGS); the others never look.
    const bug = this.opts.bug ? { bug: this.opts.bug } : {};
    this.spawn('apiserver', (port) => apiServer(port, { store: this.store, events: this.events, tolerationSeconds }));
    this.spawn('kube-scheduler', (port) => kubeScheduler(port, bug));
    this.spawnController(STATEFULSET_CONTROLLER, (port) => statefulSetController(port, this.opts.bug ? { bug: this.opts.bug } : {}));
    this.spawnController(ENDPOINTSLICE_CONTROLLER, (port) => endpointSliceController(port));
    this.spawnController(GARBAGE_COLLECTOR, (port) => garbageCollector(port));
    this.spawn('cluster-dns', (port) => clusterDns(port, { ...(t['dnsTtl'] !== undefined ? { ttlSeconds: Math.round(t['dnsTtl'] / 1000) } : {}), ...bug }));
    this.spawnController(PV_CONTROLLER, (port) => pvController(port, { ...(t['pvClaimBinderSyncPeriod'] !== undefined ? { resyncMs: t['pvClaimBinderSyncPeriod'] } : {}), ...bug }));
    this.spawnController(PVC_PROTECTION_CONTROLLER, (port) => pvcProtectionController(port));
    this.spawnController(PV_PROTECTION_CONTROLLER, (port) => pvProtectionController(port));
    this.spawnController(ATTACHDETACH_CONTROLLER, (port) =>
      attachDetachController(port, {
        csiAttachRequired: (d) => this.csiAttachRequired(d),
        ...bug,
        ...(t['reconcilerLoopPeriod'] !== undefined ? { reconcilerLoopMs: t['reconcilerLoopPeriod'] } : {}),
        ...(t['maxWaitForUnmountDuration'] !== undefined ? { maxWaitForUnmountMs: t['maxWaitForUnmountDuration'] } : {}),
      }),
    );
    this.spawnController(NODE_LIFECYCLE_CONTROLLER, (port) =>
      nodeLifecycleController(port, {
        ...(t['nodeMonitorPeriod'] !== undefined ? { monitorPeriodMs: t['nodeMonitorPeriod'] } : {}),
        ...(t['nodeMonitorGracePeriod'] !== undefined ? { gracePeriodMs: t['nodeMonitorGracePeriod'] } : {}),
        ...(t['nodeStartupGracePeriod'] !== undefined ? { startupGracePeriodMs: t['nodeStartupGracePeriod'] } : {}),
      }),
    );
    this.spawnController(TAINT_EVICTION_CONTROLLER, (port) => taintEvictionController(port));
    this.spawnController(POD_GC_CONTROLLER, (port) =>
      podGarbageCollectorController(port, {
        ...(t['gcCheckPeriod'] !== undefined ? { checkPeriodMs: t['gcCheckPeriod'] } : {}),
        ...(t['quarantineTime'] !== undefined ? { quarantineMs: t['quarantineTime'] } : {}),
      }),
    );
    // external-provisioner is a sidecar of a CSI driver's controller: it runs when the scenario
    // installs a driver it serves, as in a cluster (without one, nothing watches for it).
    if (this.servesExternalProvisioner()) this.spawn('external-provisioner', (port) => externalProvisioner(port, { provisioners: (name) => !isInTree(name) }));
    this.spawnBackends();
    this.scenario.nodes.forEach((name, i) => this.spawnKubelet(name, i + 1));
    // A Node created later is a machine joining: its kubelet starts and registers it.
    this.store.onCommit((ev, obj) => {
      if (ev === 'ADDED' && obj.kind === 'Node' && !this.actors.has(`kubelet/${obj.metadata.name}`)) {
        const name = obj.metadata.name!;
        this.nodes.set(name, { disk: MemFs.nodeDisk(), images: new Set() });
        this.spawnKubelet(name, this.nodes.size);
      }
    });
    const manifests = this.scenario.manifests.filter((m) => m.obj.kind !== 'Node').map((m) => m.obj);
    this.spawn('kubectl', (port) =>
      kubectl(port, {
        manifests,
        actions: this.scenario.actions,
        onResult: (r) => {
          this.trace.record(this.clock.nowMs, 'R', 'kubectl', `${r.index} ${r.action} ${r.ok}`);
          this.results.push(r);
          for (const l of this.resultListeners) l(r);
        },
        ...(this.opts.validate ? { validate: this.opts.validate } : {}),
        onManifestRejected: (obj, message) =>
          this.warnings.push({ warning: 'manifest-rejected', atMs: this.clock.nowMs, message, objects: [`${obj.kind}/${obj.metadata.name ?? ''}`] }),
      }),
    );
  }

  /** The cluster CIDR the nodes' pod CIDRs come from (spec.cluster.podCIDR, SPEC §2). */
  private clusterCIDR: ClusterCIDR | undefined;

  /** Node-N's /24 (first three octets), or null when the cluster CIDR has no N-th (CIDRNotAvailable). */
  private podSubnet(n: number): string | null {
    this.clusterCIDR ??= parseClusterCIDR(this.scenario.podCIDR ?? DEFAULT_CLUSTER_CIDR)!;
    return nodeSubnet(this.clusterCIDR, n) ?? null;
  }

  private spawnKubelet(name: string, cidrIndex: number): void {
    const t = this.scenario.timings;
    const state = this.nodes.get(name)!;
    this.spawn(`kubelet/${name}`, (port) =>
      kubelet(port, {
        nodeName: name,
        podCidrIndex: cidrIndex,
        podSubnet: this.podSubnet(cidrIndex),
        node: state,
        csiAttachRequired: (d) => this.csiAttachRequired(d),
        ...(this.opts.bug ? { bug: this.opts.bug } : {}),
        ...(t['nodeLeaseRenewInterval'] !== undefined ? { leaseRenewMs: t['nodeLeaseRenewInterval'] } : {}),
        ...(t['kubeletStartDelayMin'] !== undefined ? { startDelayMsMin: t['kubeletStartDelayMin'] } : {}),
        ...(t['kubeletStartDelayMax'] !== undefined ? { startDelayMsMax: t['kubeletStartDelayMax'] } : {}),
        ...(t['nodeStatusReportFrequency'] !== undefined ? { statusReportMs: t['nodeStatusReportFrequency'] } : {}),
      }),
    );
  }

  /**
   * Actions run at their `at`; those sharing an `at` run as a user typing them one after the
   * other would (SPEC §1): each starts when the one before it has its result, whatever their
   * kinds, so a write is acknowledged before a readNode after it looks. An action that blocks
   * (a write on a hard NFS mount during an outage) holds back only the actions after it at the
   * same `at`.
   */
  private scheduleActions(): void {
    const groups = new Map<number, number[]>();
    this.scenario.actions.forEach((a, i) => {
      const g = groups.get(a.atMs);
      if (g) g.push(i);
      else groups.set(a.atMs, [i]);
    });
    for (const [atMs, group] of groups) this.clock.at(atMs, () => this.startAction(group, 0));
    this.resultListeners.push((r) => {
      const next = this.heldBack.get(r.index);
      if (!next) return;
      this.heldBack.delete(r.index);
      // The next command is typed once this one has answered: at the same instant, after it.
      this.clock.at(this.clock.nowMs, () => this.startAction(next.group, next.k));
    });
  }

  /** Scenario actions handed to kubectl so far (by Action.index). */
  readonly started = new Set<number>();
  /** The index of a running action -> the action waiting for its result (same `at`). */
  private readonly heldBack = new Map<number, { group: number[]; k: number }>();

  private startAction(group: number[], k: number): void {
    const i = group[k]!;
    const a = this.scenario.actions[i]!;
    if (k + 1 < group.length) this.heldBack.set(a.index, { group, k: k + 1 });
    this.started.add(a.index);
    this.trace.record(this.clock.nowMs, 'A', 'user', `${i} ${a.kind}`);
    this.inject('kubectl', { type: 'user.action', index: i });
  }
}
