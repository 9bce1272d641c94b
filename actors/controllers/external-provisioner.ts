/**
 * The CSI external-provisioner sidecar (and, for node-local classes, rancher's
 * local-path-provisioner): creates a volume and its PersistentVolume for each claim the PV
 * controller hands to an external provisioner, and deletes both when a released volume's
 * reclaim policy is Delete.
 *
 * Follows kubernetes-csi/external-provisioner pkg/controller/controller.go (Provision, Delete,
 * checkError) on sig-storage-lib-external-provisioner controller/controller.go (shouldProvision,
 * provisionClaimOperation, provisionVolumeErrorHandling, shouldDelete, deleteVolumeOperation,
 * volume_store.go) and rancher/local-path-provisioner provisioner.go; k8s-semantics.md cases
 * 32, 40, 52, 116.
 *
 * Owns: PVs named `pvc-<claim uid>` (--volume-name-prefix pvc) annotated
 * `pv.kubernetes.io/provisioned-by: <provisioner>`. Receives: watch events for
 * PersistentVolumeClaim, PersistentVolume and StorageClass; api.response; csi.response;
 * shell.response. Sends: api.watch; api.request create/get/delete of PVs and update of claims
 * (to drop `volume.kubernetes.io/selected-node`); csi.request CreateVolume/DeleteVolume to
 * `backend/<name>` (backendForProvisioner); node.request mkdirNode to `kubelet/<node>` for
 * node-local classes; Events on claims (Provisioning, ProvisioningSucceeded,
 * ProvisioningFailed) and PVs (VolumeFailedDelete), from `<provisioner>_external-provisioner`
 * (upstream `<provisioner>_<pod>_<uuid>`: the pod and uuid do not exist here).
 *
 * A claim is provisioned when it has no volumeName, its storage-provisioner annotation
 * (`volume.kubernetes.io/storage-provisioner`, else the beta key) names a provisioner this
 * instance serves, and its class binds Immediate — or WaitForFirstConsumer with
 * `volume.kubernetes.io/selected-node` set. A claim is never provisioned twice: one operation
 * at a time per claim uid, and a PV `pvc-<uid>` (or any PV whose claimRef has the uid) ends it.
 *
 * Errors (checkError, case 116). Every failure emits Warning ProvisioningFailed
 * `failed to provision volume with StorageClass "<sc>": <err>` (provisionVolumeErrorHandling
 * does so for all of them) and is retried with backoff; then:
 * - ResourceExhausted with a selected node: the annotation is removed so that the scheduler
 *   picks again, and the claim is let go;
 * - Canceled, DeadlineExceeded (also no answer within the timeout), Unavailable, Aborted,
 *   ResourceExhausted without a selected node: "in background" — the same request
 *   (same name `pvc-<uid>`) is retried even if the claim goes away meanwhile, because the
 *   volume may be half-created;
 * - anything else is final: retried only while the claim still asks for a volume.
 *
 * Node-local provisioners make no backend call: `rancher.io/local-path` creates
 * `/opt/local-path-provisioner/pvc-<uid>_<ns>_<name>` on the selected node (its helper pod's
 * `mkdir -p`, here a node shell request) and returns a hostPath PV (DirectoryOrCreate);
 * `hostpath.csi.k8s.io` creates `/var/lib/csi-hostpath-data/pvc-<uid>` and returns a csi PV
 * whose volumeHandle is `pvc-<uid>` (the kubelet finds the directory as
 * HOSTPATH_CSI_DATA_DIR/<volumeHandle>). Both carry node affinity to the selected node; without
 * one, local-path's `configuration error, no node was specified`. Deleting a node-local volume
 * removes only the PV object: there is no node shell operation to remove a directory, so its
 * data stays on the node's disk.
 *
 * A StorageClass of a migrated in-tree plugin (`kubernetes.io/aws-ebs`, src/model/
 * csi-translation.ts) is served by its CSI driver (`ebs.csi.aws.com`): the claim names the
 * driver, and the PV is a CSI volume of that driver (upstream translates it back to the in-tree
 * source with TranslateCSIPVToInTree; ksim keeps the CSI source it mounts).
 *
 * Simplifications, on purpose: no `external-provisioner.volume.kubernetes.io/finalizer` on PVs
 * (HonorPVReclaimPolicy), no capacity check of the created volume against the request, no
 * secrets; a PV that fails to save is re-created with backoff rather than cleaned up after
 * five tries. Defaults and their sources (cmd/csi-provisioner/csi-provisioner.go):
 * - CSI call timeout 10 s — `--timeout`;
 * - retry backoff 1 s doubling to 5 m — `--retry-interval-start`, `--retry-interval-max`;
 * - API request timeout 60 s — kube-apiserver `--request-timeout`.
 */
