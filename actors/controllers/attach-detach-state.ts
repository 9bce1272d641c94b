/**
 * The attach/detach controller's two caches (attach-detach-controller.ts), as
 * pkg/controller/volume/attachdetach/cache has them: the desired state of world
 * (desired_state_of_world.go: which attachable volumes the pods want on which nodes, kept per
 * pod by AddPod/DeletePod, with util/util.go's reading of a pod's volumes) and the actual state
 * of world (actual_state_of_world.go: what is attached where, each entry with attachedConfirmed,
 * MountedByNode, the time the first detach was requested, and whether it is reported in the
 * Node's status.volumesAttached).
 *
 * Both are plain data read from and written by the other parts; neither sends anything. The DSW
 * reads the controller's informer cache (pods, claims, volumes, nodes), never the API server.
 */
import type { PersistentVolumeSpec, Volume } from 'kubernetes-types/core/v1.js';
import type { Cache } from '../../src/informer.ts';
import { cmp } from '../../src/model/objects.ts';
import { attachableVolume, isPodTerminated, type AttachableVolume, type NodeObj, type PodObj, type PvObj, type PvcObj } from './attach-detach-utils.ts';

export interface Attached {
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
export interface Wanting {
  namespace: string;
  name: string;
  volume: AttachableVolume;
}

export interface Desired {
  /** node -> the pods on that node that use the volume, by `namespace/name`. */
  nodes: Map<string, Map<string, Wanting>>;
}

/** What one pod adds to the DSW: its node (more than one only under a --bug) and its attachable volumes by unique name. */
export interface PodWants {
  nodes: string[];
  volumes: Map<string, AttachableVolume>;
}

/** The actual state of world, as the reconciler, the operations and the status updater use it. */
export type ActualStateOfWorld = ReturnType<typeof actualStateOfWorld>;

/** The ASW: what is attached (or may be) where. */
export function actualStateOfWorld(cache: Cache) {
  /** ASW: uniqueName -> node -> entry. */
  const asw = new Map<string, Map<string, Attached>>();

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

  /** GetVolumesToReportAttached for one node: the unique names its status should list, sorted. */
  function reportedOn(node: string): string[] {
    const out: string[] = [];
    for (const m of asw.values()) {
      const e = m.get(node);
      if (e?.reported) out.push(e.volume.uniqueName);
    }
    return out.sort();
  }

  return { asw, entry, putEntry, deleteEntry, mountedOnNode, reportedOn };
}

/** The desired state of world, as the controller's event handlers and the reconciler use it. */
export type DesiredStateOfWorld = ReturnType<typeof desiredStateOfWorld>;

/**
 * The DSW. `podNodes` is the controller's memory of every node each pod was seen on, read only
 * under --bug attach-pod-node-cached (`podNodeCached`).
 */
export function desiredStateOfWorld(cache: Cache, opts: { csiAttachRequired: (driver: string) => boolean }, podNodeCached: boolean, podNodes: ReadonlyMap<string, ReadonlySet<string>>) {
  /**
   * The desired state of world, kept per pod as desired_state_of_world.go keeps it
   * (AddPod/DeletePod from the pod, node and claim event handlers): unique volume name -> node
   * -> pods; and what each pod put there, to take it out again.
   */
  const dsw = new Map<string, Desired>();
  const podWants = new Map<string, PodWants>();

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

  return { dsw, syncPod, syncPodsBy, desiredVolume, desiredPods };
}
