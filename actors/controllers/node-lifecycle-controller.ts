/**
 * The node lifecycle controller (kube-controller-manager's node-lifecycle-controller): decides
 * from what it observes whether each node's kubelet is alive, and says so in the API.
 *
 * Owns: the Node conditions it sets Unknown, the node.kubernetes.io/not-ready and
 * node.kubernetes.io/unreachable taints (NoSchedule and NoExecute) and the
 * node.kubernetes.io/unschedulable taint of a cordoned node, the Ready condition of the pods of a
 * node that stopped reporting.
 * Receives: its informers' lists and watch events for Nodes, Leases (kube-node-lease) and Pods
 * (indexed by node); api.response.
 * Sends: updateStatus Node (conditions Unknown), update Node (taints), updateStatus Pod (Ready
 * False), Events NodeNotReady (on the Node, and "Node is not ready" on its pods).
 *
 * Follows pkg/controller/nodelifecycle/node_lifecycle_controller.go at v1.30 (the taint-based
 * eviction path; the eviction itself is the taint-eviction-controller's):
 * - monitorNodeHealth every nodeMonitorPeriod (5 s): a node whose probe timestamp — the time this
 *   controller *observed* a new Ready heartbeat or a lease renewTime later than the one it saw
 *   before (savedLease.RenewTime.Before(observed), so a clock that jumps back looks stale) — is
 *   older than nodeMonitorGracePeriod (40 s; nodeStartupGracePeriod 60 s for a node that never
 *   posted status) gets Ready, MemoryPressure, DiskPressure and PIDPressure Unknown,
 *   `NodeStatusUnknown`, `Kubelet stopped posting node status.` (tryUpdateNodeHealth);
 * - on the transition from Ready: the Node Event `NodeNotReady` (`Node <n> status is now:
 *   NodeNotReady`, RecordNodeStatusChange) and MarkPodsNotReady;
 * - processTaintBaseEviction: Ready False -> not-ready:NoExecute, Unknown -> unreachable:NoExecute
 *   (swapped at once when the other is there), True -> both removed; NoExecute taints are added
 *   at most once per 10 s per zone (evictionLimiterQPS 0.1); in a zone where every node is not
 *   Ready (full disruption) none are added and those there are removed (handleDisruption);
 * - doNoScheduleTaintingPass (TaintNodesByCondition): Ready False/Unknown ->
 *   not-ready/unreachable:NoSchedule, spec.unschedulable -> unschedulable:NoSchedule.
 * Ticks cost nothing when nothing is due: the monitor runs on the 5 s grid only when a node's
 * grace period ends, or when something it must act on changed.
 */
import type { Component, Port } from '../../src/component.ts';
import { ApiClient } from '../../src/api-client.ts';
import { Informers, POD_NODE_INDEX, podNodeIndex, type ChangeType } from '../../src/informer.ts';
import type { KObject, Msg } from '../../src/protocol.ts';
import { deepCopy } from '../../src/model/objects.ts';

export const NODE_LIFECYCLE_CONTROLLER = 'node-lifecycle-controller';
/** The component its Events carry (nodelifecycle NewNodeLifecycleController's recorder). */
const SOURCE = 'node-controller';

// pkg/controller/nodelifecycle/config/v1alpha1/defaults.go (v1.30).
export const NODE_MONITOR_PERIOD_MS = 5_000;
export const NODE_MONITOR_GRACE_PERIOD_MS = 40_000;
export const NODE_STARTUP_GRACE_PERIOD_MS = 60_000;
// --node-eviction-rate 0.1: one node tainted NoExecute per 10 s per zone.
const EVICTION_INTERVAL_MS = 10_000;

export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
const ZONE_LABEL = 'topology.kubernetes.io/zone';
const PRESSURE_TYPES = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
}

interface Taint {
  key: string;
  value?: string;
  effect: string;
  timeAdded?: string;
}

