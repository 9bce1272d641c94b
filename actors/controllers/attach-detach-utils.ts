/**
 * Pure helpers of the attach-detach controller (attach-detach-controller.ts): which volumes of
 * a pod are attachable and under which names, IsMultiAttachAllowed, IsPodTerminated, the
 * Multi-Attach event texts (reconciler.go reportMultiAttachError), node health checks.
 */
import type { Node, PersistentVolume, PersistentVolumeClaim, PersistentVolumeSpec, Pod } from 'kubernetes-types/core/v1.js';
import type { KObject } from '../../src/protocol.ts';
import { toCsiAccessMode, type VolumeCapability } from '../../backends/protocol.ts';
import { backendForSource, isAttachable, uniqueVolumeName } from '../../backends/registry.ts';
import { sha256Hex } from '../../src/sha256.ts';
import { cmp, deepCopy } from '../../src/model/objects.ts';

export type PodObj = Pod & KObject;
export type NodeObj = Node & KObject;
export type PvObj = PersistentVolume & KObject;
export type PvcObj = PersistentVolumeClaim & KObject;

/** v1.TaintNodeOutOfService (k8s.io/api/core/v1 well_known_taints.go). */
export const TAINT_OUT_OF_SERVICE = 'node.kubernetes.io/out-of-service';
/** The in-tree RBD plugin's name (pkg/volume/rbd), used as the VolumeAttachment attacher. */
export const RBD_IN_TREE_PLUGIN = 'kubernetes.io/rbd';

// ---------------------------------------------------------------------------------------------
// Pure helpers

/**
 * IsPodTerminated (pkg/volume/util/util.go): Failed/Succeeded, or deleted with no container
 * running. A pod on a dead node keeps its "running" statuses and so stays desired (case 96).
 */
export function isPodTerminated(pod: Pod): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Failed' || phase === 'Succeeded') return true;
  if (!pod.metadata?.deletionTimestamp) return false;
  const notRunning = (statuses: readonly { state?: { terminated?: unknown; waiting?: unknown } }[] | undefined) =>
    (statuses ?? []).every((s) => !!s.state?.terminated || !!s.state?.waiting);
  return notRunning(pod.status?.initContainerStatuses) && notRunning(pod.status?.containerStatuses) && notRunning(pod.status?.ephemeralContainerStatuses);
}

/**
 * IsMultiAttachAllowed (pkg/volume/util/util.go): only a PV's access modes can forbid it. No
 * modes, or RWX or ROX among them: allowed; RWO/RWOP only: not. Inline volumes are allowed.
 */
export function isMultiAttachAllowed(pvAccessModes: readonly string[] | undefined): boolean {
  if (pvAccessModes === undefined || pvAccessModes.length === 0) return true;
  return pvAccessModes.some((m) => m === 'ReadWriteMany' || m === 'ReadOnlyMany');
}

/** `kubernetes.io/csi/<driver>^<volumeHandle>`: the name the kubelet reports too (registry.ts). */
export function csiUniqueVolumeName(driver: string, volumeHandle: string): string {
  return uniqueVolumeName({ csi: { driver, volumeHandle } })!;
}

/** `kubernetes.io/rbd/<pool>:<image>` (rbd.go GetVolumeName; the pool defaults to `rbd`). */
export function rbdUniqueVolumeName(pool: string, image: string): string {
  return uniqueVolumeName({ rbd: { pool, image } })!;
}

/** csi_attacher.go getAttachmentName: `csi-` + sha256 hex of volume handle, driver and node. */
export function volumeAttachmentName(volumeHandle: string, attacher: string, nodeName: string): string {
  return `csi-${sha256Hex(`${volumeHandle}${attacher}${nodeName}`)}`;
}

/** A volume this controller attaches, as the DSW and ASW hold it. */
export interface AttachableVolume {
  uniqueName: string;
  /** volume.Spec.Name(): the PV name, or the pod's volume name for an inline volume. */
  name: string;
  /** VolumeAttachment spec.attacher: the CSI driver, or `kubernetes.io/rbd` in-tree. */
  attacher: string;
  /** The backend's volume id (CSI volumeHandle; in-tree RBD `<pool>/<image>`). */
  volumeId: string;
  backend: string;
  multiAttachAllowed: boolean;
  /** The capability to publish with, or the access-mode error that prevents it. */
  capability: VolumeCapability | string;
  readOnly: boolean;
  source: { persistentVolumeName: string } | { inlineVolumeSpec: Record<string, unknown> };
}

export const CSI_MODES = new Set(['SINGLE_NODE_WRITER', 'SINGLE_NODE_READER_ONLY', 'MULTI_NODE_READER_ONLY', 'MULTI_NODE_SINGLE_WRITER', 'MULTI_NODE_MULTI_WRITER', 'SINGLE_NODE_SINGLE_WRITER', 'SINGLE_NODE_MULTI_WRITER']);

