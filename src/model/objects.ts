/** Small, pure helpers over Kubernetes objects shared by several actors. */
import type { Pod, PodCondition } from 'kubernetes-types/core/v1.js';
import type { KObject } from '../protocol.ts';

/**
 * Copies a plain JSON value (what every stored object is). Several times faster than
 * structuredClone on the small objects the API server copies on every write.
 */
export function deepCopy<T>(x: T): T {
  if (x === null || typeof x !== 'object') return x;
  if (Array.isArray(x)) {
    const out = new Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      out[i] = v !== null && typeof v === 'object' ? deepCopy(v) : v;
    }
    return out as T;
  }
  // Leaves are copied inline: most values are strings and numbers, and a call per leaf was
  // most of the cost.
  const out: Record<string, unknown> = {};
  for (const k in x) {
    const v = (x as Record<string, unknown>)[k];
    const c = v !== null && typeof v === 'object' ? deepCopy(v) : v;
    // An own `__proto__` key (a map key the user wrote) stays a key: assigning it would
    // replace the copy's prototype instead.
    if (k === '__proto__') Object.defineProperty(out, k, { value: c, writable: true, enumerable: true, configurable: true });
    else out[k] = c;
  }
  return out as T;
}

/** podutil.IsPodReady: the Ready condition is True. */
export function isPodReady(pod: Pod | KObject): boolean {
  const conds: PodCondition[] | undefined = (pod as Pod).status?.conditions;
  if (!conds) return false;
  for (let i = 0; i < conds.length; i++) if (conds[i]!.type === 'Ready' && conds[i]!.status === 'True') return true;
  return false;
}

export function podPhase(pod: Pod | KObject): string {
  return (pod as Pod).status?.phase ?? 'Pending';
}

export function isTerminating(obj: KObject | Pod): boolean {
  return !!obj.metadata?.deletionTimestamp;
}

export function getCondition(pod: Pod | KObject, type: string): PodCondition | undefined {
  return ((pod as Pod).status?.conditions ?? []).find((c) => c.type === type);
}

/** Compares two strings by code unit (never by locale): the order every listing here is in. */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Compares two objects by (namespace, name): the order controllers iterate in. */
export function byNamespaceName(a: { metadata: { namespace?: string; name?: string } }, b: { metadata: { namespace?: string; name?: string } }): number {
  const an = a.metadata.namespace ?? '';
  const bn = b.metadata.namespace ?? '';
  if (an !== bn) return an < bn ? -1 : 1;
  return cmp(a.metadata.name ?? '', b.metadata.name ?? '');
}

/** The controller ownerReference of an object, if any. */
export function controllerOf(obj: KObject): { kind: string; name: string; uid: string } | undefined {
  const ref = (obj.metadata.ownerReferences ?? []).find((r) => r.controller);
  return ref ? { kind: ref.kind, name: ref.name, uid: ref.uid } : undefined;
}

/** Kinds that live in a namespace (everything modelled but Namespace, Node, PV, StorageClass). */
const CLUSTER_SCOPED = new Set(['Namespace', 'Node', 'PersistentVolume', 'StorageClass', 'VolumeAttachment', 'CSIDriver']);
export function isNamespaced(kind: string): boolean {
  return !CLUSTER_SCOPED.has(kind);
}

/** The lowercase plural resource name and API group kubectl shows for a kind. */
export const RESOURCES: Record<string, { plural: string; group: string; apiVersion: string }> = {
  Namespace: { plural: 'namespaces', group: '', apiVersion: 'v1' },
  Node: { plural: 'nodes', group: '', apiVersion: 'v1' },
  Pod: { plural: 'pods', group: '', apiVersion: 'v1' },
  Service: { plural: 'services', group: '', apiVersion: 'v1' },
  PersistentVolume: { plural: 'persistentvolumes', group: '', apiVersion: 'v1' },
  PersistentVolumeClaim: { plural: 'persistentvolumeclaims', group: '', apiVersion: 'v1' },
  Event: { plural: 'events', group: '', apiVersion: 'v1' },
  StatefulSet: { plural: 'statefulsets', group: 'apps', apiVersion: 'apps/v1' },
  ControllerRevision: { plural: 'controllerrevisions', group: 'apps', apiVersion: 'apps/v1' },
  StorageClass: { plural: 'storageclasses', group: 'storage.k8s.io', apiVersion: 'storage.k8s.io/v1' },
  VolumeAttachment: { plural: 'volumeattachments', group: 'storage.k8s.io', apiVersion: 'storage.k8s.io/v1' },
  CSIDriver: { plural: 'csidrivers', group: 'storage.k8s.io', apiVersion: 'storage.k8s.io/v1' },
  EndpointSlice: { plural: 'endpointslices', group: 'discovery.k8s.io', apiVersion: 'discovery.k8s.io/v1' },
  Lease: { plural: 'leases', group: 'coordination.k8s.io', apiVersion: 'coordination.k8s.io/v1' },
};

/** `pods "web-0"` / `statefulsets.apps "web"`: how API errors name an object. */
export function qualifiedResource(kind: string): string {
  const r = RESOURCES[kind];
  if (!r) return kind.toLowerCase();
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}
