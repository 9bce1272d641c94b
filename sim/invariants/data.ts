/**
 * Data the user wrote (SPEC §6):
 * - no-data-loss: an acknowledged write through a claim stays readable through that claim,
 *   unless the run destroyed that storage on purpose. Only writes kubectl reported as
 *   acknowledged count (a write that failed, or is still blocked on a hard NFS mount, stored
 *   nothing the user was promised). A write whose outcome kubectl could not learn — the exec
 *   connection timed out, its answer lost — may or may not have happened: the file may hold
 *   either, as a Jepsen history counts an indeterminate operation. At the end each surviving claim is read back through a
 *   running pod that mounts it, the way a user would check. Losses caused on purpose are told
 *   apart and reported as `expected-data-loss` warnings, never as violations: a write to
 *   node-local storage (hostPath, local, a node-local provisioner's volume) of a node whose
 *   disk was wiped after it (wipeDisk), and a write through a claim that was deleted while its
 *   volume's reclaim policy was Delete (the volume is gone) or Recycle (its files scrubbed).
 * - hostpath-elsewhere (a warning): a pod reads an inline hostPath volume on another node than
 *   the one its data was written on — it sees that node's files, not the ones written.
 * - hostpath-shared (a warning): two claims whose hostPath PVs name the same directory wrote the
 *   same file on one node (their pods met there): each sees the other's writes. Kubernetes allows
 *   it; a read-back that shows the other claim's data is that, not a loss.
 */
import type { Pod, Volume } from 'kubernetes-types/core/v1.js';
import type { ObjectStore } from '../../src/store.ts';
import type { ActionResult } from '../../actors/kubectl.ts';
import type { Action } from '../../src/scenario/types.ts';
import { mountFor } from '../../actors/kubelet-volumes.ts';
import { joinPath } from '../../src/fs.ts';
import type { Violation, Warning } from './types.ts';

interface Written {
  namespace: string;
  claim: string;
  claimUid: string;
  /** Path inside the volume. */
  path: string;
  data: string;
  atMs: number;
  /** The node the write was made on, and whether the claim's PV is a hostPath (per-node data). */
  node: string;
  hostPath: boolean;
  /** Node-local storage (hostPath, local, a node-local provisioner's volume): gone with a wiped disk. */
  nodeLocal: boolean;
  /** The claim's PV when written, and its reclaim policy then. */
  pvName: string | undefined;
  /** For a hostPath PV: the file on the node's disk (`node:/dir/file`). */
  hostFile?: string;
  /** Other contents the file may hold, and whether it may not exist (writes of unknown outcome). */
  also?: string[];
  mayBeAbsent?: boolean;
  reclaimPolicy: string | undefined;
}

/**
 * Whether a failed write's error leaves its outcome unknown: the exec connection was never
 * confirmed (the API server's dial timed out, or kubectl's request timeout expired), yet the
 * kubelet may have run the command.
 */
export function outcomeUnknown(error: string): boolean {
  // `still blocked` (sim/run.ts STILL_BLOCKED): no answer by the end of the run.
  return error === 'still blocked' || error.startsWith('error dialing backend: ') || error.startsWith('Timeout: request did not complete within requested timeout');
}

/** A disk wiped on purpose (world.wipes). */
export interface Wipe {
  node: string;
  atMs: number;
}

/** Drivers and provisioners whose volumes live on one node's disk (backends/registry.ts). */
const NODE_LOCAL_DRIVERS = new Set(['rancher.io/local-path', 'kubernetes.io/host-path', 'hostpath.csi.k8s.io']);

export interface ReadBack {
  pod: string;
  namespace: string;
  container: string;
  path: string;
  node: string;
  want: Written;
}

/** Which volume of `pod` a container path falls in, and the path inside it. */
function volumeAt(pod: Pod, container: string | undefined, path: string): { volume: Volume; inside: string } | undefined {
  const c = container ? pod.spec?.containers.find((x) => x.name === container) : pod.spec?.containers[0];
  const hit = mountFor(c?.volumeMounts, path);
  if (!hit) return undefined;
  const volume = (pod.spec?.volumes ?? []).find((v) => v.name === hit.mount.name);
  return volume ? { volume, inside: joinPath(hit.mount.subPath ?? '', hit.rel) } : undefined;
}

