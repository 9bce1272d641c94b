/**
 * Pure helpers of the StatefulSet controller: names and ordinals, pod identity, revision hashes,
 * construction of pods and claims from the set, the claim retention policy and the status
 * arithmetic. Nothing here talks to the bus or keeps state.
 *
 * Follows pkg/controller/statefulset/stateful_set_utils.go (v1.30), with the revision naming of
 * pkg/controller/history/controller_history.go and the hash encoding of
 * k8s.io/apimachinery/pkg/util/rand.SafeEncodeString.
 */
import type { PersistentVolumeClaim, Pod, Volume } from 'kubernetes-types/core/v1.js';
import type { StatefulSet, StatefulSetStatus } from 'kubernetes-types/apps/v1.js';
import type { ObjectMeta, OwnerReference } from 'kubernetes-types/meta/v1.js';
import { deepCopy, isPodReady } from '../../src/model/objects.ts';

/** A StatefulSet as read from the cache: metadata and spec are always there. */
export type Sts = StatefulSet & { metadata: ObjectMeta; spec: NonNullable<StatefulSet['spec']> };
/** A Pod as read from the cache (or built by the controller). */
export type PodObj = Pod & { metadata: ObjectMeta };
export type ClaimObj = PersistentVolumeClaim & { metadata: ObjectMeta };

// Label keys (k8s.io/api/apps/v1/types.go).
export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const REVISION_LABEL = 'controller-revision-hash';
// apps.PodIndexLabel, set by updateIdentity when the PodIndexLabel gate is on (beta, on by default since v1.28).
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

// ---------------------------------------------------------------------------------------------
// Keys of the work queue (controller.KeyFunc, cache.SplitMetaNamespaceKey)

export function setKeyOf(ns: string | undefined, name: string): string {
  return `${ns ?? ''}/${name}`;
}

export function splitKey(key: string): { ns: string; name: string } {
  const i = key.indexOf('/');
  return { ns: key.slice(0, i), name: key.slice(i + 1) };
}

// ---------------------------------------------------------------------------------------------
// Names and ordinals

const statefulPodRegex = /(.*)-([0-9]+)$/;

/**
 * Parsed names, a pure bounded cache: a sync looks at every pod of its set, so each name is
 * parsed again on every pod event of a big set (room for the pods of the largest scale runs).
 */
const parsedNames = new Map<string, Readonly<{ parent: string; ordinal: number }>>();
const PARSED_NAMES_MAX = 1 << 18;

/** getParentNameAndOrdinal: a name that does not parse (or overflows int32) has ordinal -1. */
export function parentAndOrdinal(podName: string): Readonly<{ parent: string; ordinal: number }> {
  let parsed = parsedNames.get(podName);
  if (parsed === undefined) {
    const m = statefulPodRegex.exec(podName);
    const n = m ? Number(m[2]) : -1;
    // strconv.ParseInt(s, 10, 32) fails past int32: the parent is kept, the ordinal is -1.
    parsed = m ? { parent: m[1]!, ordinal: Number.isSafeInteger(n) && n <= 2147483647 ? n : -1 } : { parent: '', ordinal: -1 };
    if (parsedNames.size >= PARSED_NAMES_MAX) parsedNames.clear();
    parsedNames.set(podName, parsed);
  }
  return parsed;
}

export function getOrdinal(pod: PodObj): number {
  return parentAndOrdinal(pod.metadata.name ?? '').ordinal;
}

export function podName(set: Sts, ordinal: number): string {
  return `${set.metadata.name}-${ordinal}`;
}

/** getPersistentVolumeClaimName: `<template>-<set>-<ordinal>`. */
export function claimName(set: Sts, templateName: string, ordinal: number): string {
  return `${templateName}-${set.metadata.name}-${ordinal}`;
}

/** spec.replicas defaults to 1 (pkg/apis/apps/v1/defaults.go SetDefaults_StatefulSet). */
export function specReplicas(set: Sts): number {
  return set.spec.replicas ?? 1;
}

/** getStartOrdinal: spec.ordinals.start, else 0. */
export function startOrdinal(set: Sts): number {
  return set.spec.ordinals?.start ?? 0;
}