/**
 * The attachable volume behind a PV spec (pv given) or an inline pod volume source (pv absent),
 * or undefined when the volume is not attachable.
 */
export function attachableVolume(
  spec: Partial<PersistentVolumeSpec>,
  name: string,
  pv: PersistentVolume | undefined,
  readOnlyFromPod: boolean,
  csiAttachRequired: (driver: string) => boolean,
): AttachableVolume | undefined {
  const ref = backendForSource(spec as Parameters<typeof backendForSource>[0]);
  if (!isAttachable(ref, csiAttachRequired) || !ref) return undefined;
  const modes = pv ? (pv.spec?.accessModes ?? []) : [];
  const mode = toCsiAccessMode(modes);
  let attacher: string;
  let volumeId: string;
  let uniqueName: string;
  let fsType: string | undefined;
  let readOnly = readOnlyFromPod;
  if (spec.csi) {
    attacher = spec.csi.driver;
    volumeId = spec.csi.volumeHandle;
    uniqueName = csiUniqueVolumeName(attacher, volumeId);
    fsType = spec.csi.fsType;
    readOnly ||= !!spec.csi.readOnly;
  } else if (spec.rbd) {
    const pool = spec.rbd.pool || 'rbd';
    attacher = RBD_IN_TREE_PLUGIN;
    volumeId = `${pool}/${spec.rbd.image}`;
    uniqueName = rbdUniqueVolumeName(pool, spec.rbd.image);
    fsType = spec.rbd.fsType;
    readOnly ||= !!spec.rbd.readOnly;
  } else {
    return undefined;
  }
  const capability: VolumeCapability | string = CSI_MODES.has(mode)
    ? { accessMode: mode as VolumeCapability['accessMode'], accessType: pv?.spec?.volumeMode === 'Block' ? 'block' : 'mount', ...(fsType ? { fsType } : {}) }
    : mode;
  return {
    uniqueName,
    name,
    attacher,
    volumeId,
    backend: ref.name,
    multiAttachAllowed: pv ? isMultiAttachAllowed(pv.spec?.accessModes) : true,
    capability,
    readOnly,
    source: pv ? { persistentVolumeName: name } : { inlineVolumeSpec: deepCopy(spec) as Record<string, unknown> },
  };
}

/** generateVolumeMsg: `<prefix> for volume "<name>" <suffix>` (operationexecutor). */
export function volumeMsg(prefix: string, volume: string, suffix: string): string {
  return `${prefix} for volume ${JSON.stringify(volume)} ${suffix}`;
}

/**
 * reportMultiAttachError's message for one waiting pod, given the pods that use the volume on
 * the other nodes (reconciler.go).
 */
export function multiAttachMessage(volume: string, podNamespace: string, others: readonly { namespace: string; name: string }[]): string {
  if (others.length === 0) return volumeMsg('Multi-Attach error', volume, "Volume is already exclusively attached to one node and can't be attached to another");
  const local = others.filter((p) => p.namespace === podNamespace).map((p) => p.name);
  const otherNs = others.length - local.length;
  let msg: string;
  if (local.length > 0) {
    msg = `Volume is already used by pod(s) ${local.join(', ')}`;
    if (otherNs > 0) msg = `${msg} and ${otherNs} pod(s) in different namespaces`;
  } else {
    msg = `Volume is already used by ${otherNs} pod(s) in different namespaces`;
  }
  return volumeMsg('Multi-Attach error', volume, msg);
}

export function isNodeReady(node: Node | undefined): boolean {
  return !!node && (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

export function hasOutOfServiceTaint(node: Node | undefined): boolean {
  return !!node && (node.spec?.taints ?? []).some((t) => t.key === TAINT_OUT_OF_SERVICE);
}

/** Whether two versions of a Node differ in what the attach-detach reconciler reads of it. */
export function reconcilerInputsDiffer(a: Node, b: Node): boolean {
  if (isNodeReady(a) !== isNodeReady(b) || hasOutOfServiceTaint(a) !== hasOutOfServiceTaint(b)) return true;
  const inUseA = a.status?.volumesInUse ?? [];
  const inUseB = b.status?.volumesInUse ?? [];
  if (inUseA.length !== inUseB.length || inUseA.some((v, i) => v !== inUseB[i])) return true;
  const attA = a.status?.volumesAttached ?? [];
  const attB = b.status?.volumesAttached ?? [];
  return attA.length !== attB.length || attA.some((v, i) => v.name !== attB[i]!.name || v.devicePath !== attB[i]!.devicePath);
}


export function byNsName(a: PodObj, b: PodObj): number {
  return cmp(a.metadata.namespace ?? '', b.metadata.namespace ?? '') || cmp(a.metadata.name ?? '', b.metadata.name ?? '');
}


// ---------------------------------------------------------------------------------------------
// The controller

/** One volume on one node in the actual state of world. */