export class DataMonitor {
  readonly warnings: Warning[] = [];
  private readonly written = new Map<string, Written>();
  /** Inline hostPath files written: `path` -> node. */
  private readonly hostPathWrites = new Map<string, string>();
  /** Files on a node's disk written through hostPath PVs: `node:/dir/file` -> the claims (`ns/name`) that wrote them. */
  private readonly hostFileWriters = new Map<string, Set<string>>();
  private readonly warned = new Set<string>();

  constructor(
    private readonly store: ObjectStore,
    /** The disks the run wiped so far. */
    private readonly wipes: () => readonly Wipe[] = () => [],
  ) {}

  /** Called with each kubectl result as it arrives. */
  observe(a: Action, r: ActionResult): void {
    // A failed write stored nothing, unless its failure says its outcome is unknown; a failed
    // read of a hostPath may be the hazard itself.
    const unknownOutcome = a.kind === 'write' && !r.ok && outcomeUnknown(String(r['error'] ?? ''));
    if ((a.kind !== 'write' && a.kind !== 'read') || (a.kind === 'write' && !r.ok && !unknownOutcome)) return;
    const pod = this.store.get('Pod', a.namespace, a.pod) as Pod | undefined;
    if (!pod) return;
    const at = volumeAt(pod, a.container, a.path);
    if (!at) return;
    const node = pod.spec?.nodeName ?? '';
    if (at.volume.hostPath) {
      const file = joinPath(at.volume.hostPath.path, at.inside);
      if (a.kind === 'write') this.hostPathWrites.set(file, node);
      else {
        const writtenOn = this.hostPathWrites.get(file);
        if (writtenOn && writtenOn !== node && !this.warned.has(`${file}/${node}`)) {
          this.warned.add(`${file}/${node}`);
          this.warnings.push({
            warning: 'hostpath-elsewhere',
            atMs: r.atMs,
            message: `pod ${a.namespace}/${a.pod} reads hostPath ${file} on ${node}, but it was written on ${writtenOn}: each node has its own copy`,
            objects: [`Pod/${a.namespace}/${a.pod}`],
          });
        }
      }
      return;
    }
    if (a.kind !== 'write' || !at.volume.persistentVolumeClaim) return;
    const claimName = at.volume.persistentVolumeClaim.claimName;
    const claim = this.store.get('PersistentVolumeClaim', a.namespace, claimName);
    if (!claim) return;
    const key = `${a.namespace}/${claimName}/${at.inside}`;
    const prev = this.written.get(key);
    const pv = claim.spec?.volumeName ? this.store.get('PersistentVolume', undefined, claim.spec.volumeName) : undefined;
    const sameCopy = prev && prev.claimUid === claim.metadata.uid && prev.node === node;
    // Which file on the node's disk a hostPath PV's write lands in, and who else wrote it.
    const hostFile = pv?.spec?.hostPath ? `${node}:${joinPath(pv.spec.hostPath.path, at.inside)}` : undefined;
    if (hostFile) {
      const writers = this.hostFileWriters.get(hostFile) ?? new Set<string>();
      writers.add(`${a.namespace}/${claimName}`);
      this.hostFileWriters.set(hostFile, writers);
    }
    if (prev && prev.claimUid === claim.metadata.uid && prev.hostPath && prev.node !== node) {
      // The pod moved: it now writes another node's copy of the hostPath PV.
      this.warnings.push({
        warning: 'hostpath-elsewhere',
        atMs: r.atMs,
        message: `pod ${a.namespace}/${a.pod} writes ${at.inside} through claim ${a.namespace}/${claimName} on ${node}, but earlier writes went to ${prev.node}: each node has its own copy of hostPath volume ${pv?.metadata.name ?? ''}`,
        objects: [`PersistentVolumeClaim/${a.namespace}/${claimName}`],
      });
      if (a.append) {
        // What this node's copy held before is unknown: nothing to check for this file.
        this.written.delete(key);
        return;
      }
    }
    // An append after a wipe of that copy starts a new file.
    const wipedSince = prev && prev.nodeLocal && this.wipes().some((x) => x.node === prev.node && x.atMs >= prev.atMs);
    const builds = a.append && prev && sameCopy && !wipedSince;
    const data = builds ? prev.data + a.data : a.data;
    // What else the file may hold: an append builds on every content the file may have had.
    let also = builds ? (prev.also ?? []).map((x) => x + a.data) : [];
    if (builds && prev.mayBeAbsent) also.push(a.data);
    let mayBeAbsent = false;
    if (unknownOutcome) {
      // Maybe it never happened: the file holds what it held before, or nothing.
      if (prev && sameCopy && !wipedSince) also = [...also, prev.data, ...(prev.also ?? [])];
      mayBeAbsent = !prev || !sameCopy || !!wipedSince || !!prev.mayBeAbsent;
    }
    const spec = pv?.spec;
    const nodeLocal = !!spec && (!!spec.hostPath || !!spec.local || (!!spec.csi && NODE_LOCAL_DRIVERS.has(spec.csi.driver)));
    this.written.set(key, {
      namespace: a.namespace, claim: claimName, claimUid: claim.metadata.uid!, path: at.inside, data, atMs: r.atMs, node, hostPath: !!spec?.hostPath,
      nodeLocal, pvName: pv?.metadata.name, reclaimPolicy: spec?.persistentVolumeReclaimPolicy, ...(hostFile ? { hostFile } : {}),
      ...(also.length > 0 ? { also: [...new Set(also)].filter((x) => x !== data) } : {}), ...(mayBeAbsent ? { mayBeAbsent } : {}),
    });
  }

