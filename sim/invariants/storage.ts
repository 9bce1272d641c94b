/**
 * Storage guarantees (SPEC §6) and the hazards Kubernetes allows (warnings), observed from the
 * store's commits, the backends' own view of attachments, and the end state:
 * - rwo-single-node: an attachable RWO/RWOP volume is never published on two nodes at once
 *   (asked of the backend model after each of its successful CSI answers), and never attached
 *   to two nodes at once as Kubernetes records it (two VolumeAttachments of its PV with
 *   status.attached, what `kubectl get volumeattachments` shows: the attach/detach
 *   controller's Multi-Attach check is what prevents it, whatever the storage would allow);
 * - rwop-single-pod: a ReadWriteOncePod claim is never used by two running pods;
 * - pv-pvc-one-to-one: a PV is bound to at most one claim, a claim to at most one PV;
 * - protection: a claim used by a scheduled pod, or a Bound PV (its phase, or a claim Bound to
 *   it), is never removed;
 * - hostpath-affinity: a pod whose PV has node affinity runs only where it allows;
 * - reclaim-policy: a Released Retain PV stays (Released) with its data; a Delete PV goes (once
 *   its storage system can delete it: a volume released during an outage is retried, so it is
 *   judged only 5 min after the storage came back);
 * warnings rwo-not-enforced (non-attachable RWO volume used from two nodes) and
 * rwx-hostpath-split (RWX hostPath used from two nodes: each sees its own copy).
 */
