/**
 * The attach/detach controller (kube-controller-manager), with the CSI external-attacher folded
 * in: it decides which attachable volumes must be attached to which nodes, and performs the
 * attach itself by talking CSI to the storage backend.
 *
 * Follows pkg/controller/volume/attachdetach (attach_detach_controller.go, reconciler/
 * reconciler.go, cache/desired_state_of_world.go and actual_state_of_world.go,
 * statusupdater/node_status_updater.go), pkg/volume/util (IsPodTerminated, IsMultiAttachAllowed),
 * pkg/volume/csi/csi_attacher.go (VolumeAttachment objects) and kubernetes-csi/external-attacher
 * (pkg/controller/csi_handler.go), v1.30; k8s-semantics.md §4 cases 54-59, §7 cases 96-99.
 *
 * Owns: VolumeAttachment objects and Node status.volumesAttached. Receives: its informers' lists
 * and watch events for Pod, Node, PersistentVolume, PersistentVolumeClaim and VolumeAttachment,
 * api.response and csi.response. Sends: list and watch requests; api.request create/updateStatus/delete of VolumeAttachments,
 * updateStatus (and get, after a conflict) of Nodes; csi.request ControllerPublishVolume /
 * ControllerUnpublishVolume to `backend/<name>`; Warning FailedAttachVolume and Normal
 * SuccessfulAttachVolume Events on pods.
 *
 * Desired state (DSW): every attachable volume of every scheduled, not terminated pod on a known
 * node. Attachable: a PV or inline volume whose source is `rbd`, or a PV with a `csi` source
 * whose driver requires attach (CSIDriver attachRequired, given as `csiAttachRequired`); NFS,
 * hostPath, local and node-local CSI volumes never get a VolumeAttachment. Actual state (ASW):
 * what this controller attached, or adopted from existing VolumeAttachments after a restart
 * (populateActualStateOfWorld), each entry with attachedConfirmed, MountedByNode (from the
 * node's status.volumesInUse; "assume mounted until proven otherwise" for a new entry) and the
 * time the first detach was requested.
 *
 * Attach (csi_attacher.Attach + external-attacher): create VolumeAttachment
 * `csi-<sha256(volumeHandle + attacher + node)>`, ControllerPublishVolume, then status
 * {attached: true, attachmentMetadata} and the volume in the Node's status.volumesAttached as
 * `kubernetes.io/csi/<driver>^<volumeHandle>` (in-tree rbd: `kubernetes.io/rbd/<pool>:<image>`).
 * A failure sets status.attachError, marks the attachment uncertain and emits FailedAttachVolume
 * `AttachVolume.Attach failed for volume "<pv>" : <rpc error>` on the pods that want it.
 * Detach: when no longer desired and not mounted (or the node is not Ready and 6 minutes passed
 * since the first detach request, or the node has the out-of-service taint): drop it from the
 * Node's volumesAttached, ControllerUnpublishVolume, delete the VolumeAttachment.
 * Multi-Attach: a volume whose PV allows only RWO/RWOP is never attached to a second node while
 * attached (or possibly attached) to another one; the pods get the Multi-Attach error event
 * once per volume and node.
 *
 * Simplifications, on purpose: the external-attacher's finalizer is not used (the object is
 * deleted after ControllerUnpublish succeeds instead of carrying a deletionTimestamp meanwhile);
 * an attach whose outcome is uncertain (failed or timed out) also blocks other nodes for
 * RWO volumes, where upstream counts only confirmed attachments — safer, same steady state;
 * the safe-to-detach re-check against the API server is folded into the cached volumesInUse;
 * Node status is written with updateStatus under the cached resourceVersion (upstream patches),
 * re-read after a conflict, and rewritten when someone else's write dropped our entries.
 *
 * The reconciler loop (100 ms) costs nothing when idle: its ticks are the instants
 * start + k * 100 ms, but a tick runs only when something can be done — a difference between
 * desired and actual state that no operation is working on, a backoff or a force-detach
 * deadline coming due (armed at the first tick after that deadline, as `elapsed > max` is
 * checked on ticks), or a Node status to write. Waiting for the kubelet to unmount arms nothing:
 * the Node update that reports it wakes the controller.
 *
 * Defaults and their sources:
 * - reconciler loop 100 ms, maxWaitForUnmountDuration 6 m — attach_detach_controller.go
 *   DefaultTimerConfig (ReconcilerLoopPeriod, ReconcilerMaxWaitForUnmountDuration);
 * - operation retry backoff 500 ms doubling to 2m2s — goroutinemap/exponentialbackoff
 *   (initialDurationBeforeRetry, maxDurationBeforeRetry);
 * - CSI call timeout 15 s — external-attacher `--timeout`;
 * - API request timeout 60 s — kube-apiserver `--request-timeout`.
 */