import type { PersistentVolume, PersistentVolumeClaim, PersistentVolumeSpec } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import { perBoot, type Component, type Port } from '../../src/component.ts';
import { ApiClient, REQUEST_TIMEOUT_MS, type RequestBody } from '../../src/api-client.ts';
import { Calls } from '../../src/calls.ts';
import { Informers, type ChangeType } from '../../src/informer.ts';
import type { ApiResponse, KObject, Msg, ShellResponse } from '../../src/protocol.ts';
import { parseQuantity } from '../../src/quantity.ts';
import { backendAddress, GRPC, rpcError, toCsiAccessMode, type CsiCall, type CsiRequest, type CsiResponse, type CsiResult, type VolumeCapability } from '../../backends/protocol.ts';
import { backendForProvisioner, backendForSource, DEFAULT_CEPH, type BackendRef } from '../../backends/registry.ts';
import { deepCopy } from '../../src/model/objects.ts';
import { effectiveProvisioner } from '../../src/model/csi-translation.ts';

export const EXTERNAL_PROVISIONER = 'external-provisioner';

// pkg/controller/volume/persistentvolume/util/util.go and the provisioner library.
export const ANN_STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
export const ANN_BETA_STORAGE_PROVISIONER = 'volume.beta.kubernetes.io/storage-provisioner';
export const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
export const ANN_DYNAMICALLY_PROVISIONED = 'pv.kubernetes.io/provisioned-by';
const ANN_BETA_STORAGE_CLASS = 'volume.beta.kubernetes.io/storage-class';
/** external-provisioner: `storage.kubernetes.io/csiProvisionerIdentity` in volumeAttributes. */
const PROVISIONER_ID_KEY = 'storage.kubernetes.io/csiProvisionerIdentity';
/** external-provisioner strips StorageClass parameters with this prefix before CreateVolume. */
const CSI_PARAMETER_PREFIX = 'csi.storage.k8s.io/';
const PREFIXED_FSTYPE_KEY = 'csi.storage.k8s.io/fstype';

/** rancher/local-path-provisioner's default node path (deploy/local-path-storage.yaml). */
export const LOCAL_PATH_DIR = '/opt/local-path-provisioner';
/** Where hostpath.csi.k8s.io volumes live on the node: `<dir>/<volumeHandle>`. */
export const HOSTPATH_CSI_DATA_DIR = '/var/lib/csi-hostpath-data';

// cmd/csi-provisioner/csi-provisioner.go.
const TIMEOUT_MS = 10_000;
const RETRY_START_MS = 1_000;
const RETRY_MAX_MS = 300_000;

export interface ExternalProvisionerOptions {
  /** Which provisioner names this instance serves (every non-kubernetes.io one with a backend). */
  provisioners: (name: string) => boolean;
  timeoutMs?: number;
  retryStartMs?: number;
  retryMaxMs?: number;
}

type PvcObj = PersistentVolumeClaim & KObject;
type PvObj = PersistentVolume & KObject;
type ScObj = StorageClass & KObject;

// ---------------------------------------------------------------------------------------------
// Pure helpers

/** GetPersistentVolumeClaimClass: the beta annotation, else spec.storageClassName, else "". */
export function claimClass(claim: PersistentVolumeClaim): string {
  return claim.metadata?.annotations?.[ANN_BETA_STORAGE_CLASS] ?? claim.spec?.storageClassName ?? '';
}

/** The provisioner a claim was handed to by the PV controller (either annotation key). */
export function claimProvisioner(claim: PersistentVolumeClaim): string | undefined {
  const a = claim.metadata?.annotations ?? {};
  return a[ANN_STORAGE_PROVISIONER] ?? a[ANN_BETA_STORAGE_PROVISIONER];
}

