/**
 * Pure helpers of the PersistentVolume controller: the annotation and finalizer keys, a claim's
 * and a volume's class, access-mode and volumeMode checks, the bind annotations, the claim
 * status a bind writes, the in-tree volume plugins the controller knows of and the texts of
 * their errors. No I/O, no state: every function takes objects and returns a value.
 *
 * Follows k8s.io/component-helpers/storage/volume (pv_helpers.go, helpers.go: the annotation
 * keys, GetPersistentVolumeClaimClass, CheckAccessModes, CheckVolumeModeMismatches,
 * IsVolumeBoundToClaim, GetBindVolumeToClaim, IsDelayBindingMode), pkg/apis/core/v1/helper
 * (GetAccessModesAsString), pkg/controller/volume/persistentvolume/pv_controller.go
 * (checkVolumeSatisfyClaim, updateClaimStatus) and pkg/volume/plugins.go (the plugin lookups and
 * their error texts), all at v1.30.
 */
import type { PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import type { KObject } from '../../src/protocol.ts';
import { quantityValue } from '../../src/quantity.ts';
import { deepCopy } from '../../src/model/objects.ts';

// -------------------------------------------------------------------------------------------
// Keys (component-helpers/storage/volume/helpers.go, pkg/volume/util/finalizer.go)

export const ANN_BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';
export const ANN_BOUND_BY_CONTROLLER = 'pv.kubernetes.io/bound-by-controller';
export const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
export const ANN_DYNAMICALLY_PROVISIONED = 'pv.kubernetes.io/provisioned-by';
export const ANN_MIGRATED_TO = 'pv.kubernetes.io/migrated-to';
export const ANN_BETA_STORAGE_PROVISIONER = 'volume.beta.kubernetes.io/storage-provisioner';
export const ANN_STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
/** v1.BetaStorageClassAnnotation: still honoured before spec.storageClassName. */
export const ANN_BETA_STORAGE_CLASS = 'volume.beta.kubernetes.io/storage-class';
/** storageutil.IsDefaultAnnotation: the GA key and the beta key. */
export const ANN_IS_DEFAULT_CLASS = 'storageclass.kubernetes.io/is-default-class';
export const ANN_BETA_IS_DEFAULT_CLASS = 'storageclass.beta.kubernetes.io/is-default-class';
/** pkg/volume/util/util.go VolumeDynamicallyCreatedByKey, set by in-tree provisioners. */
export const ANN_CREATED_BY = 'kubernetes.io/createdby';
export const PVC_PROTECTION_FINALIZER = 'kubernetes.io/pvc-protection';
export const PV_PROTECTION_FINALIZER = 'kubernetes.io/pv-protection';
/** NotSupportedProvisioner: a class that never provisions. */
export const NOT_SUPPORTED_PROVISIONER = 'kubernetes.io/no-provisioner';

export type PvObj = KObject & PersistentVolume;
export type ClaimObj = KObject & PersistentVolumeClaim;
export type PodObj = KObject & Pod;

export const RWO = 'ReadWriteOnce';
export const ROX = 'ReadOnlyMany';
export const RWX = 'ReadWriteMany';
export const RWOP = 'ReadWriteOncePod';

// -------------------------------------------------------------------------------------------
// Keys of objects

/** claimToClaimKey: `<namespace>/<name>`. */
export function claimKey(claim: { metadata?: { namespace?: string | undefined; name?: string | undefined } }): string {
  return `${claim.metadata?.namespace ?? ''}/${claim.metadata?.name ?? ''}`;
}

/** claimrefToClaimKey. */
export function claimRefKey(ref: { namespace?: string | undefined; name?: string | undefined }): string {
  return `${ref.namespace ?? ''}/${ref.name ?? ''}`;
}

export function hasAnnotation(obj: { metadata?: { annotations?: Record<string, string> | undefined } }, key: string): boolean {
  const a = obj.metadata?.annotations;
  return !!a && Object.prototype.hasOwnProperty.call(a, key);
}

// -------------------------------------------------------------------------------------------
// Classes

/** GetPersistentVolumeClaimClass: the beta annotation, else spec.storageClassName, else "". */
export function getClaimClass(claim: PersistentVolumeClaim): string {
  const a = claim.metadata?.annotations;
  if (a && Object.prototype.hasOwnProperty.call(a, ANN_BETA_STORAGE_CLASS)) return a[ANN_BETA_STORAGE_CLASS] ?? '';
  return claim.spec?.storageClassName ?? '';
}

/** GetPersistentVolumeClass: the beta annotation, else spec.storageClassName, else "". */
export function getVolumeClass(pv: PersistentVolume): string {
  const a = pv.metadata?.annotations;
  if (a && Object.prototype.hasOwnProperty.call(a, ANN_BETA_STORAGE_CLASS)) return a[ANN_BETA_STORAGE_CLASS] ?? '';
  return pv.spec?.storageClassName ?? '';
}

/** PersistentVolumeClaimHasClass: an explicit "" counts as a class; only nil does not. */
export function claimHasClass(claim: PersistentVolumeClaim): boolean {
  if (hasAnnotation(claim, ANN_BETA_STORAGE_CLASS)) return true;
  return claim.spec?.storageClassName !== undefined && claim.spec?.storageClassName !== null;
}

export function isDefaultClass(sc: KObject): boolean {
  const a = sc.metadata.annotations ?? {};
  return a[ANN_IS_DEFAULT_CLASS] === 'true' || a[ANN_BETA_IS_DEFAULT_CLASS] === 'true';
}

/**
 * util.GetDefaultClass (pkg/volume/util/storageclass.go, v1.26+): of several default classes the
 * newest by creationTimestamp wins, and on a tie the name that sorts first.
 */
export function getDefaultClass(classes: readonly KObject[]): KObject | undefined {
  const defaults = classes.filter(isDefaultClass);
  defaults.sort((a, b) => {
    const ta = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
    const tb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
    if (ta !== tb) return tb - ta;
    const na = a.metadata.name ?? '';
    const nb = b.metadata.name ?? '';
    return na < nb ? -1 : na > nb ? 1 : 0;
  });
  return defaults[0];
}

export type DelayBinding = { ok: true; delay: boolean } | { ok: false; error: string };

/**
 * IsDelayBindingMode: whether the claim's class is WaitForFirstConsumer. A missing class is not
 * delayed; a class without volumeBindingMode is an error (the API server defaults it).
 */
export function isDelayBindingMode(claim: PersistentVolumeClaim, getClass: (name: string) => KObject | undefined): DelayBinding {
  const className = getClaimClass(claim);
  if (className === '') return { ok: true, delay: false };
  const sc = getClass(className);
  if (!sc) return { ok: true, delay: false };
  const mode = sc['volumeBindingMode'];
  if (mode === undefined || mode === null) return { ok: false, error: `VolumeBindingMode not set for StorageClass "${className}"` };
  return { ok: true, delay: mode === 'WaitForFirstConsumer' };
}

/** IsDelayBindingProvisioning: the scheduler chose a node (selected-node) for provisioning. */
export function isDelayBindingProvisioning(claim: PersistentVolumeClaim): boolean {
  return hasAnnotation(claim, ANN_SELECTED_NODE);
}

// -------------------------------------------------------------------------------------------
// Access modes and volume modes

const MODE_SHORT: [string, string][] = [
  [RWO, 'RWO'],
  [ROX, 'ROX'],
  [RWX, 'RWX'],
  [RWOP, 'RWOP'],
];

/** v1helper.GetAccessModesAsString: `RWO,ROX,RWX,RWOP` in that fixed order, no duplicates. */
export function accessModesKey(modes: readonly string[] | undefined): string {
  if (!modes || modes.length === 0) return '';
  // The common case, one mode, without building lists.
  if (modes.length === 1) {
    for (const [full, short] of MODE_SHORT) if (modes[0] === full) return short;
    return '';
  }
  let key = '';
  for (const [full, short] of MODE_SHORT) if (modes.includes(full)) key = key === '' ? short : `${key},${short}`;
  return key;
}

/** v1helper.GetAccessModesFromString. */
export function accessModesFromKey(key: string): string[] {
  if (key === '') return [];
  const short = key.split(',');
  return MODE_SHORT.filter(([, s]) => short.includes(s)).map(([full]) => full);
}

/** volumeutil.AccessModesContainedInAll: every requested mode is in `indexed`. */
export function accessModesContainedInAll(indexed: readonly string[], requested: readonly string[]): boolean {
  return requested.every((m) => indexed.includes(m));
}

/** CheckAccessModes: the PV has every mode the claim asks for; extra modes are fine. */
export function checkAccessModes(claim: PersistentVolumeClaim, pv: PersistentVolume): boolean {
  return accessModesContainedInAll(pv.spec?.accessModes ?? [], claim.spec?.accessModes ?? []);
}

/** A nil volumeMode is Filesystem (the API default). */
export function volumeModeOf(x: { spec?: { volumeMode?: string | undefined } | undefined }): string {
  return x.spec?.volumeMode || 'Filesystem';
}

/** CheckVolumeModeMismatches. */
export function checkVolumeModeMismatches(claim: PersistentVolumeClaim, pv: PersistentVolume): boolean {
  return volumeModeOf(claim) !== volumeModeOf(pv);
}

// -------------------------------------------------------------------------------------------
// Sizes

/** spec.resources.requests.storage in bytes (a missing request is zero, as Quantity{} is). */
export function requestedBytes(claim: PersistentVolumeClaim): number {
  const q = claim.spec?.resources?.requests?.['storage'];
  if (q === undefined) return 0;
  const v = quantityValue(q);
  return Number.isFinite(v) ? v : 0;
}

/** spec.capacity.storage in bytes. */
export function capacityBytes(pv: PersistentVolume): number {
  const q = pv.spec?.capacity?.['storage'];
  if (q === undefined) return 0;
  const v = quantityValue(q);
  return Number.isFinite(v) ? v : 0;
}

// -------------------------------------------------------------------------------------------
// Binding

/** IsVolumeBoundToClaim: claimRef names the claim (namespace and name) and, if set, its uid. */
export function isVolumeBoundToClaim(pv: PersistentVolume, claim: PersistentVolumeClaim): boolean {
  const ref = pv.spec?.claimRef;
  if (!ref) return false;
  if (claim.metadata?.name !== ref.name || (claim.metadata?.namespace ?? '') !== (ref.namespace ?? '')) return false;
  if (ref.uid && claim.metadata?.uid !== ref.uid) return false;
  return true;
}

/** checkVolumeSatisfyClaim (pv_controller.go): the error text, or undefined when it fits. */
export function checkVolumeSatisfyClaim(pv: PersistentVolume, claim: PersistentVolumeClaim): string | undefined {
  if (pv.metadata?.deletionTimestamp) return `the volume is marked for deletion "${pv.metadata.name ?? ''}"`;
  if (capacityBytes(pv) < requestedBytes(claim)) return 'requested PV is too small';
  if (getVolumeClass(pv) !== getClaimClass(claim)) return 'storageClassName does not match';
  if (checkVolumeModeMismatches(claim, pv)) return 'incompatible volumeMode';
  if (!checkAccessModes(claim, pv)) return 'incompatible accessMode';
  return undefined;
}

/** ref.GetReference(scheme, claim): the claimRef a bind writes. */
export function claimReference(claim: KObject): Record<string, string> {
  const ref: Record<string, string> = { kind: 'PersistentVolumeClaim', namespace: claim.metadata.namespace ?? '', name: claim.metadata.name ?? '' };
  if (claim.metadata.uid) ref['uid'] = claim.metadata.uid;
  ref['apiVersion'] = 'v1';
  if (claim.metadata.resourceVersion) ref['resourceVersion'] = claim.metadata.resourceVersion;
  return ref;
}

/**
 * GetBindVolumeToClaim: the PV with claimRef pointing at the claim, and bound-by-controller when
 * the controller (not a user's pre-binding) chose it. Returns undefined when nothing changes.
 * The result shares what it does not change with `pv` (objects are never mutated in place).
 */
export function getBindVolumeToClaim(pv: PvObj, claim: ClaimObj): PvObj | undefined {
  const ref = pv.spec?.claimRef;
  const setRef = !ref || ref.name !== claim.metadata.name || (ref.namespace ?? '') !== (claim.metadata.namespace ?? '') || (ref.uid ?? '') !== (claim.metadata.uid ?? '');
  const setBoundByController = !isVolumeBoundToClaim(pv, claim) && !hasAnnotation(pv, ANN_BOUND_BY_CONTROLLER);
  if (!setRef && !setBoundByController) return undefined;
  const clone = { ...pv } as PvObj;
  if (setRef) clone.spec = { ...(pv.spec ?? {}), claimRef: claimReference(claim) };
  if (setBoundByController) clone.metadata = { ...pv.metadata, annotations: { ...(pv.metadata.annotations ?? {}), [ANN_BOUND_BY_CONTROLLER]: 'yes' } };
  return clone;
}

/**
 * bindClaimToVolume's change: volumeName plus bound-by-controller and bind-completed. The result
 * shares what it does not change with `claim`.
 */
export function getBindClaimToVolume(claim: ClaimObj, pv: PersistentVolume): ClaimObj | undefined {
  const setVolumeName = pv.metadata?.name !== claim.spec?.volumeName;
  const setBoundByController = setVolumeName && !hasAnnotation(claim, ANN_BOUND_BY_CONTROLLER);
  const setBindCompleted = !hasAnnotation(claim, ANN_BIND_COMPLETED);
  if (!setVolumeName && !setBindCompleted) return undefined;
  const clone = { ...claim } as ClaimObj;
  if (setVolumeName) clone.spec = { ...(claim.spec ?? {}), volumeName: pv.metadata?.name ?? '' };
  if (setBoundByController || setBindCompleted) {
    const annotations = { ...(claim.metadata.annotations ?? {}) };
    if (setBoundByController) annotations[ANN_BOUND_BY_CONTROLLER] = 'yes';
    if (setBindCompleted) annotations[ANN_BIND_COMPLETED] = 'yes';
    clone.metadata = { ...claim.metadata, annotations };
  }
  return clone;
}

/** Two lists of access modes are the same (a missing list and null are the same too). */
function sameModes(a: readonly string[] | undefined | null, b: readonly string[] | undefined | null): boolean {
  if (a === b) return true;
  if (!Array.isArray(a) || !Array.isArray(b)) return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] || typeof a[i] !== 'string') return JSON.stringify(a) === JSON.stringify(b);
  return true;
}

