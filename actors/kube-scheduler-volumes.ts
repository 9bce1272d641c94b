/**
 * kube-scheduler's volume plugins, as pure functions over the scheduler's caches:
 * VolumeBinding (pkg/scheduler/framework/plugins/volumebinding: PreFilter, Filter, and the
 * decisions of PreBind), VolumeRestrictions (ReadWriteOncePod) and the PV node-affinity check.
 * Texts from volume_binding.go / binder.go / volume_restrictions.go (k8s-semantics §5).
 */
import type { Node, PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import type { Cache } from '../src/informer.ts';
import { matchesNodeSelector } from '../src/model/selectors.ts';
import { NO_PROVISIONER } from '../backends/registry.ts';

export const ERR_UNBOUND_IMMEDIATE = 'pod has unbound immediate PersistentVolumeClaims';
export const ERR_NODE_CONFLICT = 'node(s) had volume node affinity conflict';
export const ERR_BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind";
export const ERR_RWOP_CONFLICT = 'node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode';

export interface VolumeMatcher {
  /** FindMatchingVolume for a delayed-binding claim on `node` (Available PVs only). */
  findMatch(claim: PersistentVolumeClaim, opts: { node: { name: string; labels: Record<string, string> } }): PersistentVolume | undefined;
}

/** findMatch of one claim, node by node (VolumeIndex.matcherFor); undefined: no volume on any node. */
export type NodeMatcher = ((node: { name: string; labels: Record<string, string> }) => PersistentVolume | undefined) | undefined;

export interface ClaimInfo {
  name: string;
  claim: PersistentVolumeClaim;
  /** Bound claims: their PV. */
  pv?: PersistentVolume;
  /** Unbound WaitForFirstConsumer claims. */
  delayed: boolean;
  cls?: StorageClass;
  /** Unbound delayed claims: findMatch prepared once for every node of a scheduling attempt. */
  match?: NodeMatcher;
}

function claimClass(c: PersistentVolumeClaim): string {
  return c.metadata?.annotations?.['volume.beta.kubernetes.io/storage-class'] ?? c.spec?.storageClassName ?? '';
}

/** PreFilter: the pod's claims, or the unschedulable-and-unresolvable message. */
export function preFilterVolumes(pod: Pod, cache: Cache): { claims: ClaimInfo[] } | { error: string } {
  const ns = pod.metadata!.namespace!;
  const claims: ClaimInfo[] = [];
  let unboundImmediate = false;
  for (const v of pod.spec?.volumes ?? []) {
    const name = v.persistentVolumeClaim?.claimName;
    if (!name) continue;
    const claim = cache.get<PersistentVolumeClaim>('PersistentVolumeClaim', ns, name);
    if (!claim) return { error: `persistentvolumeclaim "${name}" not found` };
    if (claim.metadata?.deletionTimestamp) return { error: `persistentvolumeclaim "${name}" is being deleted` };
    const volumeName = claim.spec?.volumeName;
    if (volumeName) {
      const pv = cache.get<PersistentVolume>('PersistentVolume', undefined, volumeName);
      claims.push({ name, claim, delayed: false, ...(pv ? { pv } : {}) });
      continue;
    }
    const cls = cache.get<StorageClass>('StorageClass', undefined, claimClass(claim));
    const delayed = cls?.volumeBindingMode === 'WaitForFirstConsumer';
    if (!delayed) unboundImmediate = true;
    claims.push({ name, claim, delayed, ...(cls ? { cls } : {}) });
  }
  if (unboundImmediate) return { error: ERR_UNBOUND_IMMEDIATE };
  return { claims };
}

/** VolumeRestrictions PreFilter: a ReadWriteOncePod claim already used by another pod. */
export function rwopConflict(pod: Pod, claims: ClaimInfo[], cache: Cache, assumedNode: (p: Pod) => string | undefined): boolean {
  const rwop = claims.filter((c) => (c.claim.spec?.accessModes ?? []).includes('ReadWriteOncePod')).map((c) => c.name);
  if (rwop.length === 0) return false;
  for (const other of cache.list<Pod>('Pod', pod.metadata!.namespace)) {
    if (other.metadata!.uid === pod.metadata!.uid) continue;
    if (!(other.spec?.nodeName || assumedNode(other))) continue;
    const phase = other.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    if ((other.spec?.volumes ?? []).some((v) => v.persistentVolumeClaim && rwop.includes(v.persistentVolumeClaim.claimName))) return true;
  }
  return false;
}

export function pvFitsNode(pv: PersistentVolume, node: Node): boolean {
  const req = pv.spec?.nodeAffinity?.required;
  return !req || matchesNodeSelector(req, node.metadata!.name!, node.metadata?.labels ?? {});
}

/** What PreBind will do for one unbound delayed claim on the chosen node. */
export type Decision = { claim: string; bindTo: PersistentVolume } | { claim: string; provision: true };

/**
 * Filter for one node: undefined and the decisions when every claim can be satisfied here.
 * `ignoreBoundAffinity` is --bug scheduler-ignore-volume-affinity.
 */
export function filterVolumes(claims: ClaimInfo[], node: Node, matcher: VolumeMatcher, ignoreBoundAffinity = false): { reason: string } | { decisions: Decision[] } {
  const decisions: Decision[] = [];
  let taken: Set<string> | undefined;
  let nodeRef: { name: string; labels: Record<string, string> } | undefined;
  for (const c of claims) {
    if (c.pv) {
      // BUG (--bug scheduler-ignore-volume-affinity): the bound PV's node affinity goes unchecked.
      if (!ignoreBoundAffinity && !pvFitsNode(c.pv, node)) return { reason: ERR_NODE_CONFLICT };
      continue;
    }
    if (!c.delayed) continue;
    nodeRef ??= { name: node.metadata!.name!, labels: node.metadata?.labels ?? {} };
    const pv = 'match' in c ? c.match?.(nodeRef) : matcher.findMatch(c.claim, { node: nodeRef });
    if (pv && !(taken ??= new Set()).has(pv.metadata!.name!)) {
      taken.add(pv.metadata!.name!);
      decisions.push({ claim: c.name, bindTo: pv });
      continue;
    }
    const provisioner = c.cls?.provisioner ?? '';
    if (!provisioner || provisioner === NO_PROVISIONER) return { reason: ERR_BIND_CONFLICT };
    decisions.push({ claim: c.name, provision: true });
  }
  return { decisions };
}