/** getEndOrdinal (inclusive). */
export function endOrdinal(set: Sts): number {
  return startOrdinal(set) + specReplicas(set) - 1;
}

export function podInOrdinalRange(pod: PodObj, set: Sts): boolean {
  const o = getOrdinal(pod);
  return o >= startOrdinal(set) && o <= endOrdinal(set);
}

export function isMemberOf(set: Sts, pod: PodObj): boolean {
  return parentAndOrdinal(pod.metadata.name ?? '').parent === set.metadata.name;
}

// ---------------------------------------------------------------------------------------------
// Pod state

export function phaseOf(pod: PodObj): string {
  return pod.status?.phase ?? '';
}
/** isCreated: the API server has given the pod a phase. */
export function isCreated(pod: PodObj): boolean {
  return phaseOf(pod) !== '';
}
export function isPending(pod: PodObj): boolean {
  return phaseOf(pod) === 'Pending';
}
export function isFailed(pod: PodObj): boolean {
  return phaseOf(pod) === 'Failed';
}
export function isSucceeded(pod: PodObj): boolean {
  return phaseOf(pod) === 'Succeeded';
}
export function isTerminating(pod: PodObj): boolean {
  return !!pod.metadata.deletionTimestamp;
}
export function isRunningAndReady(pod: PodObj): boolean {
  return phaseOf(pod) === 'Running' && isPodReady(pod);
}
export function isHealthy(pod: PodObj): boolean {
  return isRunningAndReady(pod) && !isTerminating(pod);
}

/**
 * podutil.IsPodAvailable: Ready, and Ready since more than minReadySeconds. `nowEpochMs` is the
 * simulated wall time; the Ready condition's lastTransitionTime has seconds precision.
 */
export function isRunningAndAvailable(pod: PodObj, minReadySeconds: number, nowEpochMs: number): boolean {
  if (!isPodReady(pod)) return false;
  if (minReadySeconds === 0) return true;
  const c = (pod.status?.conditions ?? []).find((x) => x.type === 'Ready');
  if (!c?.lastTransitionTime) return false;
  return Date.parse(c.lastTransitionTime) + minReadySeconds * 1000 < nowEpochMs;
}

/** isUnavailable: not healthy, or not available yet. */
export function isUnavailable(pod: PodObj, minReadySeconds: number, nowEpochMs: number): boolean {
  return !isHealthy(pod) || !isRunningAndAvailable(pod, minReadySeconds, nowEpochMs);
}

/**
 * What a sync reads of a pod: the StatefulSet controller works them out once per pod object
 * (stored objects are never changed, src/protocol.ts: a new version is a new object; a pod the
 * controller builds is not changed once built), so that a sync of a large set reads fields
 * instead of re-deriving readiness, ordinal and owner from every pod each time. The predicates
 * above and below (isRunningAndReady, isUnavailable, countReplicas, ...) stay the reference; the
 * `facts*` functions answer the same from the facts (a test checks they agree).
 */
export interface PodFacts {
  readonly pod: PodObj;
  readonly uid: string | undefined;
  readonly namespace: string;
  /** getParentNameAndOrdinal of the name. */
  readonly parent: string;
  readonly ordinal: number;
  /** Whether the pod has a controller ownerReference, and that reference's uid. */
  readonly hasController: boolean;
  readonly controllerUid: string | undefined;
  /** status.phase, '' when absent (phaseOf). */
  readonly phase: string;
  /** isPodReady. */
  readonly ready: boolean;
  /** Date.parse of the first Ready condition's lastTransitionTime; NaN when it has none. */
  readonly readySinceEpochMs: number;
  readonly terminating: boolean;
  /** The controller-revision-hash label ('' when absent). */
  readonly revision: string;
}

