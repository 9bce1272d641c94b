/**
 * kube-scheduler (default profile, for what ksim models). Address `kube-scheduler`.
 *
 * Receives: its informers' lists and watch events for Nodes, PersistentVolumes, claims, Pods and
 *           StorageClasses (no resync: the scheduler's informer factory has none);
 *           api.response for its bindings.
 * Sends:    pods/binding requests and Scheduled / FailedScheduling Events to the API server.
 *
 * Follows pkg/scheduler: filter plugins NodeUnschedulable, TaintToleration (NoSchedule/NoExecute),
 * NodeAffinity (nodeSelector and required node affinity), VolumeRestrictions (ReadWriteOncePod)
 * and VolumeBinding, in the default profile's order; scoring by the default
 * topology spreading (pods of the same owner spread over nodes: the system default
 * PodTopologySpread constraint on kubernetes.io/hostname), ties broken by a seeded choice as
 * kube-scheduler breaks them at random (selectHost). Unschedulable pods are retried when a
 * node or pod changes, with per-pod backoff 1 s doubling to 10 s (podInitialBackoffDuration /
 * podMaxBackoffDuration) and at least every 5 m (podMaxInUnschedulablePodsDuration).
 * FailedScheduling text as FitError.Error() in v1.30, with the preemption suffix.
 */
import type { Node, Pod, Taint } from 'kubernetes-types/core/v1.js';
import type { Component, Port } from '../src/component.ts';
import type { ApiResponse, KObject, Msg } from '../src/protocol.ts';
import { ApiClient } from '../src/api-client.ts';
import { CONTROLLER_UID_INDEX, controllerUidIndex, Informers, POD_CLAIM_INDEX, podClaimIndex, type ChangeType } from '../src/informer.ts';
import { matchesNodeSelector, toleratesTaint } from '../src/model/selectors.ts';
import { controllerOf, deepCopy } from '../src/model/objects.ts';
import type { PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import { VolumeIndex } from './controllers/pv-index.ts';
import { ERR_RWOP_CONFLICT, filterVolumes, preFilterVolumes, pvFitsNode, rwopConflict, type Decision } from './kube-scheduler-volumes.ts';

// volumebinding.DefaultBindTimeoutSeconds.
const BIND_TIMEOUT_MS = 600_000;
// volume.AnnSelectedNode (k8s.io/component-helpers/storage/volume): the node a claim is provisioned for.
const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';

const SOURCE = 'default-scheduler';
const BACKOFF_INITIAL_MS = 1000;
const BACKOFF_MAX_MS = 10_000;
const UNSCHEDULABLE_FLUSH_MS = 300_000;
// schedule_one.go: below 100 nodes every node is filtered; above, filtering stops once
// numFeasibleNodesToFind nodes fit (percentageOfNodesToScore unset: 50% - nodes/125, at least
// 5% and 100 nodes), starting where the previous pod's search stopped (nextStartNodeIndex).
const MIN_FEASIBLE_NODES_TO_FIND = 100;
const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5;
const BASE_PERCENTAGE_OF_NODES_TO_SCORE = 50;

/** numFeasibleNodesToFind with percentageOfNodesToScore unset (schedule_one.go, v1.30). */
export function numFeasibleNodesToFind(numAllNodes: number): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND) return numAllNodes;
  const percentage = Math.max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND, BASE_PERCENTAGE_OF_NODES_TO_SCORE - Math.trunc(numAllNodes / 125));
  const numNodes = Math.trunc((numAllNodes * percentage) / 100);
  return numNodes < MIN_FEASIBLE_NODES_TO_FIND ? MIN_FEASIBLE_NODES_TO_FIND : numNodes;
}

/** A filter plugin: undefined when the node fits, else the reason counted in FitError. */
type Filter = (pod: Pod, node: Node) => string | undefined;

function taintText(t: Taint): string {
  return `{${t.key}: ${t.value ?? ''}}`;
}