/**
 * updateClaimStatus's change: the phase, and accessModes/capacity copied from the PV (capacity
 * only when the claim is becoming Bound), or cleared without a PV. Undefined when nothing changes.
 * Only the status differs from `claim` (an updateStatus write carries nothing else that counts).
 */
export function claimStatusUpdate(claim: ClaimObj, phase: string, pv: PersistentVolume | undefined): ClaimObj | undefined {
  const oldPhase = claim.status?.phase;
  const setPhase = oldPhase !== phase;
  let dropModes = false;
  let dropCapacity = false;
  let setModes = false;
  let setCapacity = false;
  if (!pv) {
    dropModes = claim.status?.accessModes !== undefined;
    dropCapacity = claim.status?.capacity !== undefined;
  } else {
    setModes = !sameModes(claim.status?.accessModes, pv.spec?.accessModes);
    // Capacity only when becoming Bound: a deliberate difference (a resized filesystem) stays.
    if (setPhase) {
      const volumeCap = pv.spec?.capacity?.['storage'];
      const claimCap = claim.status?.capacity?.['storage'];
      setCapacity = volumeCap !== undefined && (claimCap === undefined || quantityValue(volumeCap) !== quantityValue(claimCap));
    }
  }
  if (!setPhase && !dropModes && !dropCapacity && !setModes && !setCapacity) return undefined;
  const status: Record<string, unknown> = { ...(claim.status ?? {}) };
  if (setPhase) status['phase'] = phase;
  if (dropModes) delete status['accessModes'];
  if (dropCapacity) delete status['capacity'];
  if (setModes) {
    if (pv!.spec?.accessModes) status['accessModes'] = [...pv!.spec.accessModes];
    else delete status['accessModes'];
  }
  if (setCapacity) status['capacity'] = { ...(pv!.spec?.capacity ?? {}) };
  return { ...claim, status } as ClaimObj;
}