/** nodeHealthData: what this controller last observed of a node, and when. */
interface Health {
  probeMs: number;
  readyHeartbeat: string | undefined;
  leaseRenew: string | undefined;
  /** Observed Ready status the last pass saw (to find transitions). */
  lastReady: string | undefined;
  /** MarkPodsNotReady must be (re)done for this node (nodesToRetry). */
  markPods: boolean;
}

export interface NodeLifecycleOptions {
  monitorPeriodMs?: number;
  gracePeriodMs?: number;
  startupGracePeriodMs?: number;
}

function readyOf(node: KObject): Condition | undefined {
  return ((node.status?.conditions ?? []) as Condition[]).find((c) => c.type === 'Ready');
}

function hasTaint(node: KObject, key: string, effect: string): boolean {
  return ((node.spec?.taints ?? []) as Taint[]).some((t) => t.key === key && t.effect === effect);
}

export function nodeLifecycleController(port: Port, opts: NodeLifecycleOptions = {}): Component {
  const api = new ApiClient(port);
  const periodMs = opts.monitorPeriodMs ?? NODE_MONITOR_PERIOD_MS;
  const graceMs = opts.gracePeriodMs ?? NODE_MONITOR_GRACE_PERIOD_MS;
  const startupGraceMs = opts.startupGracePeriodMs ?? NODE_STARTUP_GRACE_PERIOD_MS;
  const informers = new Informers(port, api, { kinds: ['Node', 'Lease', 'Pod'], onChange, onSynced: () => arm(port.now()) });
  const cache = informers.cache;
  cache.addIndex('Pod', POD_NODE_INDEX, podNodeIndex);
  const health = new Map<string, Health>();
  /** Writes in flight per node: a node is not written twice at once. */
  const busy = new Set<string>();
  /** When each zone last had a node tainted NoExecute (the zone's eviction rate limiter). */
  const zoneTaintedMs = new Map<string, number>();
  let startMs = 0;
  let armedAtMs: number | undefined;

  /** The first monitor tick (start + k * period) at or after `atMs`. */
  function tickAtOrAfter(atMs: number): number {
    const k = Math.max(0, Math.ceil((atMs - startMs) / periodMs));
    return startMs + k * periodMs;
  }

  function arm(atMs: number): void {
    if (!informers.synced) return;
    const t = tickAtOrAfter(atMs);
    if (armedAtMs !== undefined && armedAtMs <= t && armedAtMs >= port.now()) return;
    armedAtMs = t;
    port.setTimer('monitor', t - port.now());
  }

  function observe(name: string, node: KObject | undefined, lease: KObject | undefined): void {
    let h = health.get(name);
    if (!h) {
      h = { probeMs: port.now(), readyHeartbeat: undefined, leaseRenew: undefined, lastReady: node ? readyOf(node)?.status : undefined, markPods: false };
      health.set(name, h);
    }
    const hb = node ? readyOf(node)?.lastHeartbeatTime : undefined;
    if (hb !== undefined && hb !== h.readyHeartbeat) {
      h.readyHeartbeat = hb;
      h.probeMs = port.now();
    }
    const renew: string | undefined = lease?.spec?.renewTime;
    // savedLease.Spec.RenewTime.Before(observedLease.Spec.RenewTime): only a later renewal counts.
    if (renew !== undefined && (h.leaseRenew === undefined || h.leaseRenew < renew)) {
      h.leaseRenew = renew;
      h.probeMs = port.now();
    }
  }

  function onChange(type: ChangeType, obj: KObject, old: KObject | undefined): void {
    const name = obj.metadata.name ?? '';
    if (obj.kind === 'Pod') return;
    if (obj.kind === 'Lease') {
      if (obj.metadata.namespace !== 'kube-node-lease' || type === 'DELETED') return;
      observe(name, cache.get('Node', undefined, name), obj);
      return;
    }
    if (type === 'DELETED') {
      health.delete(name);
      return;
    }
    observe(name, obj, cache.get('Lease', 'kube-node-lease', name));
    // Someone changed what the controller acts on (readiness, cordon, taints): look again.
    const readyNow = readyOf(obj)?.status;
    const readyBefore = old ? readyOf(old)?.status : undefined;
    if (!old || readyNow !== readyBefore || obj.spec?.unschedulable !== old.spec?.unschedulable || JSON.stringify(obj.spec?.taints) !== JSON.stringify(old.spec?.taints)) arm(port.now());
    else arm(health.get(name)!.probeMs + graceFor(obj));
  }

  function graceFor(node: KObject): number {
    return readyOf(node) ? graceMs : startupGraceMs;
  }

  /** monitorNodeHealth: one pass over every node, in name order. */
  function monitor(): void {
    armedAtMs = undefined;
    const now = port.now();
    const nodes = cache.list('Node');
    let next = Infinity;
    const zones = new Map<string, { total: number; notReady: number }>();
    const decided: { node: KObject; ready: string }[] = [];
    for (const node of nodes) {
      const name = node.metadata.name!;
      observe(name, node, cache.get('Lease', 'kube-node-lease', name));
      const h = health.get(name)!;
      let ready = readyOf(node)?.status ?? 'Unknown';
      const deadline = h.probeMs + graceFor(node);
      if (now > deadline) {
        if (ready !== 'Unknown' || (node.status?.conditions ?? []).length === 0) markUnknown(node);
        ready = 'Unknown';
      } else next = Math.min(next, deadline + 1);
      if (h.lastReady === 'True' && ready !== 'True') {
        api.event(node, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`, SOURCE);
        h.markPods = true;
      }
      h.lastReady = ready;
      if (h.markPods && ready !== 'True') markPodsNotReady(name, h);
      else h.markPods = false;
      const zone = (node.metadata.labels?.[ZONE_LABEL] as string | undefined) ?? '';
      const z = zones.get(zone) ?? { total: 0, notReady: 0 };
      z.total++;
      if (ready !== 'True') z.notReady++;
      zones.set(zone, z);
      decided.push({ node, ready });
    }
    for (const { node, ready } of decided) {
      const zone = (node.metadata.labels?.[ZONE_LABEL] as string | undefined) ?? '';
      const z = zones.get(zone)!;
      const fullDisruption = z.notReady === z.total;
      if (syncTaints(node, ready, zone, fullDisruption)) next = Math.min(next, now + 1);
    }
    if (busy.size > 0 || [...health.values()].some((h) => h.markPods)) next = Math.min(next, now + 1);
    if (next !== Infinity) arm(next);
  }

  /** tryUpdateNodeHealth past the grace period: every kubelet condition Unknown. */
  function markUnknown(node: KObject): void {
    const name = node.metadata.name!;
    if (busy.has(name)) return;
    const next = deepCopy(node);
    const conds: Condition[] = ((next.status ??= {}).conditions ??= []);
    const now = port.nowIso();
    for (const type of PRESSURE_TYPES) {
      const c = conds.find((x) => x.type === type);
      if (!c) {
        conds.push({ type, status: 'Unknown', reason: 'NodeStatusNeverUpdated', message: 'Kubelet never posted node status.', lastHeartbeatTime: node.metadata.creationTimestamp ?? now, lastTransitionTime: now });
      } else if (c.status !== 'Unknown') {
        Object.assign(c, { status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: now });
      }
    }
    busy.add(name);
    api.request({ verb: 'updateStatus', kind: 'Node', name, obj: next }, () => {
      busy.delete(name);
      arm(port.now());
    });
  }

  /** MarkPodsNotReady: each pod on the node gets Ready False, and a NodeNotReady Event. */
  function markPodsNotReady(name: string, h: Health): void {
    h.markPods = false;
    for (const pod of cache.byIndex('Pod', POD_NODE_INDEX, name)) {
      const conds: Condition[] = pod.status?.conditions ?? [];
      const ready = conds.find((c) => c.type === 'Ready');
      if (!ready || ready.status === 'False') continue;
      const next = deepCopy(pod);
      const c = (next.status.conditions as Condition[]).find((x) => x.type === 'Ready')!;
      c.status = 'False';
      c.lastTransitionTime = port.nowIso();
      const { resourceVersion: _rv, ...metadata } = next.metadata;
      api.request({ verb: 'updateStatus', kind: 'Pod', namespace: pod.metadata.namespace!, name: pod.metadata.name!, obj: { ...next, metadata } }, (res) => {
        if (!res.ok && res.status?.code !== 404) {
          h.markPods = true;
          arm(port.now());
          return;
        }
        if (res.ok) api.event(pod, 'Warning', 'NodeNotReady', 'Node is not ready', SOURCE);
      });
    }
  }

  /**
   * The taints the node should carry for its readiness and cordon; writes them when they differ.
   * Returns whether something is left for a later tick (the zone's rate limiter).
   */
  function syncTaints(node: KObject, ready: string, zone: string, fullDisruption: boolean): boolean {
    const name = node.metadata.name!;
    if (busy.has(name)) return true;
    const now = port.now();
    const taints = [...((node.spec?.taints ?? []) as Taint[])];
    const without = (key: string, effect: string) => {
      const i = taints.findIndex((t) => t.key === key && t.effect === effect);
      if (i >= 0) taints.splice(i, 1);
    };
    const ensure = (key: string, effect: string) => {
      if (taints.some((t) => t.key === key && t.effect === effect)) return;
      taints.push(effect === 'NoExecute' ? { key, effect, timeAdded: port.nowIso() } : { key, effect });
    };
    // NoSchedule taints follow the conditions (doNoScheduleTaintingPass).
    if (ready === 'False') ensure(TAINT_NOT_READY, 'NoSchedule');
    else without(TAINT_NOT_READY, 'NoSchedule');
    if (ready === 'Unknown') ensure(TAINT_UNREACHABLE, 'NoSchedule');
    else without(TAINT_UNREACHABLE, 'NoSchedule');
    if (node.spec?.unschedulable) ensure(TAINT_UNSCHEDULABLE, 'NoSchedule');
    else without(TAINT_UNSCHEDULABLE, 'NoSchedule');
    // NoExecute taints drive eviction (processTaintBaseEviction), rate-limited per zone.
    let later = false;
    const want = ready === 'False' ? TAINT_NOT_READY : ready === 'Unknown' ? TAINT_UNREACHABLE : undefined;
    if (want === undefined || fullDisruption) {
      without(TAINT_NOT_READY, 'NoExecute');
      without(TAINT_UNREACHABLE, 'NoExecute');
    } else {
      const other = want === TAINT_NOT_READY ? TAINT_UNREACHABLE : TAINT_NOT_READY;
      if (hasTaint(node, other, 'NoExecute')) {
        // SwapNodeControllerTaint: at once, without waiting for the rate limiter.
        without(other, 'NoExecute');
        ensure(want, 'NoExecute');
      } else if (!hasTaint(node, want, 'NoExecute')) {
        const last = zoneTaintedMs.get(zone);
        if (last === undefined || now - last >= EVICTION_INTERVAL_MS) {
          zoneTaintedMs.set(zone, now);
          ensure(want, 'NoExecute');
        } else later = true;
      }
    }
    const before = JSON.stringify(node.spec?.taints ?? []);
    if (JSON.stringify(taints) === before) return later;
    const next = deepCopy(node);
    // A Node created without a spec (one applied by hand) has an empty one, as NodeSpec is a value.
    next.spec ??= {};
    if (taints.length > 0) next.spec.taints = taints;
    else delete next.spec.taints;
    busy.add(name);
    api.request({ verb: 'update', kind: 'Node', name, obj: next }, () => {
      busy.delete(name);
      arm(port.now());
    });
    return later;
  }

  return {
    start(): void {
      startMs = port.now();
      informers.start();
    },
    receive(msg: Msg): void {
      if (!api.handle(msg)) informers.handle(msg);
    },
    timer(key: string): void {
      if (key === 'monitor') return monitor();
      if (!api.timer(key)) informers.timer(key);
    },
  };
}