/**
 * The Filter plugins ksim models, in the default profile's order (apis/config/v1
 * default_plugins.go: NodeUnschedulable, NodeName, TaintToleration, NodeAffinity, ...,
 * VolumeRestrictions, ..., VolumeBinding): a node is charged with the first that rejects it.
 * Each of these rejects with UnschedulableAndUnresolvable (preemption cannot help).
 */
export const FILTERS: readonly Filter[] = [
  // NodeUnschedulable: a cordoned node, unless the pod tolerates the unschedulable taint.
  (pod, node) =>
    node.spec?.unschedulable && !toleratesTaint(pod.spec?.tolerations, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' })
      ? 'node(s) were unschedulable'
      : undefined,
  // TaintToleration: the first untolerated NoSchedule/NoExecute taint
  // (helper.DoNotScheduleTaintsFilterFunc; PreferNoSchedule only scores).
  (pod, node) => {
    for (const t of node.spec?.taints ?? []) {
      if (t.effect !== 'NoSchedule' && t.effect !== 'NoExecute') continue;
      if (!toleratesTaint(pod.spec?.tolerations, t)) return `node(s) had untolerated taint ${taintText(t)}`;
    }
    return undefined;
  },
  // NodeAffinity: spec.nodeSelector and requiredDuringSchedulingIgnoredDuringExecution.
  (pod, node) => {
    const labels = node.metadata?.labels ?? {};
    for (const [k, v] of Object.entries(pod.spec?.nodeSelector ?? {})) if (labels[k] !== v) return "node(s) didn't match Pod's node affinity/selector";
    const req = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
    if (req && !matchesNodeSelector(req, node.metadata!.name!, labels)) return "node(s) didn't match Pod's node affinity/selector";
    return undefined;
  },
];

/** `<count> <reason>` strings sorted as Go's sort.Strings sorts them, joined by `, `. */
function histogram(reasons: Map<string, number>): string {
  return [...reasons.entries()].map(([r, n]) => `${n} ${r}`).sort().join(', ');
}

/**
 * FitError.Error() (framework/types.go): `0/3 nodes are available: <PreFilterMsg>.` or the
 * sorted `<count> <reason>` histogram, then DefaultPreemption's PostFilter message, itself a
 * FitError text ending in `.`, hence the `..` real events end with. Preemption may help only on
 * nodes rejected as Unschedulable (`preemptible`: the ReadWriteOncePod conflict); ksim's pods
 * all have one priority, so such a node has no victims
 * (default_preemption.go SelectVictimsOnNode); every other node is not helped
 * (preemption.go nodesWherePreemptionMightHelp).
 */
export function fitErrorMessage(nodeCount: number, reasons: Map<string, number>, preFilterMsg?: string, preemptible = 0): string {
  if (nodeCount === 0) return 'no nodes available to schedule pods';
  const body = preFilterMsg ?? histogram(reasons);
  const post = new Map<string, number>();
  if (preemptible > 0) post.set('No preemption victims found for incoming pod', preemptible);
  if (nodeCount - preemptible > 0) post.set('Preemption is not helpful for scheduling', nodeCount - preemptible);
  return `0/${nodeCount} nodes are available: ${body}. preemption: 0/${nodeCount} nodes are available: ${histogram(post)}..`;
}

interface Backoff {
  attempts: number;
  /** A cluster event (or the periodic flush) happened since the last failed attempt. */
  due: boolean;
}

/** A pod in the scheduling queue with its activeQ sort key. */
interface QueueEntry {
  uid: string;
  priority: number;
  created: string;
  name: string;
  namespace: string;
}

/** activeQ order: higher priority first, then earlier creation, then name, then namespace. */
function activeQLess(a: QueueEntry, b: QueueEntry): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.created !== b.created) return a.created < b.created;
  if (a.name !== b.name) return a.name < b.name;
  return a.namespace < b.namespace;
}

/**
 * A pod in PreBind: the claims it waits for, and the resourceVersion our selected-node write of
 * each claim to provision got (undefined while the write is in flight).
 */