/** unbindVolume's change: controller bindings lose claimRef, user pre-bindings only the uid. */
export function getUnbindVolume(pv: PvObj): PvObj {
  const clone = deepCopy(pv) as PvObj;
  if (hasAnnotation(pv, ANN_BOUND_BY_CONTROLLER)) {
    const spec = { ...(clone.spec ?? {}) };
    delete spec.claimRef;
    clone.spec = spec;
    const ann = { ...(clone.metadata.annotations ?? {}) };
    delete ann[ANN_BOUND_BY_CONTROLLER];
    if (Object.keys(ann).length === 0) delete clone.metadata.annotations;
    else clone.metadata.annotations = ann;
  } else if (clone.spec?.claimRef) {
    const ref = { ...clone.spec.claimRef };
    delete ref.uid;
    clone.spec = { ...clone.spec, claimRef: ref };
  }
  return clone;
}

// -------------------------------------------------------------------------------------------
// Pods

/** The claims a pod references: persistentVolumeClaim volumes and generic ephemeral volumes. */
export function podClaimNames(pod: Pod): string[] {
  const out: string[] = [];
  for (const v of pod.spec?.volumes ?? []) {
    if (v.persistentVolumeClaim) out.push(v.persistentVolumeClaim.claimName);
    else if (v.ephemeral) out.push(`${pod.metadata?.name ?? ''}-${v.name}`);
  }
  return out;
}