import type { PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import type { KObject } from '../../src/protocol.ts';
import type { ObjectStore } from '../../src/store.ts';
import { matchesNodeSelector } from '../../src/model/selectors.ts';
import type { Attachment } from '../../backends/volume-data.ts';
import { backendForSource, volumeIdOf } from '../../backends/registry.ts';
import type { Violation, Warning } from './types.ts';

interface StorageView {
  store: ObjectStore;
  nowMs: number;
  csiAttachRequired(driver: string): boolean;
  backendType(name: string): string | undefined;
  /** Since when the storage behind a source could delete volumes (0: always; Infinity: not now). */
  storageBackSinceMs?(ref: { type: string; name: string }): number;
}

/**
 * How long after its storage system came back a Delete volume may take to go: the
 * external-provisioner retries a failed delete at most 5 min apart (--retry-interval-max 5m,
 * cmd/csi-provisioner/csi-provisioner.go).
 */
const DELETE_RETRY_MAX_MS = 300_000;

function claimsOf(pod: Pod): string[] {
  return (pod.spec?.volumes ?? []).flatMap((v) => (v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : []));
}

function isRunning(pod: Pod): boolean {
  return pod.status?.phase === 'Running' && !!pod.spec?.nodeName;
}

/** Only RWO / RWOP (no ROX, no RWX): what IsMultiAttachAllowed refuses. */
function singleNode(pv: PersistentVolume): boolean {
  const modes = pv.spec?.accessModes ?? [];
  return modes.length > 0 && !modes.includes('ReadWriteMany') && !modes.includes('ReadOnlyMany');
}

/**
 * The pods that use a claim, as the checks ask for them: in (namespace, name) order, as
 * store.list gives them. Two forms that must agree: the snapshot form scans the store's pods of
 * the namespace (the reference, O(pods) per question); the incremental form keeps the pods of
 * each claim up to date commit by commit (O(users) per question).
 */
export interface ClaimUsers {
  /** Call on each Pod commit, before asking. */
  onPodCommit(event: string, pod: Pod, old: Pod | undefined): void;
  /** Pods of namespace `ns` whose volumes name claim `claim` (any phase). */
  usersOf(ns: string, claim: string): Pod[];
}

/** The reference: a scan of the namespace's pods in the store. */
export function snapshotClaimUsers(store: ObjectStore): ClaimUsers {
  return {
    onPodCommit() {},
    usersOf: (ns, claim) => (store.list('Pod', ns) as Pod[]).filter((p) => claimsOf(p).includes(claim)),
  };
}

/** The incremental form: `namespace/claim` -> names of the pods using it, kept per commit. */
export function incrementalClaimUsers(store: ObjectStore): ClaimUsers {
  const byClaim = new Map<string, Set<string>>();
  const claimsOfPod = new Map<string, string[]>();
  return {
    onPodCommit(event, pod) {
      const ns = pod.metadata!.namespace ?? '';
      const name = pod.metadata!.name!;
      const podKey = `${ns}/${name}`;
      const now = event === 'DELETED' ? [] : claimsOf(pod);
      const before = claimsOfPod.get(podKey) ?? [];
      if (before.length === now.length && before.every((c, i) => c === now[i])) return;
      for (const c of before) {
        const set = byClaim.get(`${ns}/${c}`);
        set?.delete(name);
        if (set?.size === 0) byClaim.delete(`${ns}/${c}`);
      }
      for (const c of now) {
        let set = byClaim.get(`${ns}/${c}`);
        if (!set) byClaim.set(`${ns}/${c}`, (set = new Set()));
        set.add(name);
      }
      if (now.length > 0) claimsOfPod.set(podKey, now);
      else claimsOfPod.delete(podKey);
    },
    usersOf(ns, claim) {
      const names = byClaim.get(`${ns}/${claim}`);
      if (!names) return [];
      const out: Pod[] = [];
      for (const name of [...names].sort()) {
        const p = store.get('Pod', ns, name) as Pod | undefined;
        if (p) out.push(p);
      }
      return out;
    },
  };
}

export class StorageMonitor {
  readonly violations: Violation[] = [];
  readonly warnings: Warning[] = [];
  private readonly reported = new Set<string>();
  /** PV name -> (claim uid -> ns/name) of claims Bound to it; claim uid -> PV name. */
  private readonly boundTo = new Map<string, Map<string, string>>();
  private readonly boundPvOf = new Map<string, string>();
  /** PV name -> VolumeAttachment name -> node, for the VolumeAttachments that say attached. */
  private readonly attachedVas = new Map<string, Map<string, string>>();
  private readonly users: ClaimUsers;

  /** `snapshot`: answer "who uses this claim" by scanning the store (the reference form, for tests). */
  constructor(
    private readonly view: StorageView,
    opts: { snapshot?: boolean } = {},
  ) {
    this.users = opts.snapshot ? snapshotClaimUsers(view.store) : incrementalClaimUsers(view.store);
  }

  private violate(key: string, v: Violation): void {
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.violations.push(v);
  }

  private warn(key: string, w: Warning): void {
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.warnings.push(w);
  }

  /** The PV a volume handle belongs to (CSI handle, `<pool>/<image>` for rbd). */
  private pvForVolumeId(volumeId: string): PersistentVolume | undefined {
    return (this.view.store.list('PersistentVolume') as PersistentVolume[]).find((pv) => volumeIdOf(pv.spec ?? {}) === volumeId);
  }

  /** After a backend answered OK: is any single-node attachable volume on two nodes? */
  checkAttachments(backend: string, attachments: readonly Attachment[], atMs: number): void {
    const byVolume = new Map<string, Set<string>>();
    for (const a of attachments) {
      const s = byVolume.get(a.volumeId) ?? new Set<string>();
      s.add(a.nodeId);
      byVolume.set(a.volumeId, s);
    }
    for (const [volumeId, nodes] of byVolume) {
      if (nodes.size < 2) continue;
      const pv = this.pvForVolumeId(volumeId);
      // Only attachable volumes (rbd, CSI with attachRequired) promise one node; a volume we
      // cannot tie to a PV (an inline volume) is judged by its backend: Ceph images are attachable.
      const attachable = pv ? !!pv.spec?.rbd || (!!pv.spec?.csi && this.view.csiAttachRequired(pv.spec.csi.driver)) : this.view.backendType(backend) === 'rbd';
      if (!attachable || (pv && !singleNode(pv))) continue;
      const list = [...nodes].sort();
      this.violate(`rwo/${volumeId}/${list.join(',')}`, {
        invariant: 'rwo-single-node',
        atMs,
        message: `ReadWriteOnce volume ${pv ? `${pv.metadata!.name} (${volumeId})` : volumeId} is in use on ${list.join(' and ')} at once (backend ${backend})`,
        objects: pv ? [`PersistentVolume/${pv.metadata!.name}`] : [],
      });
    }
  }

  /** rwo-single-node as the API records it: VolumeAttachments with status.attached, per PV. */
  private onVolumeAttachment(event: string, va: KObject, old: KObject | undefined, atMs: number): void {
    const pvName: string | undefined = (va.spec?.source?.persistentVolumeName ?? old?.spec?.source?.persistentVolumeName) as string | undefined;
    if (!pvName) return;
    const name = va.metadata.name!;
    let vas = this.attachedVas.get(pvName);
    if (event === 'DELETED' || va.status?.attached !== true) {
      vas?.delete(name);
      if (vas?.size === 0) this.attachedVas.delete(pvName);
      return;
    }
    if (!vas) this.attachedVas.set(pvName, (vas = new Map()));
    vas.set(name, String(va.spec?.nodeName ?? ''));
    const nodes = [...new Set(vas.values())].sort();
    if (nodes.length < 2) return;
    const pv = this.view.store.get('PersistentVolume', undefined, pvName) as PersistentVolume | undefined;
    if (!pv || !singleNode(pv)) return;
    const attachable = !!pv.spec?.rbd || (!!pv.spec?.csi && this.view.csiAttachRequired(pv.spec.csi.driver));
    if (!attachable) return;
    const volumeId = volumeIdOf(pv.spec ?? {});
    this.violate(`rwo/${volumeId}/${nodes.join(',')}`, {
      invariant: 'rwo-single-node',
      atMs,
      message: `ReadWriteOnce volume ${pvName} (${volumeId}) is attached to ${nodes.join(' and ')} at once (VolumeAttachments ${[...vas.keys()].sort().join(', ')})`,
      objects: [`PersistentVolume/${pvName}`],
    });
  }

  onCommit(event: string, obj: KObject, old: KObject | undefined, atMs: number): void {
    const store = this.view.store;
    if (obj.kind === 'VolumeAttachment') return this.onVolumeAttachment(event, obj, old, atMs);
    if (obj.kind === 'Pod') this.users.onPodCommit(event, obj as Pod, old as Pod | undefined);
    if (obj.kind === 'PersistentVolumeClaim') {
      if (event === 'DELETED') {
        const gone = this.boundPvOf.get(obj.metadata.uid!);
        if (gone) this.boundTo.get(gone)?.delete(obj.metadata.uid!);
        this.boundPvOf.delete(obj.metadata.uid!);
        const users = this.users.usersOf(obj.metadata.namespace ?? '', obj.metadata.name!).filter((p) => p.spec?.nodeName);
        if (users.length)
          this.violate(`protection/pvc/${obj.metadata.uid}`, {
            invariant: 'protection',
            atMs,
            message: `claim ${obj.metadata.namespace}/${obj.metadata.name} was removed while pod(s) ${users.map((p) => p.metadata!.name).join(', ')} use it`,
            objects: [`PersistentVolumeClaim/${obj.metadata.namespace}/${obj.metadata.name}`],
          });
        return;
      }
      // Claims Bound to each PV, kept up to date commit by commit (no scan of every claim).
      const uid = obj.metadata.uid!;
      const before = this.boundPvOf.get(uid);
      if (before) this.boundTo.get(before)?.delete(uid);
      this.boundPvOf.delete(uid);
      const pvName = (obj as PersistentVolumeClaim).spec?.volumeName;
      if (pvName && obj.status?.phase === 'Bound') {
        const claims = this.boundTo.get(pvName) ?? new Map<string, string>();
        claims.set(uid, `${obj.metadata.namespace}/${obj.metadata.name}`);
        this.boundTo.set(pvName, claims);
        this.boundPvOf.set(uid, pvName);
        if (claims.size > 1)
          this.violate(`one-to-one/${pvName}`, {
            invariant: 'pv-pvc-one-to-one',
            atMs,
            message: `PersistentVolume ${pvName} is bound to ${[...claims.values()].sort().join(' and ')}`,
            objects: [`PersistentVolume/${pvName}`],
          });
      }
      return;
    }
    if (obj.kind === 'PersistentVolume') {
      this.noteReleased(obj, atMs);
      if (event === 'DELETED' && old?.status?.phase === 'Bound')
        this.violate(`protection/pv/${obj.metadata.uid}`, {
          invariant: 'protection',
          atMs,
          message: `PersistentVolume ${obj.metadata.name} was removed while Bound to ${old.spec?.claimRef?.namespace}/${old.spec?.claimRef?.name}`,
          objects: [`PersistentVolume/${obj.metadata.name}`],
        });
      // Bound seen from the claim's side: a claim whose status says Bound to this volume.
      const claims = event === 'DELETED' ? this.boundTo.get(obj.metadata.name!) : undefined;
      if (claims && claims.size > 0)
        this.violate(`protection/pv/${obj.metadata.uid}`, {
          invariant: 'protection',
          atMs,
          message: `PersistentVolume ${obj.metadata.name} was removed while claim ${[...claims.values()].sort().join(' and ')} is Bound to it`,
          objects: [`PersistentVolume/${obj.metadata.name}`],
        });
      return;
    }
    if (obj.kind !== 'Pod' || event === 'DELETED') return;
    const pod = obj as Pod;
    if (!isRunning(pod)) return;
    const ns = pod.metadata!.namespace!;
    const node = store.get('Node', undefined, pod.spec!.nodeName!);
    for (const claimName of claimsOf(pod)) {
      const claim = store.get('PersistentVolumeClaim', ns, claimName) as PersistentVolumeClaim | undefined;
      const pv = claim?.spec?.volumeName ? (store.get('PersistentVolume', undefined, claim.spec.volumeName) as PersistentVolume | undefined) : undefined;
      if (!claim || !pv) continue;
      const req = pv.spec?.nodeAffinity?.required;
      if (req && node && !matchesNodeSelector(req, node.metadata.name!, node.metadata.labels ?? {}))
        this.violate(`affinity/${pod.metadata!.uid}/${pv.metadata!.name}`, {
          invariant: 'hostpath-affinity',
          atMs,
          message: `pod ${ns}/${pod.metadata!.name} runs on ${node.metadata.name} but PersistentVolume ${pv.metadata!.name} only allows nodes matching its nodeAffinity`,
          objects: [`Pod/${ns}/${pod.metadata!.name}`, `PersistentVolume/${pv.metadata!.name}`],
        });
      const users = this.users.usersOf(ns, claimName).filter(isRunning);
      const nodes = [...new Set(users.map((p) => p.spec!.nodeName!))].sort();
      if ((claim.spec?.accessModes ?? []).includes('ReadWriteOncePod') && users.length > 1)
        this.violate(`rwop/${claim.metadata!.uid}`, {
          invariant: 'rwop-single-pod',
          atMs,
          message: `ReadWriteOncePod claim ${ns}/${claimName} is used by ${users.map((p) => p.metadata!.name).join(' and ')} at once`,
          objects: [`PersistentVolumeClaim/${ns}/${claimName}`],
        });
      if (nodes.length < 2) continue;
      const modes = pv.spec?.accessModes ?? [];
      const nodeLocal = !!pv.spec?.hostPath || !!pv.spec?.local;
      const attachable = !!pv.spec?.rbd || (!!pv.spec?.csi && this.view.csiAttachRequired(pv.spec.csi.driver));
      if (!attachable && modes.includes('ReadWriteOnce') && !modes.includes('ReadWriteMany'))
        this.warn(`rwo-not-enforced/${pv.metadata!.name}/${nodes.join(',')}`, {
          warning: 'rwo-not-enforced',
          atMs,
          message: `ReadWriteOnce volume ${pv.metadata!.name} is mounted on ${nodes.join(' and ')} at once: ${nodeLocal ? 'hostPath' : 'NFS'} volumes are not attached, so Kubernetes does not enforce ReadWriteOnce`,
          objects: [`PersistentVolume/${pv.metadata!.name}`],
        });
      if (pv.spec?.hostPath && modes.includes('ReadWriteMany'))
        this.warn(`rwx-hostpath-split/${pv.metadata!.name}/${nodes.join(',')}`, {
          warning: 'rwx-hostpath-split',
          atMs,
          message: `ReadWriteMany hostPath volume ${pv.metadata!.name} is used from ${nodes.join(' and ')}: each node sees its own copy of ${pv.spec.hostPath.path}`,
          objects: [`PersistentVolume/${pv.metadata!.name}`],
        });
    }
  }

  /** reclaim-policy at the end: a Released Retain PV still exists; a Delete PV whose claim is long gone is gone. */
  checkReclaim(settledBeforeMs: number): void {
    const store = this.view.store;
    for (const pv of store.list('PersistentVolume') as PersistentVolume[]) {
      const ref = pv.spec?.claimRef;
      if (!ref || pv.status?.phase === 'Pending') continue;
      const claim = store.get('PersistentVolumeClaim', ref.namespace, ref.name!);
      if (claim && claim.metadata.uid === ref.uid) continue;
      const policy = pv.spec?.persistentVolumeReclaimPolicy ?? 'Retain';
      if (policy === 'Retain' && pv.status?.phase !== 'Released')
        this.violate(`reclaim/${pv.metadata!.name}`, {
          invariant: 'reclaim-policy',
          atMs: this.view.nowMs,
          message: `PersistentVolume ${pv.metadata!.name} (Retain) lost its claim but is ${pv.status?.phase}, not Released`,
          objects: [`PersistentVolume/${pv.metadata!.name}`],
        });
      if (policy === 'Delete' && pv.status?.phase !== 'Failed' && !pv.metadata!.deletionTimestamp && this.releasedAt(pv) < settledBeforeMs && this.storageBackSince(pv) + DELETE_RETRY_MAX_MS < settledBeforeMs)
        this.violate(`reclaim/${pv.metadata!.name}`, {
          invariant: 'reclaim-policy',
          atMs: this.view.nowMs,
          message: `PersistentVolume ${pv.metadata!.name} (Delete) lost its claim but was not deleted`,
          objects: [`PersistentVolume/${pv.metadata!.name}`],
        });
    }
  }

  /** Since when the PV's storage could delete it (a volume whose storage was out is given time). */
  private storageBackSince(pv: PersistentVolume): number {
    const ref = pv.spec ? backendForSource(pv.spec) : undefined;
    if (!ref || ref.type === 'node-local' || !this.view.storageBackSinceMs) return 0;
    const since = this.view.storageBackSinceMs(ref);
    return since === 0 ? -DELETE_RETRY_MAX_MS : since;
  }

  private readonly released = new Map<string, number>();
  /** When the monitor first saw the PV Released (call from onCommit's PV branch). */
  noteReleased(pv: KObject, atMs: number): void {
    if (pv.status?.phase === 'Released' && !this.released.has(pv.metadata.name!)) this.released.set(pv.metadata.name!, atMs);
  }
  private releasedAt(pv: PersistentVolume): number {
    return this.released.get(pv.metadata!.name!) ?? Infinity;
  }
}