import type { Node, PersistentVolume, PersistentVolumeClaim, PersistentVolumeSpec, Pod, Volume } from 'kubernetes-types/core/v1.js';
import { perBoot, type Component, type Port } from '../../src/component.ts';
import { ApiClient, REQUEST_TIMEOUT_MS, type RequestBody } from '../../src/api-client.ts';
import { Calls } from '../../src/calls.ts';
import { Informers, POD_CLAIM_INDEX, POD_NODE_INDEX, podClaimIndex, podNodeIndex, type ChangeType } from '../../src/informer.ts';
import type { ApiResponse, KObject, Msg, WatchEvent } from '../../src/protocol.ts';
import { backendAddress, GRPC, rpcError, type CsiCall, type CsiRequest, type CsiResponse } from '../../backends/protocol.ts';
import { deepCopy } from '../../src/model/objects.ts';
import {
  attachableVolume,
  byNsName,
  cmp,
  hasOutOfServiceTaint,
  isNodeReady,
  isPodTerminated,
  multiAttachMessage,
  reconcilerInputsDiffer,
  volumeAttachmentName,
  volumeMsg,
  type AttachableVolume,
  type NodeObj,
  type PodObj,
  type PvObj,
  type PvcObj,
} from './attach-detach-utils.ts';

export { isPodTerminated, isMultiAttachAllowed, csiUniqueVolumeName, rbdUniqueVolumeName, volumeAttachmentName, multiAttachMessage, attachableVolume, TAINT_OUT_OF_SERVICE, RBD_IN_TREE_PLUGIN } from './attach-detach-utils.ts';
export { sha256Hex } from '../../src/sha256.ts';

export interface AttachDetachOptions {
  /** CSIDriver spec.attachRequired of a driver (ceph-csi RBD: true; NFS, CephFS: false). */
  csiAttachRequired: (driver: string) => boolean;
  reconcilerLoopMs?: number;
  maxWaitForUnmountMs?: number;
  /** --bug: attach-skip-multiattach-check, attach-check-in-use, attach-pod-node-cached, attach-adopt-from-node-status. */
  bug?: string;
}

/** kube-controller-manager's name for it (cmd/kube-controller-manager/names, v1.30); its Events' source. */
export const ATTACHDETACH_CONTROLLER = 'persistentvolume-attach-detach-controller';
const SOURCE = 'attachdetach-controller';

// attach_detach_controller.go DefaultTimerConfig.
const RECONCILER_LOOP_MS = 100;
const MAX_WAIT_FOR_UNMOUNT_MS = 6 * 60_000;
// goroutinemap/exponentialbackoff/exponential_backoff.go.
const BACKOFF_INITIAL_MS = 500;
const BACKOFF_MAX_MS = 122_000;
// external-attacher cmd/csi-attacher/main.go `--timeout`.
const ATTACHER_TIMEOUT_MS = 15_000;

interface Attached {
  volume: AttachableVolume;
  node: string;
  /** attachedConfirmed; false: uncertain (an attach failed or timed out, or is unconfirmed). */
  confirmed: boolean;
  /** MountedByNode: listed in the node's status.volumesInUse (assumed true until a Node says). */
  mounted: boolean;
  detachRequestedAtMs: number | undefined;
  /** In the set reported in the Node's status.volumesAttached. */
  reported: boolean;
}

/** A pod that wants a volume on its node, with the volume as that pod's spec names it. */
interface Wanting {
  namespace: string;
  name: string;
  volume: AttachableVolume;
}

interface Desired {
  /** node -> the pods on that node that use the volume, by `namespace/name`. */
  nodes: Map<string, Map<string, Wanting>>;
}

/** What one pod adds to the DSW: its node (more than one only under a --bug) and its attachable volumes by unique name. */
interface PodWants {
  nodes: string[];
  volumes: Map<string, AttachableVolume>;
}

interface Backoff {
  durationMs: number;
  lastErrorAtMs: number;
}

interface NodeWriter {
  inflight: boolean;
  /** A re-read after a conflict is in flight. */
  refreshing: boolean;
  /** Callbacks waiting for the next write to land, and those waiting for the one in flight. */
  queued: ((ok: boolean) => void)[];
  sent: ((ok: boolean) => void)[];
}