/** volumeutil.IsPodTerminated: Failed or Succeeded, or being deleted with nothing running. */
export function isPodTerminated(pod: Pod): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Failed' || phase === 'Succeeded') return true;
  if (!pod.metadata?.deletionTimestamp) return false;
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? []), ...(pod.status?.ephemeralContainerStatuses ?? [])];
  return statuses.every((s) => !s.state?.running);
}

// -------------------------------------------------------------------------------------------
// In-tree volume plugins (pkg/volume/plugins.go) as kube-controller-manager v1.30 registers them

/** Provisionable in-tree plugins this simulator implements. */
export const PROVISIONABLE_PLUGINS = new Set(['kubernetes.io/rbd', 'kubernetes.io/host-path']);
/** Deletable in-tree plugins (DeletableVolumePlugin): the same two. */
export const DELETABLE_PLUGINS = new Set(['kubernetes.io/rbd', 'kubernetes.io/host-path']);
/** Registered in-tree plugins that neither provision nor delete (ProbeControllerVolumePlugins). */
export const OTHER_REGISTERED_PLUGINS = new Set(['kubernetes.io/nfs', 'kubernetes.io/iscsi', 'kubernetes.io/fc', 'kubernetes.io/local-volume', 'kubernetes.io/csi']);

/** FindProvisionablePluginByName: undefined when found, else its error text. */
export function provisionablePluginError(name: string): string | undefined {
  if (PROVISIONABLE_PLUGINS.has(name)) return undefined;
  if (OTHER_REGISTERED_PLUGINS.has(name)) return 'no provisionable volume plugin matched';
  return `no volume plugin matched name: ${name}`;
}