/** getProvisionedVolumeNameForClaim with --volume-name-prefix pvc. */
export function provisionedVolumeName(claimUid: string): string {
  return `pvc-${claimUid}`;
}

/** The node-local directory of a provisioned volume, or undefined for other provisioners. */
export function nodeLocalPath(provisioner: string, claim: PersistentVolumeClaim): string | undefined {
  const pvName = provisionedVolumeName(claim.metadata?.uid ?? '');
  if (provisioner === 'rancher.io/local-path') return `${LOCAL_PATH_DIR}/${pvName}_${claim.metadata?.namespace ?? ''}_${claim.metadata?.name ?? ''}`;
  if (provisioner === 'hostpath.csi.k8s.io') return `${HOSTPATH_CSI_DATA_DIR}/${pvName}`;
  return undefined;
}

/** resource.NewQuantity(n, BinarySI).String(): the largest exact binary suffix, else bytes. */
export function formatBinarySI(bytes: number): string {
  const suffixes = ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki'];
  for (let i = 0; i < suffixes.length; i++) {
    const unit = 2 ** (10 * (6 - i));
    if (bytes >= unit && bytes % unit === 0) return `${bytes / unit}${suffixes[i]}`;
  }
  return String(bytes);
}

export type ProvisioningState = 'finished' | 'background' | 'reschedule';

/** checkError (external-provisioner controller.go): what a CreateVolume error code means. */
export function checkError(code: number, mayReschedule: boolean): ProvisioningState {
  switch (code) {
    case GRPC.RESOURCE_EXHAUSTED:
      return mayReschedule ? 'reschedule' : 'background';
    case GRPC.CANCELLED:
    case GRPC.DEADLINE_EXCEEDED:
    case GRPC.UNAVAILABLE:
    case GRPC.ABORTED:
      return 'background';
    default:
      return 'finished';
  }
}

function nodeAffinityTo(node: string): NonNullable<PersistentVolumeSpec['nodeAffinity']> {
  return { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] }] } };
}

const CSI_MODES = new Set(['SINGLE_NODE_WRITER', 'SINGLE_NODE_READER_ONLY', 'MULTI_NODE_READER_ONLY', 'MULTI_NODE_SINGLE_WRITER', 'MULTI_NODE_MULTI_WRITER', 'SINGLE_NODE_SINGLE_WRITER', 'SINGLE_NODE_MULTI_WRITER']);

// ---------------------------------------------------------------------------------------------
// The controller

/** A claim being provisioned (claimsInProgress plus the work queue's retry state). */
interface ClaimWork {
  uid: string;
  /** The claim as last seen: used when it disappears while provisioning in background. */
  claim: PvcObj;
  busy: boolean;
  background: boolean;
  failures: number;
  retryAtMs: number | undefined;
  /** A PV built from a successful CreateVolume but not yet saved. */
  pv: PvObj | undefined;
}

interface DeleteWork {
  busy: boolean;
  failures: number;
  retryAtMs: number | undefined;
}

