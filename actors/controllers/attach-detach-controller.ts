/**
 * The attach/detach controller (kube-controller-manager), with the CSI external-attacher folded
 * in: it decides which attachable volumes must be attached to which nodes, and performs the
 * attach itself by talking CSI to the storage backend.
 *
 * Follows pkg/controller/volume/attachdetach at v1.30, one upstream file to a file here:
 * - this file: attach_detach_controller.go (informers and their event handlers,
 *   populateActualStateOfWorld, processVolumesInUse) and the component;
 * - attach-detach-state.ts: cache/desired_state_of_world.go and cache/actual_state_of_world.go;
 * - attach-detach-reconciler.ts: reconciler/reconciler.go;
 * - attach-detach-operations.ts: the attach and detach operations (operationexecutor's
 *   operation_generator.go, pkg/volume/csi/csi_attacher.go, kubernetes-csi/external-attacher
 *   pkg/controller/csi_handler.go), nestedpendingoperations and exponentialbackoff;
 * - attach-detach-status-updater.ts: statusupdater/node_status_updater.go;
 * - attach-detach-utils.ts: the pure helpers (pkg/volume/util IsPodTerminated,
 *   IsMultiAttachAllowed, the unique volume names, the event texts).
 * Its cases are k8s-semantics.md §4 cases 54-59 and §7 cases 96-99.
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
import { perBoot, type Component, type Port } from '../../src/component.ts';
import { ApiClient, REQUEST_TIMEOUT_MS, type RequestBody } from '../../src/api-client.ts';
import { Calls } from '../../src/calls.ts';
import { Informers, POD_CLAIM_INDEX, POD_NODE_INDEX, podClaimIndex, podNodeIndex, type ChangeType } from '../../src/informer.ts';
import type { ApiResponse, KObject, Msg } from '../../src/protocol.ts';
import { backendAddress, GRPC, type CsiCall, type CsiRequest, type CsiResponse } from '../../backends/protocol.ts';
import { attachableVolume, reconcilerInputsDiffer, type AttachableVolume, type NodeObj, type PvObj } from './attach-detach-utils.ts';
import { actualStateOfWorld, desiredStateOfWorld } from './attach-detach-state.ts';
import { attachDetachOperations } from './attach-detach-operations.ts';
import { attachDetachReconciler } from './attach-detach-reconciler.ts';
import { nodeStatusUpdater } from './attach-detach-status-updater.ts';

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

// attach_detach_controller.go DefaultTimerConfig.
const RECONCILER_LOOP_MS = 100;
const MAX_WAIT_FOR_UNMOUNT_MS = 6 * 60_000;
// external-attacher cmd/csi-attacher/main.go `--timeout`.
const ATTACHER_TIMEOUT_MS = 15_000;

export function attachDetachController(port: Port, opts: AttachDetachOptions): Component {
  const api = new ApiClient(port);
  const informers = new Informers(port, api, { kinds: ['Pod', 'Node', 'PersistentVolume', 'PersistentVolumeClaim', 'VolumeAttachment'], onChange });
  const cache = informers.cache;
  const loopMs = opts.reconcilerLoopMs ?? RECONCILER_LOOP_MS;
  const maxWaitMs = opts.maxWaitForUnmountMs ?? MAX_WAIT_FOR_UNMOUNT_MS;
  // Failure modes --bug re-introduces (sim/world.ts BUGS), each a marked branch where it acts.
  const skipMultiAttachCheck = opts.bug === 'attach-skip-multiattach-check';
  const checkInUse = opts.bug === 'attach-check-in-use';
  const podNodeCached = opts.bug === 'attach-pod-node-cached';
  const adoptFromNodeStatus = opts.bug === 'attach-adopt-from-node-status';
  /** --bug attach-pod-node-cached: every node each pod (by name) was seen on. */
  const podNodes = new Map<string, Set<string>>();

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

  /** Nodes whose cached status.volumesAttached is not empty (the status updater looks at these and at the ASW's). */
  const nodesReporting = new Set<string>();

  let csiSeq = 0;
  const csiCalls = new Calls<CsiResponse>(port, 'csi-timeout');

  // The caches, the status updater, the operations and the reconciler (see the files' headers).
  const actual = actualStateOfWorld(cache);
  const { asw, entry, putEntry, mountedOnNode } = actual;
  const desired = desiredStateOfWorld(cache, opts, podNodeCached, podNodes);
  const { syncPod, syncPodsBy } = desired;
  const status = nodeStatusUpdater({ cache, actual, desired, nodesReporting, request, record, track, onNode, kick: () => reconciler.kick() });
  const operations = attachDetachOperations({ port, api, cache, actual, request, csi, record, syncNodeStatus: status.syncNodeStatus, kick: () => reconciler.kick() });
  const { deletedVas, pendingOn } = operations;
  const reconciler = attachDetachReconciler({ port, api, cache, loopMs, maxWaitMs, skipMultiAttachCheck, checkInUse, desired, actual, operations, status, adoptVolumeAttachments });
  const { kick } = reconciler;

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
      reconciler.start();
      informers.start();
    },
    receive(msg: Msg) {
      if (api.handle(msg) || informers.handle(msg)) return;
      if (msg.type === 'csi.response') csiCalls.resolve(msg as unknown as CsiResponse);
    },
    timer(key: string) {
      if (key === 'reconcile') return reconciler.tick();
      if (api.timer(key) || csiCalls.timer(key)) return;
      informers.timer(key);
    },
  };
}