  /** The wipe of the write's node after it, when the write went to node-local storage. */
  private wipedAfter(w: Written): Wipe | undefined {
    if (!w.nodeLocal) return undefined;
    return this.wipes().find((x) => x.node === w.node && x.atMs >= w.atMs);
  }

  /** Why the run destroyed a written file on purpose, or undefined when it did not. */
  private destroyedOnPurpose(w: Written): string | undefined {
    const wipe = this.wipedAfter(w);
    if (wipe) return `${w.node}'s disk was wiped at ${wipe.atMs}ms`;
    const claim = this.store.get('PersistentVolumeClaim', w.namespace, w.claim);
    if (claim && claim.metadata.uid === w.claimUid && !claim.metadata.deletionTimestamp) return undefined;
    if (!w.pvName) return undefined;
    const pv = this.store.get('PersistentVolume', undefined, w.pvName);
    const policy = pv?.spec?.persistentVolumeReclaimPolicy ?? w.reclaimPolicy;
    // Delete: the volume went with its PV. Recycle: its files were scrubbed once the PV let go of the claim.
    if (policy === 'Delete' && !pv) return `claim ${w.namespace}/${w.claim} was deleted and its volume ${w.pvName} (reclaim policy Delete) was deleted with it`;
    if (policy === 'Recycle' && pv && pv.spec?.claimRef?.uid !== w.claimUid) return `claim ${w.namespace}/${w.claim} was deleted and its volume ${w.pvName} (reclaim policy Recycle) was scrubbed`;
    return undefined;
  }

  /**
   * Reports every acknowledged write the run destroyed on purpose as an `expected-data-loss`
   * warning (once, at the end of the run); checks() then leaves those files alone.
   */
  reportExpectedLosses(atMs: number): void {
    for (const w of this.sortedWrites()) {
      const why = this.destroyedOnPurpose(w);
      if (!why) continue;
      this.warnings.push({
        warning: 'expected-data-loss',
        atMs,
        message: `${w.path} written through claim ${w.namespace}/${w.claim} on ${w.node} at ${w.atMs}ms (${JSON.stringify(w.data)}) is gone on purpose: ${why}`,
        objects: [`PersistentVolumeClaim/${w.namespace}/${w.claim}`],
      });
    }
  }

