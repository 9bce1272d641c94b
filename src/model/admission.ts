/**
 * The mutating and validating admission plugins of kube-apiserver v1.30 that matter for
 * stateful workloads, as pure functions over the incoming object and what the server holds.
 * The API server calls them in admission order (after defaulting, before validation).
 *
 *   defaultTolerationSeconds  plugin/pkg/admission/defaulttolerationseconds/admission.go
 *   defaultStorageClass       plugin/pkg/admission/storage/storageclass/setdefault/admission.go
 *                             with pkg/volume/util/storageclass.go GetDefaultClass
 *   addProtectionFinalizers   plugin/pkg/admission/storage/storageobjectinuseprotection/admission.go
 *   checkPvcResize            plugin/pkg/admission/storage/persistentvolume/resize/admission.go
 */
import type { KObject } from '../protocol.ts';
import { parseQuantity } from '../quantity.ts';
import { MAX_OBJECTS } from '../scenario/limits.ts';

type Obj = Record<string, any>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

/** The not-ready/unreachable toleration a pod gets (--default-not-ready-toleration-seconds=300). */
export const DEFAULT_TOLERATION_SECONDS = 300;
export const TAINT_NODE_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_NODE_UNREACHABLE = 'node.kubernetes.io/unreachable';

/**
 * DefaultTolerationSeconds: a pod that does not tolerate the not-ready (unreachable)
 * NoExecute taint, by key or by an empty key, with effect NoExecute or any effect, gets
 * `{key, operator: Exists, effect: NoExecute, tolerationSeconds: 300}` appended.
 */
export function defaultTolerationSeconds(pod: KObject, secs: { notReady?: number; unreachable?: number } = {}): void {
  const spec: Obj = (pod.spec ??= {});
  const tolerations: Obj[] = Array.isArray(spec.tolerations) ? spec.tolerations : [];
  const tolerates = (key: string): boolean =>
    tolerations.some((t) => isObj(t) && (t.key === key || !t.key) && (t.effect === 'NoExecute' || !t.effect));
  const add: Obj[] = [];
  const seconds: [string, number][] = [
    [TAINT_NODE_NOT_READY, secs.notReady ?? DEFAULT_TOLERATION_SECONDS],
    [TAINT_NODE_UNREACHABLE, secs.unreachable ?? DEFAULT_TOLERATION_SECONDS],
  ];
  for (const [key, s] of seconds) if (!tolerates(key)) add.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: s });
  if (add.length) spec.tolerations = [...tolerations, ...add];
}

export const IS_DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';
export const BETA_IS_DEFAULT_CLASS_ANNOTATION = 'storageclass.beta.kubernetes.io/is-default-class';
export const BETA_STORAGE_CLASS_ANNOTATION = 'volume.beta.kubernetes.io/storage-class';

/** IsDefaultAnnotation: either key set to exactly "true". */
export function isDefaultClass(sc: KObject): boolean {
  const a = sc.metadata?.annotations ?? {};
  return a[IS_DEFAULT_CLASS_ANNOTATION] === 'true' || a[BETA_IS_DEFAULT_CLASS_ANNOTATION] === 'true';
}

/**
 * GetDefaultClass (v1.30): among the classes marked default, the newest by creationTimestamp,
 * ties broken by the name that sorts first; undefined when none is marked.
 */
export function defaultClassOf(classes: readonly KObject[]): KObject | undefined {
  const time = (c: KObject): number => {
    const t = c.metadata?.creationTimestamp ? Date.parse(String(c.metadata.creationTimestamp)) : 0;
    return Number.isNaN(t) ? 0 : t;
  };
  const defaults = classes.filter(isDefaultClass).sort((a, b) => {
    const ta = time(a);
    const tb = time(b);
    if (ta !== tb) return tb - ta;
    const na = a.metadata?.name ?? '';
    const nb = b.metadata?.name ?? '';
    return na < nb ? -1 : na > nb ? 1 : 0;
  });
  return defaults[0];
}

/**
 * DefaultStorageClass: a claim with no class (storageClassName absent and no beta
 * storage-class annotation) gets the default class's name; an explicit "" is a choice of "no
 * class" and stays.
 */
export function defaultStorageClass(pvc: KObject, classes: KObject[]): void {
  const spec: Obj = (pvc.spec ??= {});
  const hasClass = (pvc.metadata?.annotations ?? {})[BETA_STORAGE_CLASS_ANNOTATION] !== undefined || (spec.storageClassName !== undefined && spec.storageClassName !== null);
  if (hasClass) return;
  const def = defaultClassOf(classes);
  if (def?.metadata?.name) spec.storageClassName = def.metadata.name;
}