export function podFacts(pod: PodObj): PodFacts {
  const { parent, ordinal } = parentAndOrdinal(pod.metadata.name ?? '');
  let hasController = false;
  let controllerUid: string | undefined;
  for (const r of pod.metadata.ownerReferences ?? []) {
    if (!r.controller) continue;
    hasController = true;
    controllerUid = r.uid;
    break;
  }
  const c = (pod.status?.conditions ?? []).find((x) => x.type === 'Ready');
  return {
    pod,
    uid: pod.metadata.uid,
    namespace: pod.metadata.namespace ?? '',
    parent,
    ordinal,
    hasController,
    controllerUid,
    phase: phaseOf(pod),
    ready: isPodReady(pod),
    readySinceEpochMs: c?.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN,
    terminating: isTerminating(pod),
    revision: getPodRevision(pod),
  };
}

/** isOwnedBy. */
export function factsOwnedBy(f: PodFacts, set: Sts): boolean {
  return f.hasController && f.controllerUid === set.metadata.uid;
}
/** isRunningAndReady. */
export function factsRunningAndReady(f: PodFacts): boolean {
  return f.phase === 'Running' && f.ready;
}
/** isRunningAndAvailable. */
export function factsAvailable(f: PodFacts, minReadySeconds: number, nowEpochMs: number): boolean {
  if (!f.ready) return false;
  if (minReadySeconds === 0) return true;
  // No lastTransitionTime (NaN) is never available, as in isRunningAndAvailable.
  return f.readySinceEpochMs + minReadySeconds * 1000 < nowEpochMs;
}
/** isUnavailable. */
export function factsUnavailable(f: PodFacts, minReadySeconds: number, nowEpochMs: number): boolean {
  return !(factsRunningAndReady(f) && !f.terminating) || !factsAvailable(f, minReadySeconds, nowEpochMs);
}

/** allowsBurst: podManagementPolicy Parallel. */
export function allowsBurst(set: Sts): boolean {
  return set.spec.podManagementPolicy === 'Parallel';
}

export function getPodRevision(pod: PodObj): string {
  return pod.metadata.labels?.[REVISION_LABEL] ?? '';
}

// ---------------------------------------------------------------------------------------------
// Identity and storage

/** identityMatches: name, namespace and the pod-name label agree with the set. */
export function identityMatches(set: Sts, pod: PodObj): boolean {
  const { parent, ordinal } = parentAndOrdinal(pod.metadata.name ?? '');
  return (
    ordinal >= 0 &&
    parent === set.metadata.name &&
    pod.metadata.name === podName(set, ordinal) &&
    (pod.metadata.namespace ?? '') === (set.metadata.namespace ?? '') &&
    pod.metadata.labels?.[POD_NAME_LABEL] === pod.metadata.name
  );
}

/** updateIdentity: name, namespace, pod-name and pod-index labels. */
export function updateIdentity(set: Sts, pod: PodObj): void {
  const ordinal = getOrdinal(pod);
  pod.metadata.name = podName(set, ordinal);
  if (set.metadata.namespace !== undefined) pod.metadata.namespace = set.metadata.namespace;
  const labels = (pod.metadata.labels ??= {});
  labels[POD_NAME_LABEL] = pod.metadata.name;
  labels[POD_INDEX_LABEL] = String(ordinal);
}

/** storageMatches: every volumeClaimTemplate is a volume using the pod's own claim. */
export function storageMatches(set: Sts, pod: PodObj): boolean {
  const ordinal = getOrdinal(pod);
  if (ordinal < 0) return false;
  const volumes = new Map<string, Volume>();
  for (const v of pod.spec?.volumes ?? []) volumes.set(v.name, v);
  for (const t of set.spec.volumeClaimTemplates ?? []) {
    const v = volumes.get(t.metadata?.name ?? '');
    if (!v?.persistentVolumeClaim || v.persistentVolumeClaim.claimName !== claimName(set, t.metadata?.name ?? '', ordinal)) return false;
  }
  return true;
}

/**
 * getPersistentVolumeClaims: one claim per template, named for the ordinal, labelled with the
 * template's labels plus the set's selector matchLabels. No ownerReferences: the retention
 * policy is applied afterwards by an update (UpdatePodClaimForRetentionPolicy).
 * Upstream returns a map (random order); here the order is the templates' order.
 */