  private sortedWrites(): Written[] {
    return [...this.written.values()].sort((a, b) => (a.claim + a.path < b.claim + b.path ? -1 : 1));
  }

  /**
   * The reads to make at the end: one per written file whose claim still exists (same uid)
   * and is mounted by a running pod, and whose node-local storage was not wiped since. Files of
   * deleted claims are either kept by a Retain volume or destroyed on purpose.
   */
  checks(): ReadBack[] {
    const out: ReadBack[] = [];
    for (const w of this.sortedWrites()) {
      const claim = this.store.get('PersistentVolumeClaim', w.namespace, w.claim);
      if (!claim || claim.metadata.uid !== w.claimUid || claim.metadata.deletionTimestamp) continue;
      if (this.wipedAfter(w)) continue;
      for (const pod of this.store.list('Pod', w.namespace) as Pod[]) {
        if (pod.status?.phase !== 'Running' || pod.metadata!.deletionTimestamp) continue;
        const vol = (pod.spec?.volumes ?? []).find((v) => v.persistentVolumeClaim?.claimName === w.claim);
        if (!vol) continue;
        for (const c of pod.spec?.containers ?? []) {
          const m = (c.volumeMounts ?? []).find((x) => x.name === vol.name && !x.subPath);
          if (!m) continue;
          out.push({ pod: pod.metadata!.name!, namespace: w.namespace, container: c.name, path: joinPath(m.mountPath, w.path), node: pod.spec?.nodeName ?? '', want: w });
          break;
        }
        break;
      }
    }
    return out;
  }

  /**
   * The verdict on one read-back: nothing when the data is there; a hostpath-elsewhere warning
   * when a hostPath PV's data was written on another node than the reader's (Kubernetes allows
   * that: each node has its own copy); a no-data-loss violation otherwise.
   */
  verdict(c: ReadBack, got: ActionResult, atMs: number): Violation | undefined {
    if (got.ok && got['data'] === c.want.data) return undefined;
    // A write of unknown outcome may have happened or not.
    if (got.ok && c.want.also?.includes(String(got['data']))) return undefined;
    if (!got.ok && c.want.mayBeAbsent && got['error'] === 'No such file or directory') return undefined;
    const seen = got.ok ? JSON.stringify(got['data']) : String(got['error']);
    const writers = c.want.hostFile ? this.hostFileWriters.get(c.want.hostFile) : undefined;
    if (writers && writers.size > 1) {
      const others = [...writers].filter((w) => w !== `${c.namespace}/${c.want.claim}`).sort();
      this.warnings.push({
        warning: 'hostpath-shared',
        atMs,
        message: `${c.want.path} written through claim ${c.namespace}/${c.want.claim} on ${c.want.node} is the file ${c.want.hostFile!.slice(c.want.node.length + 1)} that claim ${others.join(' and ')} also wrote there (their hostPath volumes name the same directory): it reads back as ${seen}`,
        objects: [`PersistentVolumeClaim/${c.namespace}/${c.want.claim}`],
      });
      return undefined;
    }
    if (c.want.hostPath && c.node !== c.want.node) {
      this.warnings.push({
        warning: 'hostpath-elsewhere',
        atMs,
        message: `${c.want.path} was written through claim ${c.namespace}/${c.want.claim} on ${c.want.node}; pod ${c.pod} on ${c.node} reads that node's own copy (${seen})`,
        objects: [`PersistentVolumeClaim/${c.namespace}/${c.want.claim}`],
      });
      return undefined;
    }
    return {
      invariant: 'no-data-loss',
      atMs,
      message: `${c.want.path} written through claim ${c.namespace}/${c.want.claim} at ${c.want.atMs}ms (${JSON.stringify(c.want.data)}) reads back as ${seen} from pod ${c.pod}`,
      objects: [`PersistentVolumeClaim/${c.namespace}/${c.want.claim}`],
    };
  }
}