export const PVC_PROTECTION_FINALIZER = 'kubernetes.io/pvc-protection';
export const PV_PROTECTION_FINALIZER = 'kubernetes.io/pv-protection';

/** StorageObjectInUseProtection (on create): the protection finalizer, once. */
export function addProtectionFinalizers(obj: KObject): void {
  const f = obj.kind === 'PersistentVolumeClaim' ? PVC_PROTECTION_FINALIZER : obj.kind === 'PersistentVolume' ? PV_PROTECTION_FINALIZER : undefined;
  if (!f) return;
  obj.metadata ??= {};
  const list = obj.metadata.finalizers ?? [];
  if (!list.includes(f)) obj.metadata.finalizers = [...list, f];
}

/** GetPersistentVolumeClaimClass: the beta annotation wins over spec.storageClassName. */
function claimClass(pvc: KObject): string {
  const ann = (pvc.metadata?.annotations ?? {})[BETA_STORAGE_CLASS_ANNOTATION];
  if (ann !== undefined) return ann;
  return typeof pvc.spec?.storageClassName === 'string' ? pvc.spec.storageClassName : '';
}

function storageOf(pvc: KObject): number {
  const q = parseQuantity(pvc.spec?.resources?.requests?.storage ?? 0);
  return typeof q === 'number' ? q : 0;
}

/**
 * PersistentVolumeClaimResize: growing a claim's storage request needs a Bound claim whose class
 * (the same before and after) has allowVolumeExpansion: true. Returns the reason of the 403
 * (the caller prefixes `persistentvolumeclaims "<name>" is forbidden: `), undefined when the
 * update may proceed (including any update that does not grow the request).
 */
export function checkPvcResize(oldPvc: KObject, newPvc: KObject, cls: KObject | undefined): string | undefined {
  if (storageOf(newPvc) <= storageOf(oldPvc)) return undefined;
  if (oldPvc.status?.phase !== 'Bound') return 'Only bound persistent volume claims can be expanded';
  const a = claimClass(newPvc);
  const b = claimClass(oldPvc);
  const allowed = a !== '' && b !== '' && a === b && cls !== undefined && cls.metadata?.name === a && cls.allowVolumeExpansion === true;
  if (!allowed) return 'only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Service ClusterIP allocation (pkg/registry/core/service/ipallocator, storage/alloc.go)

/** kubeadm's default --service-cluster-ip-range. */
export const SERVICE_CIDR = '10.96.0.0/12';
/** The ClusterIPs of the cluster's own Services: kubernetes (the range's first) and kube-dns (kubeadm's .10). */
export const BOOTSTRAP_CLUSTER_IPS: readonly string[] = ['10.96.0.1', '10.96.0.10'];
const SERVICE_NET_BASE = (10 << 24) | (96 << 16);
const SERVICE_NET_BITS = 12;

function ipv4ToInt(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/**
 * The allocator's answer for a Service that asks for a ClusterIP: undefined when `ip` can be
 * allocated, else the 422 field error text of alloc.go (`failed to allocate IP 10.96.0.10:
 * provided IP is already allocated`, or outside the range: `the provided IP (1.2.3.4) is not in
 * the valid range. The range of valid IPs is 10.96.0.0/12`). The network and broadcast
 * addresses of the range are not in it either.
 */
export function clusterIPAllocationProblem(ip: string, used: ReadonlySet<string>): string | undefined {
  const n = ipv4ToInt(ip);
  if (n === undefined) return undefined; // validation reports a malformed IP
  const size = 2 ** (32 - SERVICE_NET_BITS);
  const offset = n - (SERVICE_NET_BASE >>> 0);
  if (offset <= 0 || offset >= size - 1) return `failed to allocate IP ${ip}: the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${SERVICE_CIDR}`;
  if (used.has(ip)) return `failed to allocate IP ${ip}: provided IP is already allocated`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// ksim's own limits (src/scenario/limits.ts, docs/input.md)


/**
 * What ksim cannot simulate though Kubernetes would accept it: a StatefulSet asking for more
 * replicas than the most objects of a kind a run holds. Worded like a validation error.
 */
export function ksimObjectLimits(obj: KObject): { path: string; message: string }[] {
  if (obj.kind === 'StatefulSet') {
    const r = obj.spec?.replicas;
    if (typeof r === 'number' && r > MAX_OBJECTS) {
      return [{ path: 'spec.replicas', message: `Invalid value: ${r}: must be no more than ${MAX_OBJECTS} (the most pods ksim simulates in one run, docs/input.md)` }];
    }
  }
  return [];
}