export function externalProvisioner(port: Port, opts: ExternalProvisionerOptions): Component {
  const api = new ApiClient(port);
  const informers = new Informers(port, api, { kinds: ['PersistentVolumeClaim', 'PersistentVolume', 'StorageClass'], onChange, onSynced: () => armSync() });
  const cache = informers.cache;
  const timeoutMs = opts.timeoutMs ?? TIMEOUT_MS;
  const retryStartMs = opts.retryStartMs ?? RETRY_START_MS;
  const retryMaxMs = opts.retryMaxMs ?? RETRY_MAX_MS;

  const claims = new Map<string, ClaimWork>();
  const deletes = new Map<string, DeleteWork>();
  /** claim uid -> namespace/name, for claims in the cache. */
  const claimKeys = new Map<string, { ns: string; name: string }>();
  /** The work queue: `claim/<uid>` and `pv/<name>`, processed by the `sync` timer. */
  const dirty = new Set<string>();
  let syncArmed = false;
  const identities = new Map<string, string>();
  let startEpochMs = 0;

  let seq = 0;
  const replies = new Calls<CsiResponse | ShellResponse>(port, 'call-timeout');

  // --- plumbing ---------------------------------------------------------------------------------

  function request(body: RequestBody, cb: (res: ApiResponse) => void): void {
    api.request(body, cb, REQUEST_TIMEOUT_MS);
  }

  /** A CSI call; no answer within the timeout is DeadlineExceeded, as the gRPC context says. */
  function csi(backend: string, call: CsiCall, cb: (res: CsiResponse) => void): void {
    const reqId = perBoot(port, `${port.address}#csi-${++seq}`);
    const req: CsiRequest = { type: 'csi.request', reqId, call };
    replies.await(reqId, cb as (res: CsiResponse | ShellResponse) => void, timeoutMs, () =>
      cb({ type: 'csi.response', reqId, code: GRPC.DEADLINE_EXCEEDED, message: 'context deadline exceeded' }),
    );
    port.send(backendAddress(backend), req);
  }

  function shell(node: string, path: string, cb: (res: ShellResponse) => void): void {
    const reqId = `${port.address}#node-${++seq}`;
    replies.await(reqId, cb as (res: CsiResponse | ShellResponse) => void, timeoutMs, () =>
      cb({ type: 'shell.response', reqId, ok: false, error: `create process timeout after ${Math.round(timeoutMs / 1000)} seconds` }),
    );
    port.send(`kubelet/${node}`, { type: 'node.request', reqId, node, op: 'mkdirNode', path });
  }

  function onReply(res: CsiResponse | ShellResponse): void {
    replies.resolve(res);
  }

  function source(provisioner: string): string {
    return `${provisioner}_external-provisioner`;
  }

  function event(obj: KObject, type: 'Normal' | 'Warning', reason: string, message: string, provisioner: string): void {
    api.event(obj, type, reason, message, source(provisioner));
  }

  /** `<start ms since epoch>-<rand 0..9999>-<driver>`, as each sidecar draws it when it starts. */
  function identity(provisioner: string): string {
    let id = identities.get(provisioner);
    if (!id) identities.set(provisioner, (id = `${startEpochMs}-${port.rng.int(0, 9999)}-${provisioner}`));
    return id;
  }

  // --- work queue -------------------------------------------------------------------------------

  function queue(key: string): void {
    dirty.add(key);
    armSync();
  }

  /** Workers start once the informers synced (cache.WaitForCacheSync). */
  function armSync(): void {
    if (syncArmed || !informers.synced || dirty.size === 0) return;
    syncArmed = true;
    port.setTimer('sync', 0);
  }

  function backoffMs(failures: number): number {
    return Math.min(retryStartMs * 2 ** Math.max(0, failures - 1), retryMaxMs);
  }

  function retryLater(key: string, w: { failures: number; retryAtMs: number | undefined }): void {
    w.failures++;
    const delay = backoffMs(w.failures);
    w.retryAtMs = port.now() + delay;
    port.setTimer(`retry/${key}`, delay);
  }

  function runSync(): void {
    syncArmed = false;
    const keys = [...dirty].sort();
    dirty.clear();
    for (const k of keys) {
      if (k.startsWith('claim/')) syncClaim(k.slice('claim/'.length));
      else syncVolume(k.slice('pv/'.length));
    }
  }

  // --- provisioning -----------------------------------------------------------------------------

  function claimByUid(uid: string): PvcObj | undefined {
    const k = claimKeys.get(uid);
    const claim = k ? cache.get<PvcObj>('PersistentVolumeClaim', k.ns, k.name) : undefined;
    // The name may hold a newer claim by now (a re-list after a delete and a create).
    return claim?.metadata.uid === uid ? claim : undefined;
  }

  /** PV names by the uid in their claimRef: finding a claim's PV must not scan every PV. */
  const pvByClaimUid = new Map<string, Set<string>>();

  function hasVolume(uid: string): boolean {
    if (cache.get('PersistentVolume', undefined, provisionedVolumeName(uid))) return true;
    return (pvByClaimUid.get(uid)?.size ?? 0) > 0;
  }

  /** shouldProvision (sig-storage-lib-external-provisioner). */
  function shouldProvision(claim: PvcObj): boolean {
    if (claim.spec?.volumeName) return false;
    const provisioner = claimProvisioner(claim);
    if (!provisioner || !opts.provisioners(provisioner)) return false;
    const cls = cache.get<ScObj>('StorageClass', undefined, claimClass(claim));
    if (!cls) return false;
    if (cls.volumeBindingMode === 'WaitForFirstConsumer') return !!claim.metadata.annotations?.[ANN_SELECTED_NODE];
    return true;
  }

  function syncClaim(uid: string): void {
    const w = claims.get(uid);
    if (w && (w.busy || (w.retryAtMs !== undefined && w.retryAtMs > port.now()))) return;
    if (hasVolume(uid)) {
      // Provisioned (by us or anyone): the claim is done.
      if (w) forget(uid);
      return;
    }
    const claim = claimByUid(uid);
    let target: PvcObj;
    if (claim) {
      if (!shouldProvision(claim)) {
        if (w) forget(uid);
        return;
      }
      target = claim;
    } else if (w?.background) {
      target = w.claim; // claimsInProgress: finish what may be half-created
    } else {
      if (w) forget(uid);
      return;
    }
    provision(target);
  }

  function forget(uid: string): void {
    claims.delete(uid);
    port.cancelTimer(`retry/claim/${uid}`);
  }

  function provision(claim: PvcObj): void {
    const uid = claim.metadata.uid!;
    let w = claims.get(uid);
    if (!w) claims.set(uid, (w = { uid, claim, busy: false, background: false, failures: 0, retryAtMs: undefined, pv: undefined }));
    w.claim = claim;
    w.retryAtMs = undefined;
    const work = w;
    const className = claimClass(claim);
    const cls = cache.get<ScObj>('StorageClass', undefined, className);
    if (!cls || !opts.provisioners(effectiveProvisioner(cls.provisioner))) {
      // The class changed or went away: retried when it comes back (a StorageClass event).
      forget(uid);
      return;
    }
    // A migrated in-tree class (kubernetes.io/aws-ebs) is served by its CSI driver, which
    // provisions with the class translated to CSI (TranslateInTreeStorageClassToCSI).
    const provisioner = effectiveProvisioner(cls.provisioner);
    work.busy = true;
    if (work.pv) return store(work, work.pv, provisioner);
    const selectedNode = claim.metadata.annotations?.[ANN_SELECTED_NODE] || undefined;
    event(claim, 'Normal', 'Provisioning', `External provisioner is provisioning volume for claim "${claim.metadata.namespace}/${claim.metadata.name}"`, provisioner);
    const fail = (state: ProvisioningState, err: string) => onProvisionError(work, provisioner, className, state, err, selectedNode);
    const ref = backendForProvisioner(cls.provisioner, (cls.parameters ?? {}) as Record<string, string>);
    if (!ref) return fail('finished', `no backend serves provisioner ${JSON.stringify(provisioner)}`);
    if (ref.type === 'node-local') return provisionNodeLocal(work, cls, selectedNode, fail);

    const modes = claim.spec?.accessModes ?? [];
    const mode = toCsiAccessMode(modes);
    if (!CSI_MODES.has(mode)) return fail('finished', mode);
    const requested = claim.spec?.resources?.requests?.['storage'];
    const bytes = parseQuantity(requested ?? '0');
    if (typeof bytes === 'string') return fail('finished', bytes);
    const params: Record<string, string> = {};
    let fsType: string | undefined;
    for (const [k, v] of Object.entries((cls.parameters ?? {}) as Record<string, string>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (k === PREFIXED_FSTYPE_KEY || k.toLowerCase() === 'fstype') fsType = v;
      if (k.startsWith(CSI_PARAMETER_PREFIX)) continue;
      params[k] = v;
    }
    const capability: VolumeCapability = { accessMode: mode as VolumeCapability['accessMode'], accessType: claim.spec?.volumeMode === 'Block' ? 'block' : 'mount', ...(fsType ? { fsType } : {}) };
    const call: CsiCall = {
      method: 'CreateVolume',
      name: provisionedVolumeName(uid),
      capacityBytes: bytes,
      capabilities: [capability],
      parameters: params,
      ...(selectedNode ? { accessibleNode: selectedNode } : {}),
    };
    csi(ref.name, call, (res) => {
      if (res.code !== GRPC.OK) return fail(checkError(res.code, !!selectedNode), rpcError(res.code, res.message));
      const pv = csiVolume(claim, cls, ref, res.result ?? {}, bytes, requested, fsType);
      work.pv = pv;
      store(work, pv, provisioner);
    });
  }

  /** The PV for a created CSI volume (external-provisioner Provision). */
  function csiVolume(claim: PvcObj, cls: ScObj, ref: BackendRef, result: CsiResult, requestedBytes: number, requested: unknown, fsType: string | undefined): PvObj {
    const provisioner = effectiveProvisioner(cls.provisioner);
    const capBytes = result.capacityBytes || requestedBytes;
    const storage = capBytes === requestedBytes && typeof requested === 'string' ? requested : formatBinarySI(capBytes);
    const handle = result.volumeId ?? provisionedVolumeName(claim.metadata.uid!);
    let volumeSource: Partial<PersistentVolumeSpec>;
    const params = (cls.parameters ?? {}) as Record<string, string>;
    if (ref.type === 'nfs' && provisioner !== 'nfs.csi.k8s.io') {
      // An NFS subdirectory provisioner returns an nfs volume: `<server>:<path>`.
      const colon = handle.indexOf(':');
      volumeSource = { nfs: { server: colon > 0 ? handle.slice(0, colon) : ref.name, path: colon > 0 ? handle.slice(colon + 1) : handle } };
    } else {
      const attributes: Record<string, string> = { ...(result.volumeContext ?? {}) };
      // The kubelet finds the backend from these (backendForSource), as ceph-csi and
      // csi-driver-nfs return them in the volume context.
      if (ref.type === 'rbd' && params['clusterID'] && !attributes['clusterID']) attributes['clusterID'] = params['clusterID'];
      if (ref.type === 'nfs' && !attributes['server']) attributes['server'] = ref.name;
      attributes[PROVISIONER_ID_KEY] = identity(provisioner);
      volumeSource = { csi: { driver: provisioner, volumeHandle: handle, volumeAttributes: attributes, ...(fsType ? { fsType } : {}) } };
    }
    return pvObject(claim, cls, storage, volumeSource, result.accessibleNode);
  }

  function pvObject(claim: PvcObj, cls: ScObj, storage: string, volumeSource: Partial<PersistentVolumeSpec>, node: string | undefined): PvObj {
    const spec: PersistentVolumeSpec = {
      ...(volumeSource as PersistentVolumeSpec),
      accessModes: [...(claim.spec?.accessModes ?? [])],
      capacity: { storage },
      claimRef: {
        kind: 'PersistentVolumeClaim',
        namespace: claim.metadata.namespace!,
        name: claim.metadata.name!,
        uid: claim.metadata.uid!,
        apiVersion: 'v1',
        ...(claim.metadata.resourceVersion ? { resourceVersion: claim.metadata.resourceVersion } : {}),
      },
      persistentVolumeReclaimPolicy: cls.reclaimPolicy ?? 'Delete',
      storageClassName: claimClass(claim),
      volumeMode: claim.spec?.volumeMode ?? 'Filesystem',
      ...(cls.mountOptions?.length ? { mountOptions: [...cls.mountOptions] } : {}),
      ...(node ? { nodeAffinity: nodeAffinityTo(node) } : {}),
    };
    return {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: provisionedVolumeName(claim.metadata.uid!), annotations: { [ANN_DYNAMICALLY_PROVISIONED]: effectiveProvisioner(cls.provisioner) } },
      spec,
    } as PvObj;
  }

  /** local-path-provisioner / csi-hostpath: a directory on the selected node. */
  function provisionNodeLocal(work: ClaimWork, cls: ScObj, selectedNode: string | undefined, fail: (s: ProvisioningState, err: string) => void): void {
    const claim = work.claim;
    // local-path-provisioner Provision: it cannot pick a node by itself.
    if (!selectedNode) return fail('finished', 'configuration error, no node was specified');
    const path = nodeLocalPath(cls.provisioner, claim)!;
    shell(selectedNode, path, (res) => {
      if (!res.ok) return fail('finished', `failed to create volume ${provisionedVolumeName(claim.metadata.uid!)}: ${res.error ?? 'unknown error'}`);
      const storage = String(claim.spec?.resources?.requests?.['storage'] ?? '0');
      const volumeSource: Partial<PersistentVolumeSpec> =
        cls.provisioner === 'hostpath.csi.k8s.io'
          ? { csi: { driver: cls.provisioner, volumeHandle: provisionedVolumeName(claim.metadata.uid!), volumeAttributes: { [PROVISIONER_ID_KEY]: identity(cls.provisioner) } } }
          : { hostPath: { path, type: 'DirectoryOrCreate' } };
      const pv = pvObject(claim, cls, storage, volumeSource, selectedNode);
      work.pv = pv;
      store(work, pv, cls.provisioner);
    });
  }

  /** volume_store.go doSaveVolume: create the PV; AlreadyExists counts as saved. */
  function store(work: ClaimWork, pv: PvObj, provisioner: string): void {
    request({ verb: 'create', kind: 'PersistentVolume', obj: pv }, (res) => {
      work.busy = false;
      if (res.ok || res.status?.code === 409) {
        if (res.obj) cache.put(res.obj);
        event(work.claim, 'Normal', 'ProvisioningSucceeded', `Successfully provisioned volume ${pv.metadata.name}`, provisioner);
        forget(work.uid);
        return;
      }
      port.note(`saving PV ${pv.metadata.name} failed: ${res.status?.message ?? ''}`);
      retryLater(`claim/${work.uid}`, work);
    });
  }

  function onProvisionError(work: ClaimWork, provisioner: string, className: string, state: ProvisioningState, err: string, selectedNode: string | undefined): void {
    work.busy = false;
    const claim = work.claim;
    event(claim, 'Warning', 'ProvisioningFailed', `failed to provision volume with StorageClass ${JSON.stringify(className)}: ${err}`, provisioner);
    if (state === 'reschedule' && selectedNode) {
      // rescheduleProvisioning: drop selected-node so that the scheduler tries again.
      work.busy = true;
      const cur = claimByUid(work.uid) ?? claim;
      const next = deepCopy(cur);
      delete next.metadata.annotations?.[ANN_SELECTED_NODE];
      request({ verb: 'update', kind: 'PersistentVolumeClaim', namespace: cur.metadata.namespace!, name: cur.metadata.name!, obj: next }, (res) => {
        work.busy = false;
        if (res.ok) {
          if (res.obj) cache.put(res.obj);
          forget(work.uid);
          return;
        }
        retryLater(`claim/${work.uid}`, work);
      });
      return;
    }
    work.background = state === 'background';
    retryLater(`claim/${work.uid}`, work);
  }

  // --- deletion ---------------------------------------------------------------------------------

  /** shouldDelete (sig-storage-lib-external-provisioner, without the PV finalizer). */
  function shouldDelete(pv: PvObj): boolean {
    if (pv.metadata.deletionTimestamp) return false;
    if (pv.status?.phase !== 'Released') return false;
    if (pv.spec?.persistentVolumeReclaimPolicy !== 'Delete') return false;
    const by = pv.metadata.annotations?.[ANN_DYNAMICALLY_PROVISIONED];
    return !!by && opts.provisioners(by);
  }

  function syncVolume(name: string): void {
    const d = deletes.get(name);
    if (d && (d.busy || (d.retryAtMs !== undefined && d.retryAtMs > port.now()))) return;
    const pv = cache.get<PvObj>('PersistentVolume', undefined, name);
    if (!pv || !shouldDelete(pv)) {
      if (d) {
        deletes.delete(name);
        port.cancelTimer(`retry/pv/${name}`);
      }
      return;
    }
    const work = d ?? { busy: false, failures: 0, retryAtMs: undefined };
    deletes.set(name, work);
    work.busy = true;
    work.retryAtMs = undefined;
    const done = () => {
      deletes.delete(name);
      port.cancelTimer(`retry/pv/${name}`);
    };
    const fail = (obj: PvObj, message: string, emit: boolean) => {
      work.busy = false;
      if (emit) event(obj, 'Warning', 'VolumeFailedDelete', message, obj.metadata.annotations?.[ANN_DYNAMICALLY_PROVISIONED] ?? '');
      else port.note(message);
      retryLater(`pv/${name}`, work);
    };
    // deleteVolumeOperation: read the PV again; it may have been re-bound meanwhile.
    request({ verb: 'get', kind: 'PersistentVolume', name }, (got) => {
      if (!got.ok || !got.obj) {
        work.busy = false;
        return done();
      }
      const fresh = got.obj as PvObj;
      cache.put(fresh);
      if (!shouldDelete(fresh)) {
        work.busy = false;
        return done();
      }
      const deleteObject = () =>
        request({ verb: 'delete', kind: 'PersistentVolume', name }, (res) => {
          if (!res.ok && res.status?.code !== 404) return fail(fresh, `failed to delete persistentvolume ${name}: ${res.status?.message ?? ''}`, false);
          work.busy = false;
          done();
        });
      const spec = fresh.spec ?? {};
      const ref = backendForSource(spec as Parameters<typeof backendForSource>[0]);
      if (!ref || ref.type === 'node-local') return deleteObject();
      const volumeId = spec.csi?.volumeHandle ?? (spec.nfs ? `${spec.nfs.server}:${spec.nfs.path}` : spec.rbd ? `${spec.rbd.pool || 'rbd'}/${spec.rbd.image}` : '');
      const backend = spec.csi ? ref.name : ref.type === 'rbd' ? DEFAULT_CEPH : ref.name;
      csi(backend, { method: 'DeleteVolume', volumeId }, (res) => {
        if (res.code !== GRPC.OK) return fail(fresh, rpcError(res.code, res.message), true);
        deleteObject();
      });
    });
  }

  // --- events -------------------------------------------------------------------------------------

  function onClaim(type: ChangeType, obj: KObject, old: KObject | undefined): void {
    const uid = obj.metadata.uid;
    if (!uid) return;
    const oldUid = old?.metadata.uid;
    if (type === 'MODIFIED' && oldUid && oldUid !== uid) {
      claimKeys.delete(oldUid);
      queue(`claim/${oldUid}`);
    }
    if (type === 'DELETED') claimKeys.delete(uid);
    else claimKeys.set(uid, { ns: obj.metadata.namespace ?? 'default', name: obj.metadata.name ?? '' });
    queue(`claim/${uid}`);
  }

  function onVolume(type: ChangeType, obj: KObject, old: KObject | undefined): void {
    const uid = obj.spec?.claimRef?.uid as string | undefined;
    const oldUid = old?.spec?.claimRef?.uid as string | undefined;
    if (oldUid) pvByClaimUid.get(oldUid)?.delete(obj.metadata.name!);
    if (uid && type !== 'DELETED') {
      const set = pvByClaimUid.get(uid) ?? new Set<string>();
      set.add(obj.metadata.name!);
      pvByClaimUid.set(uid, set);
    }
    if (uid && claims.has(uid)) queue(`claim/${uid}`);
    const name = obj.metadata.name!;
    if (deletes.has(name) || (type !== 'DELETED' && shouldDelete(obj as PvObj))) queue(`pv/${name}`);
  }

  function onClass(obj: KObject): void {
    const name = obj.metadata.name;
    for (const c of cache.list<PvcObj>('PersistentVolumeClaim')) if (claimClass(c) === name && !c.spec?.volumeName) queue(`claim/${c.metadata.uid}`);
  }

  function onChange(type: ChangeType, obj: KObject, old: KObject | undefined): void {
    switch (obj.kind) {
      case 'PersistentVolumeClaim':
        return onClaim(type, obj, old);
      case 'PersistentVolume':
        return onVolume(type, obj, old);
      case 'StorageClass':
        return onClass(obj);
    }
  }

  return {
    start() {
      startEpochMs = Date.parse(port.nowIso());
      informers.start();
    },
    receive(msg: Msg) {
      if (api.handle(msg) || informers.handle(msg)) return;
      switch (msg.type) {
        case 'csi.response':
          return onReply(msg as unknown as CsiResponse);
        case 'shell.response':
          return onReply(msg);
        default:
          return;
      }
    },
    timer(key: string) {
      if (key === 'sync') return runSync();
      if (key.startsWith('retry/')) {
        const k = key.slice('retry/'.length);
        const w = k.startsWith('claim/') ? claims.get(k.slice('claim/'.length)) : deletes.get(k.slice('pv/'.length));
        if (w) w.retryAtMs = undefined;
        return queue(k);
      }
      if (api.timer(key) || replies.timer(key)) return;
      informers.timer(key);
    },
  };
}