/** FindDeletablePluginByName: undefined when found, else its error text. */
export function deletablePluginByNameError(name: string): string | undefined {
  if (DELETABLE_PLUGINS.has(name)) return undefined;
  if (OTHER_REGISTERED_PLUGINS.has(name)) return 'no deletable volume plugin matched';
  return `no volume plugin matched name: ${name}`;
}

/** FindPluginBySpec over a PV's source: the plugin name, or undefined for none. */
export function pluginForSource(pv: PersistentVolume): string | undefined {
  const s = pv.spec ?? {};
  if (s.rbd) return 'kubernetes.io/rbd';
  if (s.hostPath) return 'kubernetes.io/host-path';
  if (s.nfs) return 'kubernetes.io/nfs';
  if (s.local) return 'kubernetes.io/local-volume';
  if (s.csi) return 'kubernetes.io/csi';
  if (s.iscsi) return 'kubernetes.io/iscsi';
  if (s.fc) return 'kubernetes.io/fc';
  return undefined;
}

export type DeleterLookup = { kind: 'plugin'; plugin: string } | { kind: 'external' } | { kind: 'error'; error: string };

/**
 * findDeletablePlugin (pv_controller.go): the plugin that provisioned the volume, an external
 * deleter (provisioned-by names a non-`kubernetes.io/` provisioner), or a plugin found by the
 * volume's source. HonorPVReclaimPolicy is alpha (off) in v1.30, so a CSI source is not special.
 */
