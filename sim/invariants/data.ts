/**
 * Data the user wrote (SPEC §6):
 * - no-data-loss: an acknowledged write through a claim stays readable through that claim,
 *   unless the run destroyed that storage on purpose (the claim deleted with its volume, a disk
 *   wipe). Writes are recorded as kubectl reports them; at the end each surviving claim is read
 *   back through a running pod that mounts it, the way a user would check.
 * - hostpath-elsewhere (a warning): a pod reads an inline hostPath volume on another node than
 *   the one its data was written on — it sees that node's files, not the ones written.
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
}

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
  private readonly warned = new Set<string>();

  constructor(private readonly store: ObjectStore) {}

  /** Called with each kubectl result as it arrives. */
  observe(a: Action, r: ActionResult): void {
    // A failed write stored nothing; a failed read of a hostPath may be the hazard itself.
    if ((a.kind !== 'write' && a.kind !== 'read') || (a.kind === 'write' && !r.ok)) return;
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
    const data = a.append && prev && sameCopy ? prev.data + a.data : a.data;
    this.written.set(key, { namespace: a.namespace, claim: claimName, claimUid: claim.metadata.uid!, path: at.inside, data, atMs: r.atMs, node, hostPath: !!pv?.spec?.hostPath });
  }

  /**
   * The reads to make at the end: one per written file whose claim still exists (same uid)
   * and is mounted by a running pod. Files of deleted claims were destroyed on purpose.
   */
  checks(): ReadBack[] {
    const out: ReadBack[] = [];
    for (const w of [...this.written.values()].sort((a, b) => (a.claim + a.path < b.claim + b.path ? -1 : 1))) {
      const claim = this.store.get('PersistentVolumeClaim', w.namespace, w.claim);
      if (!claim || claim.metadata.uid !== w.claimUid || claim.metadata.deletionTimestamp) continue;
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
    const seen = got.ok ? JSON.stringify(got['data']) : String(got['error']);
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