interface Binding {
  pod: Pod;
  node: string;
  claims: string[];
  deadlineMs: number;
  seq: number;
  written: Map<string, string | undefined>;
}

export function kubeScheduler(port: Port, opts: { bug?: string } = {}): Component {
  // --bug scheduler-ignore-volume-affinity: VolumeBinding's Filter passes every node for a bound PV.
  const ignoreVolumeAffinity = opts.bug === 'scheduler-ignore-volume-affinity';
  const api = new ApiClient(port);
  // The scheduling loop starts once every informer listed (scheduler.go WaitForCacheSync).
  const informers = new Informers(port, api, { kinds: ['Node', 'PersistentVolume', 'PersistentVolumeClaim', 'Pod', 'StorageClass'], onChange, onSynced: () => kick() });
  const cache = informers.cache;
  /** Pods bound by us whose binding the watch has not shown yet: uid -> node. */
  const assumed = new Map<string, string>();
  const unschedulable = new Map<string, Backoff>();
  /** Pods whose volumes are being bound (PreBind) before the pod itself is bound. */
  const binding = new Map<string, Binding>();
  let bindingSeq = 0;
  /** `namespace/claim` -> uids of the pods in `binding` that wait for that claim. */
  const bindingByClaim = new Map<string, Set<string>>();
  const volumes = new VolumeIndex();
  let armed = false;
  /** The scheduling queue's pods (unbound, not deleted, ours, not finished): uid -> `namespace/name`. */
  const queued = new Map<string, QueueEntry>();
  /** Where the next pod's node search starts (schedule_one.go nextStartNodeIndex). */
  let nextStartNodeIndex = 0;
  cache.addIndex('Pod', CONTROLLER_UID_INDEX, controllerUidIndex);
  cache.addIndex('Pod', POD_CLAIM_INDEX, podClaimIndex);

  function wantsScheduling(p: Pod): boolean {
    if (p.spec?.nodeName || p.metadata!.deletionTimestamp) return false;
    if ((p.spec?.schedulerName ?? 'default-scheduler') !== 'default-scheduler') return false;
    return p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';
  }

  /**
   * The queued pods that are not assumed, in activeQ order — priority, then the time the pod
   * entered the queue (creation); then by name and namespace, so that the order never depends on
   * the order pods were seen in — kept as pods come and go (a pod's key never changes), so that a
   * scheduling cycle neither sorts nor walks the pods whose binding is under way.
   */
  const order: QueueEntry[] = [];
  /** The entries in `order`, by uid. */
  const inOrder = new Map<string, QueueEntry>();

  /** Keeps `queued` in step with one pod's cached state. */
  function track(obj: KObject | undefined, uid: string): void {
    if (obj && wantsScheduling(obj as Pod)) {
      if (!queued.has(uid)) {
        const p = obj as Pod;
        queued.set(uid, { uid, priority: p.spec?.priority ?? 0, created: p.metadata!.creationTimestamp!, name: p.metadata!.name!, namespace: p.metadata!.namespace ?? '' });
      }
    } else queued.delete(uid);
    syncOrder(uid);
  }

  function dequeue(uid: string): void {
    queued.delete(uid);
    syncOrder(uid);
  }

  function assume(uid: string, node: string): void {
    assumed.set(uid, node);
    syncOrder(uid);
  }

  function forgetAssumed(uid: string): void {
    assumed.delete(uid);
    syncOrder(uid);
  }

  /** Puts a pod into `order`, or takes it out, as `queued` and `assumed` say. */
  function syncOrder(uid: string): void {
    const e = queued.get(uid);
    const want = e !== undefined && !assumed.has(uid);
    if (want === inOrder.has(uid)) return;
    if (want) {
      order.splice(firstAfter(e), 0, e);
      inOrder.set(uid, e);
      return;
    }
    const held = inOrder.get(uid)!;
    inOrder.delete(uid);
    // Entries that sort before `held` end before it: search back from the first after it.
    for (let i = firstAfter(held) - 1; i >= 0; i--) {
      if (order[i] === held) return void order.splice(i, 1);
      if (activeQLess(order[i]!, held)) break;
    }
  }

  /** The index of the first entry of `order` that `e` sorts before (binary search). */
  function firstAfter(e: QueueEntry): number {
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (activeQLess(e, order[mid]!)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  function stopBinding(uid: string): boolean {
    const b = binding.get(uid);
    if (!b) return false;
    binding.delete(uid);
    for (const c of b.claims) {
      const k = `${b.pod.metadata!.namespace!}/${c}`;
      const set = bindingByClaim.get(k);
      set?.delete(uid);
      if (set?.size === 0) bindingByClaim.delete(k);
    }
    return true;
  }

  function kick(delayMs = 0): void {
    if (!informers.synced || (armed && delayMs > 0)) return;
    armed = true;
    port.setTimer('schedule', delayMs);
  }

  /** The queued pods to try, in activeQ order (see `order`). */
  function pending(): Pod[] {
    const out: Pod[] = [];
    for (const e of order) {
      const p = cache.get<Pod>('Pod', e.namespace, e.name);
      if (p && p.metadata!.uid === e.uid) out.push(p);
    }
    return out;
  }

  /** Pods of the same owner per node: the spreading score's input. */
  function spreadCounts(pod: Pod): Map<string, number> {
    const owner = controllerOf(pod as KObject);
    const counts = new Map<string, number>();
    if (!owner) return counts;
    const ns = pod.metadata!.namespace;
    const add = (p: Pod) => {
      const node = p.spec?.nodeName ?? assumed.get(p.metadata!.uid!);
      if (!node || p.metadata!.uid === pod.metadata!.uid) return;
      counts.set(node, (counts.get(node) ?? 0) + 1);
    };
    // The pods of the same owner, through the owner index (a count: order does not matter).
    if (owner.uid) {
      cache.forEachIndexed('Pod', CONTROLLER_UID_INDEX, owner.uid, (p) => {
        if (p.metadata.namespace === ns && controllerOf(p)?.uid === owner.uid) add(p as Pod);
      });
      return counts;
    }
    for (const p of cache.list<Pod>('Pod', ns)) if (controllerOf(p as KObject)?.uid === owner.uid) add(p);
    return counts;
  }

  function unschedulableNow(pod: Pod, message: string): void {
    api.event(pod as KObject, 'Warning', 'FailedScheduling', message, SOURCE);
    const uid = pod.metadata!.uid!;
    const b = unschedulable.get(uid) ?? { attempts: 0, due: false };
    b.attempts++;
    b.due = false;
    unschedulable.set(uid, b);
  }

  function scheduleOne(pod: Pod, nodes: readonly Node[]): void {
    const pre = preFilterVolumes(pod, cache);
    if ('error' in pre) return unschedulableNow(pod, fitErrorMessage(nodes.length, new Map(), pre.error));
    // The volumes do not change while the nodes are tried: each claim's match is prepared once.
    for (const c of pre.claims) if (c.delayed && !c.pv) c.match = volumes.matcherFor(c.claim);
    // VolumeRestrictions: PreFilter counts the pod's ReadWriteOncePod claims that some other
    // pod uses; Filter then rejects every node as Unschedulable (so that preemption could
    // free the claim), volume_restrictions.go satisfyReadWriteOncePod.
    const rwop = rwopConflict(pod, pre.claims, cache, (p) => assumed.get(p.metadata!.uid!));
    const reasons = new Map<string, number>();
    let preemptible = 0;
    const feasible: { node: Node; decisions: Decision[] }[] = [];
    const numAllNodes = nodes.length;
    const numNodesToFind = numFeasibleNodesToFind(numAllNodes);
    let processed = 0;
    for (let i = 0; i < numAllNodes && feasible.length < numNodesToFind; i++) {
      const node = nodes[(nextStartNodeIndex + i) % numAllNodes]!;
      processed++;
      let reason: string | undefined;
      for (const f of FILTERS) {
        reason = f(pod, node);
        if (reason) break;
      }
      if (!reason && rwop) {
        reason = ERR_RWOP_CONFLICT;
        preemptible++;
      }
      let decisions: Decision[] = [];
      if (!reason) {
        const v = filterVolumes(pre.claims, node, volumes, ignoreVolumeAffinity);
        if ('reason' in v) reason = v.reason;
        else decisions = v.decisions;
      }
      if (reason) reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      else feasible.push({ node, decisions });
    }
    if (numAllNodes > 0) nextStartNodeIndex = (nextStartNodeIndex + processed) % numAllNodes;
    const uid = pod.metadata!.uid!;
    if (feasible.length === 0) return unschedulableNow(pod, fitErrorMessage(nodes.length, reasons, undefined, preemptible));
    const counts = spreadCounts(pod);
    let best: typeof feasible = [];
    let bestScore = -Infinity;
    for (const f of feasible) {
      const score = -(counts.get(f.node.metadata!.name!) ?? 0);
      if (score > bestScore) {
        bestScore = score;
        best = [f];
      } else if (score === bestScore) best.push(f);
    }
    const pick = port.rng.pick(best);
    const chosen = pick.node.metadata!.name!;
    unschedulable.delete(uid);
    assume(uid, chosen);
    const delayed = pre.claims.filter((c) => c.delayed).map((c) => c.name);
    if (delayed.length === 0) return bindPod(pod, chosen);
    // PreBind (binder.go BindPodVolumes): pre-bind chosen PVs, or ask for provisioning on the
    // chosen node, then wait for the PV controller to finish binding every claim.
    const b: Binding = { pod, node: chosen, claims: delayed, deadlineMs: port.now() + BIND_TIMEOUT_MS, seq: ++bindingSeq, written: new Map() };
    binding.set(uid, b);
    for (const d of pick.decisions) prebind(b, d);
    for (const c of delayed) {
      const k = `${pod.metadata!.namespace!}/${c}`;
      let set = bindingByClaim.get(k);
      if (!set) bindingByClaim.set(k, (set = new Set()));
      set.add(uid);
    }
    port.setTimer(`bind-timeout/${uid}`, BIND_TIMEOUT_MS);
  }

  /**
   * BindPodVolumes: pre-bind the chosen PV, or write the chosen node on a claim to provision. A
   * write that fails fails PreBind (binder.go bindAPIUpdate returns the error): the pod is
   * scheduled again.
   */
  function prebind(b: Binding, d: Decision): void {
    const pod = b.pod;
    const uid = pod.metadata!.uid!;
    const ns = pod.metadata!.namespace!;
    const claim = cache.get<PersistentVolumeClaim>('PersistentVolumeClaim', ns, d.claim);
    if (!claim) return;
    const answered = (res: ApiResponse): void => {
      if (binding.get(uid) !== b) return;
      if (!res.ok) return failBinding(uid, res.status?.message ?? 'update failed');
      if ('provision' in d) {
        b.written.set(d.claim, res.obj?.metadata.resourceVersion);
        checkBinding(`${ns}/${d.claim}`);
      }
    };
    if ('bindTo' in d) {
      const pv = deepCopy(d.bindTo) as KObject;
      pv.spec.claimRef = { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: ns, name: d.claim, uid: claim.metadata!.uid, resourceVersion: claim.metadata!.resourceVersion };
      pv.metadata.annotations = { ...(pv.metadata.annotations ?? {}), 'pv.kubernetes.io/bound-by-controller': 'yes' };
      api.request({ verb: 'update', kind: 'PersistentVolume', name: pv.metadata.name!, obj: pv }, answered);
      return;
    }
    b.written.set(d.claim, undefined);
    const c = deepCopy(claim) as KObject;
    c.metadata.annotations = { ...(c.metadata.annotations ?? {}), [ANN_SELECTED_NODE]: b.node };
    api.request({ verb: 'update', kind: 'PersistentVolumeClaim', namespace: ns, name: d.claim, obj: c }, answered);
  }

  /** PreBind failed: the pod's volumes are unreserved and it goes back to the queue. */
  function failBinding(uid: string, reason: string): void {
    const b = binding.get(uid);
    if (!b) return;
    stopBinding(uid);
    port.cancelTimer(`bind-timeout/${uid}`);
    forgetAssumed(uid);
    unschedulableNow(b.pod, `running PreBind plugin "VolumeBinding": binding volumes: ${reason}`);
    onClusterChange();
  }

  /**
   * binder.go checkBindings for one claim we asked to provision: undefined while it is not done
   * yet (our write not seen in the cache, the PV not there, the claim not Bound), true when it
   * is, or why PreBind fails: the selected node was changed or removed under us, or the claim was
   * bound to a volume the node cannot reach.
   */
  function provisionedClaimState(b: Binding, c: PersistentVolumeClaim): true | undefined | string {
    const written = b.written.get(c.metadata!.name!);
    const selected = c.metadata?.annotations?.[ANN_SELECTED_NODE];
    if (selected !== b.node) {
      // The cache may not show our write yet (versioner.CompareResourceVersion): wait for it.
      if (written === undefined || Number(c.metadata?.resourceVersion ?? 0) < Number(written)) return undefined;
      if (!c.metadata?.annotations) return `selectedNode annotation reset for PVC "${c.metadata!.name}"`;
      return `selectedNode annotation value "${selected ?? ''}" not set to scheduled node "${b.node}"`;
    }
    const volumeName = c.spec?.volumeName;
    if (volumeName) {
      // A PV not in the cache yet (API delay) is checked next time.
      const pv = cache.get<PersistentVolume>('PersistentVolume', undefined, volumeName);
      if (!pv) return undefined;
      const node = cache.get<Node>('Node', undefined, b.node);
      if (node && !pvFitsNode(pv, node)) return `pv "${volumeName}" node affinity doesn't match node "${b.node}": no matching NodeSelectorTerms`;
    }
    return c.status?.phase === 'Bound' ? true : undefined;
  }

  /**
   * PreBind finished when every delayed claim of the pod is Bound: asked of the pods waiting for
   * the claim `namespace/name` that changed, in the order they started waiting.
   */
  function checkBinding(claimKey: string): void {
    const waiting = bindingByClaim.get(claimKey);
    if (!waiting) return;
    const bs = [...waiting].map((uid) => [uid, binding.get(uid)!] as const).sort((a, b) => a[1].seq - b[1].seq);
    for (const [uid, b] of bs) {
      const ns = b.pod.metadata!.namespace!;
      let done = true;
      let failed: string | undefined;
      for (const n of b.claims) {
        const c = cache.get<PersistentVolumeClaim>('PersistentVolumeClaim', ns, n);
        const state = !c ? undefined : b.written.has(n) ? provisionedClaimState(b, c) : c.status?.phase === 'Bound' || undefined;
        if (typeof state === 'string') failed ??= state;
        if (state !== true) done = false;
      }
      if (failed !== undefined) {
        failBinding(uid, failed);
        continue;
      }
      if (!done) continue;
      stopBinding(uid);
      port.cancelTimer(`bind-timeout/${uid}`);
      bindPod(b.pod, b.node);
    }
  }

  function bindPod(pod: Pod, chosen: string): void {
    const uid = pod.metadata!.uid!;
    const ns = pod.metadata!.namespace!;
    const name = pod.metadata!.name!;
    api.request({ verb: 'bind', kind: 'Pod', namespace: ns, name, nodeName: chosen }, (res) => {
      if (res.ok) {
        api.event(pod as KObject, 'Normal', 'Scheduled', `Successfully assigned ${ns}/${name} to ${chosen}`, SOURCE);
      } else {
        forgetAssumed(uid);
        kick(BACKOFF_INITIAL_MS);
      }
    });
  }

  function cycle(): void {
    armed = false;
    let nodes: Node[] | undefined;
    for (const pod of pending()) {
      // A pod that failed and saw no cluster event since waits for one (or the flush).
      const b = unschedulable.get(pod.metadata!.uid!);
      if (b && !b.due) continue;
      // The cache does not change within a cycle: one node list serves every pod of it.
      scheduleOne(pod, (nodes ??= cache.list<Node>('Node')));
    }
    if (unschedulable.size > 0) port.setTimer('flush', UNSCHEDULABLE_FLUSH_MS);
  }

  /** A cluster change may make unschedulable pods fit: retry them after their backoff. */
  function onClusterChange(): void {
    if (unschedulable.size === 0) return;
    let wait = BACKOFF_MAX_MS;
    for (const b of unschedulable.values()) {
      b.due = true;
      wait = Math.min(wait, Math.min(BACKOFF_INITIAL_MS * 2 ** (b.attempts - 1), BACKOFF_MAX_MS));
    }
    port.setTimer('retry', wait);
  }

  function onChange(type: ChangeType, obj: KObject, old: KObject | undefined): void {
    if (obj.kind === 'PersistentVolume') {
      if (type === 'DELETED') volumes.remove(obj as PersistentVolume);
      else if (old) volumes.update(obj as PersistentVolume);
      else volumes.add(obj as PersistentVolume);
      // A claim Bound before its PV reached this cache is checked again when the PV arrives
      // (upstream polls checkBindings every second).
      const ref = (obj as PersistentVolume).spec?.claimRef;
      if (type !== 'DELETED' && ref?.name && binding.size) checkBinding(`${ref.namespace ?? ''}/${ref.name}`);
      onClusterChange();
      return;
    }
    if (obj.kind === 'PersistentVolumeClaim' || obj.kind === 'StorageClass') {
      if (obj.kind === 'PersistentVolumeClaim' && binding.size) checkBinding(`${obj.metadata.namespace ?? ''}/${obj.metadata.name}`);
      onClusterChange();
      return;
    }
    if (obj.kind === 'Pod') {
      const uid = obj.metadata.uid!;
      if (type !== 'DELETED') {
        if (old && old.metadata.uid !== uid) dequeue(old.metadata.uid!);
        track(obj, uid);
      } else dequeue(uid);
      // A re-list can show, under a pod's name, a new pod that replaced it (the delete and the
      // create happened while the watch was down): client-go hands that over as an update, and
      // the scheduling queue puts a pod it does not hold into activeQ (scheduling_queue.go Update).
      const replaced = type === 'MODIFIED' && old !== undefined && old.metadata.uid !== uid;
      if (type === 'DELETED' || replaced) {
        const gone = (replaced ? old : obj).metadata.uid!;
        forgetAssumed(gone);
        unschedulable.delete(gone);
        if (stopBinding(gone)) port.cancelTimer(`bind-timeout/${gone}`);
        onClusterChange();
        if (type === 'DELETED') return;
      }
      if (obj.spec?.nodeName) {
        forgetAssumed(uid);
        return;
      }
      if ((!old || replaced) && !obj.metadata.deletionTimestamp) kick();
      return;
    }
    if (obj.kind === 'Node') {
      if (type === 'ADDED' || JSON.stringify(old?.spec) !== JSON.stringify(obj.spec) || JSON.stringify(old?.metadata.labels) !== JSON.stringify(obj.metadata.labels)) onClusterChange();
    }
  }

  return {
    start(): void {
      informers.start();
    },
    receive(msg: Msg): void {
      if (!api.handle(msg)) informers.handle(msg);
    },
    timer(key: string): void {
      if (api.timer(key) || informers.timer(key)) return;
      if (key.startsWith('bind-timeout/')) {
        const uid = key.slice('bind-timeout/'.length);
        failBinding(uid, 'timed out waiting for the condition');
        return;
      }
      if (key === 'flush') for (const b of unschedulable.values()) b.due = true;
      cycle();
    },
  };
}