export function persistentVolumeClaims(set: Sts, ordinal: number): { templateName: string; claim: ClaimObj }[] {
  const out: { templateName: string; claim: ClaimObj }[] = [];
  for (const t of set.spec.volumeClaimTemplates ?? []) {
    const templateName = t.metadata?.name ?? '';
    const c = deepCopy(t) as PersistentVolumeClaim;
    const meta: ObjectMeta = c.metadata ?? {};
    meta.name = claimName(set, templateName, ordinal);
    if (set.metadata.namespace !== undefined) meta.namespace = set.metadata.namespace;
    const matchLabels = set.spec.selector?.matchLabels;
    if (meta.labels) Object.assign(meta.labels, matchLabels ?? {});
    else if (matchLabels) meta.labels = { ...matchLabels };
    const claim: ClaimObj = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: meta };
    if (c.spec) claim.spec = c.spec;
    out.push({ templateName, claim });
  }
  return out;
}

/** updateStorage: claim volumes first (template order), then the pod's other volumes. */
export function updateStorage(set: Sts, pod: PodObj): void {
  const ordinal = getOrdinal(pod);
  const claims = persistentVolumeClaims(set, ordinal);
  const names = new Set(claims.map((c) => c.templateName));
  const volumes: Volume[] = claims.map((c) => ({ name: c.templateName, persistentVolumeClaim: { claimName: c.claim.metadata.name ?? '' } }));
  for (const v of pod.spec?.volumes ?? []) if (!names.has(v.name)) volumes.push(v);
  (pod.spec ??= { containers: [] }).volumes = volumes;
}

/** metav1.NewControllerRef(set, apps/v1 StatefulSet). */
export function controllerRef(set: Sts): OwnerReference {
  return { apiVersion: 'apps/v1', kind: 'StatefulSet', name: set.metadata.name ?? '', uid: set.metadata.uid ?? '', controller: true, blockOwnerDeletion: true };
}

/** The controller ownerReference of `pod` names this set (by uid). */
export function isOwnedBy(pod: PodObj, set: Sts): boolean {
  const refs = pod.metadata.ownerReferences;
  if (!refs) return false;
  for (let i = 0; i < refs.length; i++) if (refs[i]!.controller) return refs[i]!.uid === set.metadata.uid;
  return false;
}

/**
 * newStatefulSetPod: controller.GetPodFromTemplate (labels, annotations, finalizers,
 * generateName `<set>-`, the controller ref, the template's spec), then initIdentity
 * (hostname, subdomain, labels) and updateStorage. `template` is the set's template at the
 * revision the pod is created for.
 */
export function newStatefulSetPod(set: Sts, template: Sts['spec']['template'], ordinal: number): PodObj {
  const tm = template.metadata ?? {};
  const meta: ObjectMeta = { labels: { ...(tm.labels ?? {}) } };
  if (tm.annotations) meta.annotations = { ...tm.annotations };
  meta.generateName = `${set.metadata.name}-`;
  if (tm.finalizers) meta.finalizers = [...tm.finalizers];
  meta.ownerReferences = [controllerRef(set)];
  meta.name = podName(set, ordinal);
  const pod: PodObj = { apiVersion: 'v1', kind: 'Pod', metadata: meta, spec: deepCopy(template.spec ?? { containers: [] }) };
  updateIdentity(set, pod);
  pod.spec!.hostname = pod.metadata.name!;
  pod.spec!.subdomain = set.spec.serviceName;
  updateStorage(set, pod);
  return pod;
}

/**
 * newVersionedStatefulSetPod: pods below the partition (or, without rollingUpdate, below
 * status.currentReplicas) are made from the current revision, the others from the update
 * revision. The operator precedence of the Go condition is kept: `A && B || C`.
 */
export function newVersionedStatefulSetPod(
  set: Sts,
  currentTemplate: Sts['spec']['template'],
  updateTemplate: Sts['spec']['template'],
  currentRevision: string,
  updateRevision: string,
  ordinal: number,
): PodObj {
  const us = set.spec.updateStrategy;
  const start = startOrdinal(set);
  const useCurrent =
    ((us?.type ?? 'RollingUpdate') === 'RollingUpdate' && !us?.rollingUpdate && ordinal < start + (set.status?.currentReplicas ?? 0)) ||
    (!!us?.rollingUpdate && ordinal < start + (us.rollingUpdate.partition ?? 0));
  const pod = newStatefulSetPod(set, useCurrent ? currentTemplate : updateTemplate, ordinal);
  pod.metadata.labels![REVISION_LABEL] = useCurrent ? currentRevision : updateRevision;
  return pod;
}