export function attachDetachController(port: Port, opts: AttachDetachOptions): Component {
  const api = new ApiClient(port);
  const informers = new Informers(port, api, { kinds: ['Pod', 'Node', 'PersistentVolume', 'PersistentVolumeClaim', 'VolumeAttachment'], onChange });
  const cache = informers.cache;
  const loopMs = opts.reconcilerLoopMs ?? RECONCILER_LOOP_MS;
  const maxWaitMs = opts.maxWaitForUnmountMs ?? MAX_WAIT_FOR_UNMOUNT_MS;
  // Failure modes --bug re-introduces (sim/world.ts BUGS), each a marked branch below.
  const skipMultiAttachCheck = opts.bug === 'attach-skip-multiattach-check';
  const checkInUse = opts.bug === 'attach-check-in-use';
  const podNodeCached = opts.bug === 'attach-pod-node-cached';
  const adoptFromNodeStatus = opts.bug === 'attach-adopt-from-node-status';
  /** --bug attach-pod-node-cached: every node each pod (by name) was seen on. */
  const podNodes = new Map<string, Set<string>>();

  /** ASW: uniqueName -> node -> entry. */
  const asw = new Map<string, Map<string, Attached>>();
  /** Operations in flight (nestedpendingoperations): `uniqueName|node` -> attach/detach. */
  const ops = new Map<string, 'attach' | 'detach'>();
  /** exponentialbackoff per `op|uniqueName|node`. */
  const backoffs = new Map<string, Backoff>();
  /** SetMultiAttachError: `uniqueName|node` pairs already reported. */
  const multiAttachReported = new Set<string>();
  /** VolumeAttachments this controller deleted (by uid): never adopted again. */
  const deletedVas = new Set<string>();
  const writers = new Map<string, NodeWriter>();

  /**
   * Which PV and PVC events can change a reconcile pass (the real controller has no PV event
   * handler and reacts to a claim's events only for the pods using it): claims used by pods
   * (`namespace/name` -> pods), claims by the volume they name, volumes named by
   * VolumeAttachments. An event for anything else leaves every pass as it was.
   */
  const claimsOfVolume = new Map<string, Set<string>>();
  const attachedVolumes = new Map<string, number>();
  cache.addIndex('Pod', POD_CLAIM_INDEX, podClaimIndex);
  cache.addIndex('Pod', POD_NODE_INDEX, podNodeIndex);

  /**
   * The desired state of world, kept per pod as desired_state_of_world.go keeps it
   * (AddPod/DeletePod from the pod, node and claim event handlers): unique volume name -> node
   * -> pods; and what each pod put there, to take it out again.
   */
  const dsw = new Map<string, Desired>();
  const podWants = new Map<string, PodWants>();
  /** Nodes whose cached status.volumesAttached is not empty (the status updater looks at these and at the ASW's). */
  const nodesReporting = new Set<string>();

  let tick0Ms = 0;
  let armedAtMs: number | undefined;
  let csiSeq = 0;
  const csiCalls = new Calls<CsiResponse>(port, 'csi-timeout');

  // --- plumbing ---------------------------------------------------------------------------------

  function count(m: Map<string, number>, key: string, by: number): void {
    const n = (m.get(key) ?? 0) + by;
    if (n === 0) m.delete(key);
    else m.set(key, n);
  }

  /** Puts what one of our own writes returned into the cache, ahead of its watch event. */
  function record(type: ChangeType, o: KObject): void {
    const before = cache.get(o.kind, o.metadata.namespace, o.metadata.name!);
    if (type === 'DELETED') cache.delete(o.kind, o.metadata.namespace, o.metadata.name!);
    else cache.put(o);
    track(o.kind, before, cache.get(o.kind, o.metadata.namespace, o.metadata.name!));
  }

  /** Keeps the relevance indexes in step with what the cache holds. */
  function track(kind: string, before: KObject | undefined, after: KObject | undefined): void {
    if (after === before) return;
    if (kind === 'Node') {
      const name = (after ?? before)!.metadata.name!;
      if (((after as NodeObj | undefined)?.status?.volumesAttached ?? []).length > 0) nodesReporting.add(name);
      else nodesReporting.delete(name);
    } else if (kind === 'PersistentVolumeClaim') {
      const o = (after ?? before)!;
      const key = `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;
      const was: string | undefined = before?.spec?.volumeName;
      const now: string | undefined = after?.spec?.volumeName;
      if (was === now) return;
      if (was) {
        const set = claimsOfVolume.get(was);
        set?.delete(key);
        if (set?.size === 0) claimsOfVolume.delete(was);
      }
      if (now) {
        let set = claimsOfVolume.get(now);
        if (!set) claimsOfVolume.set(now, (set = new Set()));
        set.add(key);
      }
    } else if (kind === 'VolumeAttachment') {
      const was: string | undefined = before?.spec?.source?.persistentVolumeName;
      const now: string | undefined = after?.spec?.source?.persistentVolumeName;
      if (was) count(attachedVolumes, was, -1);
      if (now) count(attachedVolumes, now, 1);
    }
  }

  /** Whether some pod uses the claim `namespace/name`. */
  function claimUsed(key: string): boolean {
    return cache.byIndexSize('Pod', POD_CLAIM_INDEX, key) > 0;
  }

  /** A PV a pass reads: named by a VolumeAttachment, or by a claim some pod uses. */
  function volumeMatters(name: string): boolean {
    if (attachedVolumes.has(name)) return true;
    const claims = claimsOfVolume.get(name);
    if (claims) for (const k of claims) if (claimUsed(k)) return true;
    return false;
  }

  /** An API request that fails with a Timeout status when no answer comes within 60 s. */
  function request(body: RequestBody, cb: (res: ApiResponse) => void): void {
    api.request(body, cb, REQUEST_TIMEOUT_MS);
  }

  /** A CSI call; no answer within the attacher's timeout is DeadlineExceeded. */
  function csi(backend: string, call: CsiCall, cb: (res: CsiResponse) => void): void {
    const reqId = perBoot(port, `${port.address}#csi-${++csiSeq}`);
    csiCalls.await(reqId, cb, ATTACHER_TIMEOUT_MS, () => cb({ type: 'csi.response', reqId, code: GRPC.DEADLINE_EXCEEDED, message: 'context deadline exceeded' }));
    const req: CsiRequest = { type: 'csi.request', reqId, call };
    port.send(backendAddress(backend), req);
  }

  const pairKey = (unique: string, node: string) => `${unique}|${node}`;

  function pendingOn(unique: string, node: string | undefined): boolean {
    if (node !== undefined) return ops.has(pairKey(unique, node));
    for (const k of ops.keys()) if (k.startsWith(`${unique}|`)) return true;
    return false;
  }

  function entry(unique: string, node: string): Attached | undefined {
    return asw.get(unique)?.get(node);
  }

  function putEntry(e: Attached): void {
    let m = asw.get(e.volume.uniqueName);
    if (!m) asw.set(e.volume.uniqueName, (m = new Map()));
    m.set(e.node, e);
  }

  function deleteEntry(unique: string, node: string): void {
    const m = asw.get(unique);
    if (!m) return;
    m.delete(node);
    if (m.size === 0) asw.delete(unique);
  }

  function mountedOnNode(node: string, unique: string): boolean | undefined {
    const n = cache.get<NodeObj>('Node', undefined, node);
    if (!n) return undefined;
    return (n.status?.volumesInUse ?? []).includes(unique);
  }

  /** exponentialbackoff.Update. */
  function failed(key: string): void {
    const b = backoffs.get(key);
    const durationMs = b ? Math.min(b.durationMs * 2, BACKOFF_MAX_MS) : BACKOFF_INITIAL_MS;
    backoffs.set(key, { durationMs, lastErrorAtMs: port.now() });
  }

  /** The first tick strictly after `atMs`. */
  function tickAfter(atMs: number): number {
    return tick0Ms + (Math.floor((atMs - tick0Ms) / loopMs) + 1) * loopMs;
  }

  // --- desired state of world -----------------------------------------------------------------

  function volumeOfPod(pod: PodObj, v: Volume): AttachableVolume | undefined {
    if (v.persistentVolumeClaim) {
      const ns = pod.metadata.namespace ?? 'default';
      const pvc = cache.get<PvcObj>('PersistentVolumeClaim', ns, v.persistentVolumeClaim.claimName);
      // getPVCFromCache: the claim must be Bound to a volume.
      if (!pvc || pvc.status?.phase !== 'Bound' || !pvc.spec?.volumeName) return undefined;
      const pv = cache.get<PvObj>('PersistentVolume', undefined, pvc.spec.volumeName);
      if (!pv?.spec) return undefined;
      // getPVSpecFromCache: the PV must point back at this claim.
      const refUid = pv.spec.claimRef?.uid;
      if (refUid && pvc.metadata.uid && refUid !== pvc.metadata.uid) return undefined;
      return attachableVolume(pv.spec, pv.metadata.name!, pv, !!v.persistentVolumeClaim.readOnly, opts.csiAttachRequired);
    }
    if (v.rbd) return attachableVolume({ rbd: v.rbd as PersistentVolumeSpec['rbd'] } as Partial<PersistentVolumeSpec>, v.name, undefined, false, opts.csiAttachRequired);
    return undefined;
  }

  /**
   * What a pod wants attached where, read from the cache: every attachable volume of a
   * scheduled, not terminated pod on a node the DSW knows (nodeAdd; a deleted Node's pods are
   * not desired). Undefined when it wants nothing.
   */
  function wantsOf(pod: PodObj | undefined): PodWants | undefined {
    const node = pod?.spec?.nodeName;
    if (!pod || !node || isPodTerminated(pod)) return undefined;
    // BUG (--bug attach-pod-node-cached): the pod is also wanted on every node its name was seen on.
    const seen = podNodeCached ? podNodes.get(`${pod.metadata.namespace ?? ''}/${pod.metadata.name}`) : undefined;
    const nodes = (seen ? [node, ...[...seen].filter((n) => n !== node).sort()] : [node]).filter((n) => cache.get('Node', undefined, n));
    if (nodes.length === 0) return undefined;
    let volumes: Map<string, AttachableVolume> | undefined;
    for (const v of pod.spec?.volumes ?? []) {
      const vol = volumeOfPod(pod, v);
      if (!vol) continue;
      volumes ??= new Map();
      // The pod's first volume of that name is the one it is listed with.
      if (!volumes.has(vol.uniqueName)) volumes.set(vol.uniqueName, vol);
    }
    return volumes ? { nodes, volumes } : undefined;
  }

  /**
   * Brings the DSW in step with one pod (DeletePod of what it wanted, AddPod of what it wants
   * now); returns whether the pod wants or wanted anything (a pass may then differ).
   */
  function syncPod(namespace: string, name: string): boolean {
    const key = `${namespace}/${name}`;
    const before = podWants.get(key);
    const now = wantsOf(cache.get<PodObj>('Pod', namespace, name));
    if (!before && !now) return false;
    if (before) {
      for (const unique of before.volumes.keys()) {
        const d = dsw.get(unique);
        if (!d) continue;
        for (const node of before.nodes) {
          const pods = d.nodes.get(node);
          if (!pods) continue;
          pods.delete(key);
          if (pods.size === 0) d.nodes.delete(node);
        }
        if (d.nodes.size === 0) dsw.delete(unique);
      }
      podWants.delete(key);
    }
    if (now) {
      podWants.set(key, now);
      for (const [unique, volume] of now.volumes) {
        let d = dsw.get(unique);
        if (!d) dsw.set(unique, (d = { nodes: new Map() }));
        for (const node of now.nodes) {
          let pods = d.nodes.get(node);
          if (!pods) d.nodes.set(node, (pods = new Map()));
          pods.set(key, { namespace, name, volume });
        }
      }
    }
    return true;
  }

  /** Syncs every pod filed under `value` in a Pod index; whether any wants or wanted something. */
  function syncPodsBy(index: string, value: string): boolean {
    let any = false;
    for (const p of cache.byIndex<PodObj>('Pod', index, value)) if (syncPod(p.metadata.namespace ?? '', p.metadata.name!)) any = true;
    return any;
  }

  function byWanting(a: Wanting, b: Wanting): number {
    return cmp(a.namespace, b.namespace) || cmp(a.name, b.name);
  }

  /** The volume as the first pod (by namespace, name) that wants it names it. */
  function desiredVolume(d: Desired): AttachableVolume {
    let first: Wanting | undefined;
    for (const pods of d.nodes.values()) for (const w of pods.values()) if (!first || byWanting(w, first) < 0) first = w;
    return first!.volume;
  }

  /** The pods on `node` that want the volume, in (namespace, name) order. */
  function desiredPods(d: Desired, node: string): PodObj[] {
    const pods = d.nodes.get(node);
    if (!pods) return [];
    const out: PodObj[] = [];
    for (const w of [...pods.values()].sort(byWanting)) {
      const p = cache.get<PodObj>('Pod', w.namespace, w.name);
      if (p) out.push(p);
    }
    return out;
  }

  /** --bug attach-check-in-use: the nodes whose cached status.volumesInUse lists the volume. */
  function nodesUsing(unique: string): string[] {
    return cache.list<NodeObj>('Node').filter((n) => (n.status?.volumesInUse ?? []).includes(unique)).map((n) => n.metadata.name!);
  }

  /** --bug attach-adopt-from-node-status: whether the cached Node's status.volumesAttached lists the volume. */
  function listedAttached(node: string, unique: string): boolean {
    const n = cache.get<NodeObj>('Node', undefined, node);
    return ((n?.status?.volumesAttached ?? []) as { name: string }[]).some((v) => v.name === unique);
  }

  /** populateActualStateOfWorld / processVolumeAttachments: adopt VolumeAttachments we do not track. */
  function adoptVolumeAttachments(): void {
    for (const va of cache.list('VolumeAttachment')) {
      if (va.metadata.deletionTimestamp || deletedVas.has(va.metadata.uid ?? '')) continue;
      const node: string | undefined = va.spec?.nodeName;
      const src = va.spec?.source ?? {};
      if (!node) continue;
      let vol: AttachableVolume | undefined;
      if (src.persistentVolumeName) {
        const pv = cache.get<PvObj>('PersistentVolume', undefined, src.persistentVolumeName);
        if (pv?.spec) vol = attachableVolume(pv.spec, pv.metadata.name!, pv, false, opts.csiAttachRequired);
      } else if (src.inlineVolumeSpec) {
        vol = attachableVolume(src.inlineVolumeSpec, va.metadata.name!, undefined, false, opts.csiAttachRequired);
      }
      if (!vol || entry(vol.uniqueName, node) || pendingOn(vol.uniqueName, node)) continue;
      // BUG (--bug attach-adopt-from-node-status): only what the Node's status lists is adopted.
      if (adoptFromNodeStatus && !listedAttached(node, vol.uniqueName)) continue;
      const confirmed = va.status?.attached === true;
      putEntry({ volume: vol, node, confirmed, mounted: mountedOnNode(node, vol.uniqueName) ?? true, detachRequestedAtMs: undefined, reported: confirmed });
    }
  }

  // --- the reconciler ---------------------------------------------------------------------------

  /** The pass's instant and the earliest tick it found something due at (see reconcilePass). */
  let passAtMs = 0;
  let passDueMs: number | undefined;

  function dueAt(t: number): void {
    passDueMs = passDueMs === undefined ? t : Math.min(passDueMs, t);
  }

  function backoffReadyAt(key: string): number | undefined {
    const b = backoffs.get(key);
    if (!b || passAtMs > b.lastErrorAtMs + b.durationMs) return undefined;
    return tickAfter(b.lastErrorAtMs + b.durationMs);
  }

  /**
   * One reconciler pass. With `execute`, starts every operation that can start now (this is a
   * tick). Without, only works out when the next tick has something to do. Returns that instant,
   * or undefined when nothing will be due without a new event.
   */
  function reconcile(execute: boolean): number | undefined {
    // A pass may run another (an attach that fails at once kicks): keep the outer pass's state.
    const outerAtMs = passAtMs;
    const outerDueMs = passDueMs;
    const due = reconcilePass(execute);
    passAtMs = outerAtMs;
    passDueMs = outerDueMs;
    return due;
  }

  function reconcilePass(execute: boolean): number | undefined {
    const now = port.now();
    const at = execute ? now : tickAfter(now);
    passAtMs = at;
    passDueMs = undefined;

    adoptVolumeAttachments();
    if (multiAttachReported.size > 0) for (const k of [...multiAttachReported]) {
      const [unique, node] = k.split('|') as [string, string];
      if (!dsw.get(unique)?.nodes.has(node)) multiAttachReported.delete(k);
    }

    // Detaches first, so that volumes of pods rescheduled elsewhere are detached first.
    const attached = asw.size === 0 ? [] : [...asw.values()].flatMap((m) => [...m.values()]).sort((a, b) => cmp(a.volume.uniqueName, b.volume.uniqueName) || cmp(a.node, b.node));
    for (const e of attached) {
      const unique = e.volume.uniqueName;
      if (dsw.get(unique)?.nodes.has(e.node)) continue;
      if (pendingOn(unique, e.volume.multiAttachAllowed ? e.node : undefined)) continue;
      const ready = backoffReadyAt(`detach|${pairKey(unique, e.node)}`);
      if (ready !== undefined) {
        dueAt(ready);
        continue;
      }
      e.detachRequestedAtMs ??= at;
      const timeout = at > e.detachRequestedAtMs + maxWaitMs;
      const node = cache.get<NodeObj>('Node', undefined, e.node);
      const healthy = isNodeReady(node);
      const forceDetach = !healthy && timeout;
      const outOfService = hasOutOfServiceTaint(node);
      if (e.mounted && !forceDetach && !outOfService) {
        // Still mounted: wait for the kubelet's volumesInUse, or force after the timeout from
        // an unhealthy node.
        if (!healthy) dueAt(tickAfter(e.detachRequestedAtMs + maxWaitMs));
        continue;
      }
      if (!execute) return at;
      if (timeout) port.note(`force detaching ${unique} from ${e.node}: maxWaitForUnmountDuration ${maxWaitMs}ms expired`);
      startDetach(e);
    }

    for (const unique of dsw.size === 0 ? [] : [...dsw.keys()].sort()) {
      const d = dsw.get(unique)!;
      const vol = desiredVolume(d);
      for (const node of [...d.nodes.keys()].sort()) {
        if (pendingOn(unique, vol.multiAttachAllowed ? node : undefined)) continue;
        const e = entry(unique, node);
        if (e?.confirmed) {
          e.detachRequestedAtMs = undefined; // ResetDetachRequestTime
          continue;
        }
        // BUG (--bug attach-skip-multiattach-check): no Multi-Attach check at all.
        if (!vol.multiAttachAllowed && !skipMultiAttachCheck) {
          // BUG (--bug attach-check-in-use): the nodes that report the volume in use, not the ASW.
          const others = (checkInUse ? nodesUsing(unique) : [...(asw.get(unique)?.keys() ?? [])]).filter((n) => n !== node).sort();
          if (others.length > 0) {
            if (!multiAttachReported.has(pairKey(unique, node))) {
              if (!execute) return at;
              reportMultiAttachError(d, vol, node, others);
              multiAttachReported.add(pairKey(unique, node));
            }
            continue;
          }
        }
        const ready = backoffReadyAt(`attach|${pairKey(unique, node)}`);
        if (ready !== undefined) {
          dueAt(ready);
          continue;
        }
        if (!execute) return at;
        startAttach(vol, node, desiredPods(d, node));
      }
    }

    // Node status: write volumesAttached where it differs from what we report (only a node
    // that has or should have some can differ).
    for (const name of nodesToReport()) {
      const node = cache.get<NodeObj>('Node', undefined, name);
      if (!node) continue;
      const w = writers.get(name);
      if (w && (w.inflight || w.refreshing)) continue;
      if (sameAttached(node, reportedOn(name))) continue;
      if (!execute) return at;
      syncNodeStatus(name);
    }
    return passDueMs;
  }

  function reportMultiAttachError(d: Desired, vol: AttachableVolume, node: string, otherNodes: string[]): void {
    const others = otherNodes
      .flatMap((n) => desiredPods(d, n))
      .sort(byNsName)
      .map((p) => ({ namespace: p.metadata.namespace ?? '', name: p.metadata.name ?? '' }));
    for (const pod of desiredPods(d, node)) {
      api.event(pod, 'Warning', 'FailedAttachVolume', multiAttachMessage(vol.name, pod.metadata.namespace ?? '', others), SOURCE);
    }
    port.note(`Multi-Attach error: ${vol.uniqueName} wanted on ${node}, attached to ${otherNodes.join(',')}`);
  }

  /** Nodes whose status.volumesAttached is or should be non-empty, by name. */
  function nodesToReport(): string[] {
    const names = new Set(nodesReporting);
    for (const m of asw.values()) for (const [node, e] of m) if (e.reported) names.add(node);
    return [...names].sort();
  }

  /** Arms the reconcile timer for `due`, or disarms it when nothing is due. */
  function arm(due: number | undefined): void {
    if (due === armedAtMs) return;
    if (due === undefined) {
      port.cancelTimer('reconcile');
      armedAtMs = undefined;
      return;
    }
    armedAtMs = due;
    port.setTimer('reconcile', due - port.now());
  }

  function kick(): void {
    arm(reconcile(false));
  }

  // --- attach (csi_attacher.Attach + external-attacher) -----------------------------------------

  function vaObject(vol: AttachableVolume, node: string): KObject {
    return {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'VolumeAttachment',
      metadata: { name: volumeAttachmentName(vol.volumeId, vol.attacher, node) },
      spec: { attacher: vol.attacher, nodeName: node, source: deepCopy(vol.source) },
    };
  }

  function writeVaStatus(va: KObject, status: Record<string, unknown>, cb?: (ok: boolean) => void): void {
    const { resourceVersion: _rv, ...metadata } = va.metadata;
    request({ verb: 'updateStatus', kind: 'VolumeAttachment', name: va.metadata.name!, obj: { ...va, metadata, status } }, (res) => {
      if (res.ok && res.obj) record('MODIFIED', res.obj);
      cb?.(res.ok);
    });
  }

  function startAttach(vol: AttachableVolume, node: string, pods: PodObj[]): void {
    const key = pairKey(vol.uniqueName, node);
    ops.set(key, 'attach');
    port.note(`attaching ${vol.uniqueName} to ${node}`);
    const fail = (message: string) => {
      ops.delete(key);
      failed(`attach|${key}`);
      // MarkVolumeAsUncertain: it may be attached; a new entry is assumed mounted.
      const e = entry(vol.uniqueName, node);
      if (e) e.confirmed = false;
      else putEntry({ volume: vol, node, confirmed: false, mounted: true, detachRequestedAtMs: undefined, reported: false });
      for (const pod of pods) api.event(pod, 'Warning', 'FailedAttachVolume', volumeMsg('AttachVolume.Attach failed', vol.name, `: ${message}`), SOURCE);
      kick();
    };
    const succeed = () => {
      ops.delete(key);
      backoffs.delete(`attach|${key}`);
      // MarkVolumeAsAttached: an existing (uncertain) entry keeps its MountedByNode.
      const e = entry(vol.uniqueName, node);
      if (e) {
        e.confirmed = true;
        e.reported = true;
      } else {
        putEntry({ volume: vol, node, confirmed: true, mounted: true, detachRequestedAtMs: undefined, reported: true });
      }
      port.note(`attached ${vol.uniqueName} to ${node}`);
      // operation_generator.go GenerateAttachVolumeFunc: "Successful attach event is useful for
      // user debugging", on every pod scheduled there that uses the volume.
      for (const pod of pods) api.event(pod, 'Normal', 'SuccessfulAttachVolume', volumeMsg('AttachVolume.Attach succeeded', vol.name, ''), SOURCE);
      kick();
    };
    if (typeof vol.capability === 'string') return fail(vol.capability);
    const capability = vol.capability;
    const want = vaObject(vol, node);
    request({ verb: 'create', kind: 'VolumeAttachment', obj: want }, (res) => {
      let va: KObject | undefined;
      if (res.ok && res.obj) {
        va = res.obj;
        record('ADDED', va);
      } else if (res.status?.code === 409) {
        va = cache.get('VolumeAttachment', undefined, want.metadata.name!) ?? want;
      } else {
        return fail(res.status?.message ?? 'failed to create VolumeAttachment');
      }
      const target = va;
      csi(vol.backend, { method: 'ControllerPublishVolume', volumeId: vol.volumeId, nodeId: node, capability, readonly: vol.readOnly }, (r) => {
        if (r.code !== GRPC.OK) {
          const message = rpcError(r.code, r.message);
          writeVaStatus(target, { attached: false, attachError: { time: port.nowIso(), message } });
          return fail(message);
        }
        writeVaStatus(target, { attached: true, attachmentMetadata: r.result?.publishContext ?? {} }, (ok) =>
          ok ? succeed() : fail(`failed to mark VolumeAttachment ${target.metadata.name} as attached`),
        );
      });
    });
  }

  // --- detach -------------------------------------------------------------------------------------

  function startDetach(e: Attached): void {
    const vol = e.volume;
    const key = pairKey(vol.uniqueName, e.node);
    ops.set(key, 'detach');
    const vaName = volumeAttachmentName(vol.volumeId, vol.attacher, e.node);
    const fail = (message: string, backoff: boolean) => {
      ops.delete(key);
      if (backoff) failed(`detach|${key}`);
      // AddVolumeToReportAsAttached: it is still attached.
      e.reported = e.confirmed;
      port.note(`DetachVolume.Detach failed for volume ${JSON.stringify(vol.name)} from ${e.node}: ${message}`);
      kick();
    };
    // RemoveVolumeFromReportAsAttached, then the Node status must say so before detaching.
    e.reported = false;
    port.note(`detaching ${vol.uniqueName} from ${e.node}`);
    syncNodeStatus(e.node, (ok) => {
      if (!ok) return fail('failed to update node status', false);
      csi(vol.backend, { method: 'ControllerUnpublishVolume', volumeId: vol.volumeId, nodeId: e.node }, (r) => {
        const va = cache.get('VolumeAttachment', undefined, vaName);
        if (r.code !== GRPC.OK) {
          const message = rpcError(r.code, r.message);
          if (va) writeVaStatus(va, { ...(va.status ?? {}), detachError: { time: port.nowIso(), message } });
          return fail(message, true);
        }
        request({ verb: 'delete', kind: 'VolumeAttachment', name: vaName }, (res) => {
          if (!res.ok && res.status?.code !== 404) return fail(res.status?.message ?? 'failed to delete VolumeAttachment', true);
          const gone = res.obj ?? va;
          if (gone?.metadata.uid) deletedVas.add(gone.metadata.uid);
          if (va) record('DELETED', va);
          ops.delete(key);
          backoffs.delete(`detach|${key}`);
          deleteEntry(vol.uniqueName, e.node);
          port.note(`detached ${vol.uniqueName} from ${e.node}`);
          kick();
        });
      });
    });
  }

  // --- node status updater ------------------------------------------------------------------------

  function reportedOn(node: string): string[] {
    const out: string[] = [];
    for (const m of asw.values()) {
      const e = m.get(node);
      if (e?.reported) out.push(e.volume.uniqueName);
    }
    return out.sort();
  }

  function sameAttached(node: NodeObj, names: string[]): boolean {
    const attached = (node.status?.volumesAttached ?? []) as { name: string }[];
    if (names.length === 0) return attached.length === 0;
    const cur = attached.map((v) => v.name).sort();
    return cur.length === names.length && cur.every((n, i) => n === names[i]);
  }

  /** Writes the Node's status.volumesAttached from the ASW; `cb` learns whether it landed. */
  function syncNodeStatus(name: string, cb?: (ok: boolean) => void): void {
    let w = writers.get(name);
    if (!w) writers.set(name, (w = { inflight: false, refreshing: false, queued: [], sent: [] }));
    if (cb) w.queued.push(cb);
    if (w.inflight || w.refreshing) return;
    const writer = w;
    const node = cache.get<NodeObj>('Node', undefined, name);
    const names = reportedOn(name);
    const flush = (list: ((ok: boolean) => void)[], ok: boolean) => list.forEach((f) => f(ok));
    if (!node || sameAttached(node, names)) {
      // Nothing to write (a deleted Node has no status to keep).
      const q = writer.queued;
      writer.queued = [];
      return flush(q, true);
    }
    const obj = deepCopy(node) as NodeObj;
    obj.status ??= {};
    if (names.length > 0) obj.status.volumesAttached = names.map((n) => ({ name: n, devicePath: '' }));
    else delete obj.status.volumesAttached;
    writer.inflight = true;
    writer.sent = writer.queued;
    writer.queued = [];
    request({ verb: 'updateStatus', kind: 'Node', name, obj }, (res) => {
      writer.inflight = false;
      const sent = writer.sent;
      writer.sent = [];
      if (res.ok && res.obj) record('MODIFIED', res.obj);
      else if (res.status?.code === 409) refreshNode(name, writer);
      flush(sent, res.ok);
      if (writer.queued.length > 0) syncNodeStatus(name);
      kick();
    });
  }

  /** After a conflict: read the Node again so that the next write carries a fresh version. */
  function refreshNode(name: string, w: NodeWriter): void {
    w.refreshing = true;
    request({ verb: 'get', kind: 'Node', name }, (res) => {
      w.refreshing = false;
      if (res.ok && res.obj) {
        const before = cache.get<NodeObj>('Node', undefined, name);
        cache.put(res.obj);
        const after = cache.get<NodeObj>('Node', undefined, name);
        track('Node', before, after);
        if (!before) syncPodsBy(POD_NODE_INDEX, name);
        onNode(before, after);
      }
      if (w.queued.length > 0) syncNodeStatus(name);
      kick();
    });
  }

  /**
   * processVolumesInUse: MountedByNode follows the Node's status.volumesInUse. Returns whether
   * anything the reconciler reads of the Node changed (its readiness, the out-of-service taint,
   * volumesInUse, volumesAttached): a heartbeat that changes none of them needs no pass.
   */
  function onNode(before: NodeObj | undefined, cur: NodeObj | undefined): boolean {
    if (before && cur && !reconcilerInputsDiffer(before, cur)) return false;
    const name = (cur ?? before)!.metadata.name!;
    const inUse = new Set(cur?.status?.volumesInUse ?? []);
    for (const m of asw.values()) {
      const e = m.get(name);
      if (e) e.mounted = inUse.has(e.volume.uniqueName);
    }
    return true;
  }

  /**
   * The informers' event handlers: each keeps the DSW in step with what it changed (a pod; the
   * pods using a claim or a volume; the pods on a node that came or went) and runs a pass when
   * the pass may differ: a pod that wants or wanted an attachable volume, a claim some pod uses,
   * a volume such a claim or a VolumeAttachment names, a Node change the reconciler reads.
   */
  function onChange(type: ChangeType, obj: KObject, old: KObject | undefined): void {
    const after = type === 'DELETED' ? undefined : cache.get(obj.kind, obj.metadata.namespace, obj.metadata.name!);
    track(obj.kind, old, after);
    if (podNodeCached && obj.kind === 'Pod') rememberPodNode(type, obj);
    switch (obj.kind) {
      case 'Pod':
        if (!syncPod(obj.metadata.namespace ?? '', obj.metadata.name!)) return;
        break;
      case 'Node': {
        const name = obj.metadata.name!;
        if (!old || !after) {
          syncPodsBy(POD_NODE_INDEX, name);
          if (podNodeCached) for (const [key, nodes] of [...podNodes]) if (nodes.has(name)) syncPod(key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1));
        }
        if (type !== 'DELETED' && !onNode(old as NodeObj | undefined, after as NodeObj | undefined)) return;
        break;
      }
      case 'PersistentVolume': {
        const name = obj.metadata.name!;
        for (const claim of claimsOfVolume.get(name) ?? []) syncPodsBy(POD_CLAIM_INDEX, claim);
        if (!volumeMatters(name)) return;
        break;
      }
      case 'PersistentVolumeClaim': {
        const key = `${obj.metadata.namespace ?? 'default'}/${obj.metadata.name}`;
        syncPodsBy(POD_CLAIM_INDEX, key);
        if (!claimUsed(key)) return;
        break;
      }
    }
    kick();
  }

  /**
   * BUG (--bug attach-pod-node-cached): a pod's node is remembered by the pod's name and kept
   * on updates (a pod never moves), forgotten only on its DELETED event.
   */
  function rememberPodNode(type: ChangeType, pod: KObject): void {
    const key = `${pod.metadata.namespace ?? ''}/${pod.metadata.name}`;
    if (type === 'DELETED') return void podNodes.delete(key);
    const node: string | undefined = pod.spec?.nodeName;
    if (!node) return;
    const nodes = podNodes.get(key) ?? new Set<string>();
    nodes.add(node);
    podNodes.set(key, nodes);
  }

  return {
    start() {
      tick0Ms = port.now();
      informers.start();
    },
    receive(msg: Msg) {
      if (api.handle(msg) || informers.handle(msg)) return;
      if (msg.type === 'csi.response') csiCalls.resolve(msg as unknown as CsiResponse);
    },
    timer(key: string) {
      if (key === 'reconcile') {
        armedAtMs = undefined;
        return arm(reconcile(true));
      }
      if (api.timer(key) || csiCalls.timer(key)) return;
      informers.timer(key);
    },
  };
}