export function findDeletablePlugin(pv: PersistentVolume): DeleterLookup {
  const provisionedBy = pv.metadata?.annotations?.[ANN_DYNAMICALLY_PROVISIONED];
  if (provisionedBy) {
    const err = deletablePluginByNameError(provisionedBy);
    if (!err) return { kind: 'plugin', plugin: provisionedBy };
    if (!provisionedBy.startsWith('kubernetes.io/')) return { kind: 'external' };
    return { kind: 'error', error: err };
  }
  const bySpec = pluginForSource(pv);
  const name = pv.metadata?.name ?? '';
  if (!bySpec) return { kind: 'error', error: `error getting deleter volume plugin for volume "${name}": no volume plugin matched` };
  if (!DELETABLE_PLUGINS.has(bySpec)) return { kind: 'error', error: `error getting deleter volume plugin for volume "${name}": no deletable volume plugin matched` };
  return { kind: 'plugin', plugin: bySpec };
}

/** The in-tree recyclers (RecyclableVolumePlugin): NFS and HostPath. */
export function recyclerForSource(pv: PersistentVolume): string | undefined {
  if (pv.spec?.nfs) return 'kubernetes.io/nfs';
  if (pv.spec?.hostPath) return 'kubernetes.io/host-path';
  return undefined;
}

/** The hostPath deleter only touches paths under /tmp (host_path.go); the recycler has no such check. */
export const HOSTPATH_TMP = /\/tmp\/.+/;

/**
 * The recycler pod's command (pkg/volume/plugins.go NewPersistentVolumeRecyclerPodTemplate):
 * `rm -rf` of the volume's contents, by `find`.
 */
export const RECYCLER_SCRUB_ARGS = ['-c', 'test -e /scrub && find /scrub -mindepth 1 -delete && test -z "$(ls -A /scrub)" || exit 1'];
/** The template's image (v1.30, plugins.go; the exact debian-base tag is unverified). */
export const RECYCLER_IMAGE = 'registry.k8s.io/build-image/debian-base:bookworm-v1.0.2';
const GiB = 2 ** 30;

/**
 * The pod that recycles a volume: NewPersistentVolumeRecyclerPodTemplate with the plugin's
 * overrides (nfs.go / host_path.go Recycle: the PV's source as volume `vol`,
 * activeDeadlineSeconds from CalculateTimeoutForVolume — the minimum, or the increment per GiB of
 * capacity when that is more; kube-controller-manager's defaults: NFS 300 s and 30 s/GiB,
 * hostPath 60 s and 30 s/GiB), named `recycler-for-<pv>` in `default`
 * (recyclerclient.RecycleVolumeByWatchingPodUntilCompletion). No node affinity: a hostPath
 * volume is scrubbed on whichever node the pod lands on ("HostPath recycling only works in
 * single node clusters").
 */
export function recyclerPod(pv: PersistentVolume, capacityBytes: number): KObject {
  const nfs = pv.spec?.nfs;
  const [minimumS, incrementS] = nfs ? [300, 30] : [60, 30];
  const timeout = Math.max(minimumS, Math.floor(capacityBytes / GiB) * incrementS);
  const source = nfs ? { nfs: { server: nfs.server, path: nfs.path } } : { hostPath: { path: pv.spec?.hostPath?.path ?? '' } };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `recycler-for-${pv.metadata?.name ?? ''}`, namespace: 'default' },
    spec: {
      activeDeadlineSeconds: timeout,
      restartPolicy: 'Never',
      volumes: [{ name: 'vol', ...source }],
      containers: [{ name: 'pv-recycler', image: RECYCLER_IMAGE, command: ['/bin/sh'], args: [...RECYCLER_SCRUB_ARGS], volumeMounts: [{ name: 'vol', mountPath: '/scrub' }] }],
    },
  };
}

/** The reclaim policies the controller knows; anything else is VolumeUnknownReclaimPolicy. */
export function reclaimPolicy(pv: PersistentVolume): string {
  return pv.spec?.persistentVolumeReclaimPolicy ?? 'Retain';
}

/** Go's `%v` of a []string: `[a b]`. */
export function goStringSlice(xs: readonly string[]): string {
  return `[${xs.join(' ')}]`;
}

/** Number of a resourceVersion (the Cache compares them this way too). */
export function rvOf(obj: KObject | undefined): number {
  return Number(obj?.metadata.resourceVersion ?? 0) || 0;
}