// ---------------------------------------------------------------------------------------------
// Revisions: history.HashControllerRevision over the patch getPatch builds.

/** FNV-1 32-bit (Go's hash/fnv New32) over the UTF-8 bytes of `s`, continuing from `h`. */
export function fnv32(s: string, h = 0x811c9dc5): number {
  const bytes = new TextEncoder().encode(s);
  for (const b of bytes) {
    h = Math.imul(h, 0x01000193) >>> 0;
    h = (h ^ b) >>> 0;
  }
  return h >>> 0;
}

const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

/** rand.SafeEncodeString: each character c becomes alphanums[c % 27]. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (const ch of s) out += ALPHANUMS[ch.codePointAt(0)! % ALPHANUMS.length];
  return out;
}

/** encoding/json's output for a value decoded into map[string]interface{}: sorted keys, HTML-safe escapes. */
export function goJson(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return `[${v.map(goJson).join(',')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
    return `{${keys.map((k) => `${goString(k)}:${goJson(o[k])}`).join(',')}}`;
  }
  if (typeof v === 'string') return goString(v);
  return JSON.stringify(v);
}

function goString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * getPatch: `{"spec":{"template":{...,"$patch":"replace"}}}` as the Go codec would write the
 * template. Go always writes `metadata.creationTimestamp: null` and a container's `resources: {}`
 * (non-pointer structs), so they are added when absent.
 */
export function revisionPatch(template: Sts['spec']['template']): string {
  const t = deepCopy(template) as Record<string, any>;
  t.metadata = { ...(t.metadata ?? {}) };
  if (!('creationTimestamp' in t.metadata)) t.metadata.creationTimestamp = null;
  for (const list of ['initContainers', 'containers']) for (const c of t.spec?.[list] ?? []) c.resources ??= {};
  t['$patch'] = 'replace';
  return goJson({ spec: { template: t } });
}

/**
 * Hashes already computed, per template object. Objects that travel in messages are never
 * mutated (src/protocol.ts), so a template object keeps its hash; the map is never iterated.
 */
const hashesByTemplate = new WeakMap<object, Map<number, string>>();

/** HashControllerRevision(revision, &collisionCount), safe-encoded. */
export function revisionHash(template: Sts['spec']['template'], collisionCount: number): string {
  let byCount = hashesByTemplate.get(template);
  if (!byCount) hashesByTemplate.set(template, (byCount = new Map()));
  let hash = byCount.get(collisionCount);
  if (hash === undefined) {
    hash = safeEncodeString(String(fnv32(String(collisionCount), fnv32(revisionPatch(template)))));
    byCount.set(collisionCount, hash);
  }
  return hash;
}

/** history.ControllerRevisionName: `<set>-<hash>`, the prefix cut at 223 characters. */
export function revisionName(setName: string, hash: string): string {
  return `${setName.length > 223 ? setName.slice(0, 223) : setName}-${hash}`;
}

// ---------------------------------------------------------------------------------------------
// Claim retention (StatefulSetAutoDeletePVC, beta and on by default in v1.30)

export type RetentionType = 'Retain' | 'Delete';

/** getPersistentVolumeClaimRetentionPolicy: nil means Retain/Retain. */
export function retentionPolicy(set: Sts): { whenDeleted: string; whenScaled: string } {
  const p = set.spec.persistentVolumeClaimRetentionPolicy;
  return { whenDeleted: p?.whenDeleted ?? 'Retain', whenScaled: p?.whenScaled ?? 'Retain' };
}

function hasOwnerRef(target: { metadata?: ObjectMeta }, uid: string | undefined): boolean {
  return (target.metadata?.ownerReferences ?? []).some((r) => r.uid === (uid ?? ''));
}

/** hasStaleOwnerRef: a ref with the owner's name but another uid (a pod not yet created has none). */
export function hasStaleOwnerRef(claim: ClaimObj, owner: { metadata: ObjectMeta }): boolean {
  return (claim.metadata.ownerReferences ?? []).some((r) => r.name === owner.metadata.name && r.uid !== (owner.metadata.uid ?? ''));
}

/**
 * claimOwnerMatchesSetAndPod (v1.30):
 *   Retain/Retain: no ref to the set or the pod;
 *   whenDeleted=Delete, whenScaled=Retain: a ref to the set only;
 *   whenDeleted=Retain, whenScaled=Delete: no set ref; a pod ref exactly when the pod is scaled down;
 *   Delete/Delete: a set ref while in range, a pod ref once scaled down.
 */
export function claimOwnerMatchesSetAndPod(claim: ClaimObj, set: Sts, pod: PodObj): boolean {
  const { whenDeleted, whenScaled } = retentionPolicy(set);
  const setRef = hasOwnerRef(claim, set.metadata.uid);
  const podRef = hasOwnerRef(claim, pod.metadata.uid);
  const scaledDown = !podInOrdinalRange(pod, set);
  if (whenScaled === 'Retain' && whenDeleted === 'Delete') return setRef && !podRef;
  if (whenScaled === 'Delete' && whenDeleted === 'Retain') return !setRef && scaledDown === podRef;
  if (whenScaled === 'Delete' && whenDeleted === 'Delete') return scaledDown !== setRef && scaledDown === podRef;
  return !setRef && !podRef; // Retain/Retain, and unknown policies treated as Retain
}

/**
 * updateClaimOwnerRefForSetAndPod (v1.30): adds or removes plain (non-controller) ownerRefs to the
 * set and the pod; returns whether the claim changed.
 */
export function updateClaimOwnerRefForSetAndPod(claim: ClaimObj, set: Sts, pod: PodObj): boolean {
  const { whenDeleted, whenScaled } = retentionPolicy(set);
  const scaledDown = !podInOrdinalRange(pod, set);
  const setOwner = { apiVersion: 'apps/v1', kind: 'StatefulSet', meta: set.metadata };
  const podOwner = { apiVersion: 'v1', kind: 'Pod', meta: pod.metadata };
  let changed = false;
  const set_ = (o: typeof setOwner) => {
    if (hasOwnerRef(claim, o.meta.uid)) return;
    (claim.metadata.ownerReferences ??= []).push({ apiVersion: o.apiVersion, kind: o.kind, name: o.meta.name ?? '', uid: o.meta.uid ?? '' });
    changed = true;
  };
  const remove = (o: typeof setOwner) => {
    if (!hasOwnerRef(claim, o.meta.uid)) return;
    claim.metadata.ownerReferences = (claim.metadata.ownerReferences ?? []).filter((r) => r.uid !== (o.meta.uid ?? ''));
    changed = true;
  };
  if (whenScaled === 'Retain' && whenDeleted === 'Delete') {
    set_(setOwner);
    remove(podOwner);
  } else if (whenScaled === 'Delete' && whenDeleted === 'Retain') {
    remove(setOwner);
    if (scaledDown) set_(podOwner);
    else remove(podOwner);
  } else if (whenScaled === 'Delete' && whenDeleted === 'Delete') {
    if (scaledDown) {
      remove(setOwner);
      set_(podOwner);
    } else {
      set_(setOwner);
      remove(podOwner);
    }
  } else {
    remove(setOwner);
    remove(podOwner);
  }
  return changed;
}

// ---------------------------------------------------------------------------------------------
// Status

export interface ReplicaCounts {
  replicas: number;
  readyReplicas: number;
  availableReplicas: number;
  currentReplicas: number;
  updatedReplicas: number;
}

/** computeReplicaStatus summed over the pod lists (updateStatus). */
export function countReplicas(pods: readonly PodObj[], minReadySeconds: number, nowEpochMs: number, currentRevision: string, updateRevision: string): ReplicaCounts {
  const s: ReplicaCounts = { replicas: 0, readyReplicas: 0, availableReplicas: 0, currentReplicas: 0, updatedReplicas: 0 };
  for (const pod of pods) {
    if (isCreated(pod)) s.replicas++;
    if (isRunningAndReady(pod)) {
      s.readyReplicas++;
      if (isRunningAndAvailable(pod, minReadySeconds, nowEpochMs)) s.availableReplicas++;
    }
    if (isCreated(pod) && !isTerminating(pod)) {
      const rev = getPodRevision(pod);
      if (rev === currentRevision) s.currentReplicas++;
      if (rev === updateRevision) s.updatedReplicas++;
    }
  }
  return s;
}

export function zeroCounts(): ReplicaCounts {
  return { replicas: 0, readyReplicas: 0, availableReplicas: 0, currentReplicas: 0, updatedReplicas: 0 };
}

/** One pod's part of countReplicas, read from its facts, added to `s`. */
export function addReplicaCounts(s: ReplicaCounts, f: PodFacts, minReadySeconds: number, nowEpochMs: number, currentRevision: string, updateRevision: string): void {
  const created = f.phase !== '';
  if (created) s.replicas++;
  if (factsRunningAndReady(f)) {
    s.readyReplicas++;
    if (factsAvailable(f, minReadySeconds, nowEpochMs)) s.availableReplicas++;
  }
  if (created && !f.terminating) {
    if (f.revision === currentRevision) s.currentReplicas++;
    if (f.revision === updateRevision) s.updatedReplicas++;
  }
}

/** The status the controller works with (all fields present). */
export interface FullStatus extends ReplicaCounts {
  observedGeneration: number;
  currentRevision: string;
  updateRevision: string;
  collisionCount: number;
}

/** completeRollingUpdate (v1.29+: compared with spec.replicas, kubernetes#120731). */
export function completeRollingUpdate(set: Sts, status: FullStatus): void {
  const want = specReplicas(set);
  if ((set.spec.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate' && status.updatedReplicas === want && status.readyReplicas === want && status.replicas === want) {
    status.currentReplicas = status.updatedReplicas;
    status.currentRevision = status.updateRevision;
  }
}

/** inconsistentStatus: does `status` differ from what the set already shows? */
export function inconsistentStatus(set: Sts, status: FullStatus): boolean {
  const s = set.status;
  return (
    status.observedGeneration > (s?.observedGeneration ?? 0) ||
    status.replicas !== (s?.replicas ?? 0) ||
    status.currentReplicas !== (s?.currentReplicas ?? 0) ||
    status.readyReplicas !== (s?.readyReplicas ?? 0) ||
    status.updatedReplicas !== (s?.updatedReplicas ?? 0) ||
    status.currentRevision !== (s?.currentRevision ?? '') ||
    status.availableReplicas !== (s?.availableReplicas ?? 0) ||
    status.updateRevision !== (s?.updateRevision ?? '')
  );
}

/**
 * The StatefulSetStatus as the Go client serializes it: fields tagged omitempty vanish when zero
 * (replicas and availableReplicas are not omitempty; collisionCount is a pointer, always set).
 * Conditions are not kept: the controller writes a fresh status.
 */
export function toApiStatus(s: FullStatus): StatefulSetStatus {
  const out: StatefulSetStatus = { replicas: s.replicas };
  if (s.observedGeneration) out.observedGeneration = s.observedGeneration;
  if (s.readyReplicas) out.readyReplicas = s.readyReplicas;
  if (s.currentReplicas) out.currentReplicas = s.currentReplicas;
  if (s.updatedReplicas) out.updatedReplicas = s.updatedReplicas;
  if (s.currentRevision) out.currentRevision = s.currentRevision;
  if (s.updateRevision) out.updateRevision = s.updateRevision;
  out.collisionCount = s.collisionCount;
  out.availableReplicas = s.availableReplicas;
  return out;
}

/** utilerrors.NewAggregate(errs).Error(): one message as is, several as `[a, b]`. */
export function aggregateMessage(msgs: readonly string[]): string {
  return msgs.length === 1 ? msgs[0]! : `[${msgs.join(', ')}]`;
}

