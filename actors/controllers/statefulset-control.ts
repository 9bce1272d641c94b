/**
 * The StatefulSet controller's decisions (StatefulSetControlInterface): one pass of
 * updateStatefulSet over a set as the controller's caches show it: which revision is current and
 * which is the update, which replica to create, fix, delete or replace next (processReplica,
 * processCondemned, the rolling update; one at a time for OrderedReady, all at once for
 * Parallel), and the status the pass computed, written when it changed. The writes themselves
 * are statefulset-pod-control.ts's. Part of the one statefulset-controller actor:
 * statefulset-controller.ts makes it and calls updateStatefulSet from its work queue's sync.
 *
 * Sends: api.request updateStatus StatefulSet (what stateful_set_status_updater.go does); the
 *        rest through the pod control.
 *
 * Follows pkg/controller/statefulset/stateful_set_control.go at v1.30 (updateStatefulSet,
 * getStatefulSetRevisions, processReplica, runForAll, processCondemned, updateStatefulSetStatus),
 * with the status write of stateful_set_status_updater.go. Revisions are computed (name
 * `<set>-<hash>`, hash as history.HashControllerRevision) but no ControllerRevision objects are
 * stored: the templates seen are remembered here (see the controller's header). The
 * MaxUnavailableStatefulSet gate is alpha (off) in v1.30: rolling updates go one pod at a time.
 */
import type { Port } from '../../src/component.ts';
import type { ApiClient } from '../../src/api-client.ts';
import { CONTROLLER_UID_INDEX, type Cache } from '../../src/informer.ts';
import type { WorkQueue } from '../../src/workqueue.ts';
import type { KObject } from '../../src/protocol.ts';
import { byNamespaceName, deepCopy } from '../../src/model/objects.ts';
import { objectOf, podKey, type Expectations } from './statefulset-expectations.ts';
import { identityAndStorageMatch, viewOf, type PodView } from './statefulset-pod-views.ts';
import type { Run, StatefulPodControl } from './statefulset-pod-control.ts';
import {
  addReplicaCounts,
  allowsBurst,
  completeRollingUpdate,
  factsAvailable,
  factsOwnedBy,
  factsRunningAndReady,
  factsUnavailable,
  inconsistentStatus,
  newVersionedStatefulSetPod,
  podName,
  revisionHash,
  revisionName,
  specReplicas,
  startOrdinal,
  toApiStatus,
  zeroCounts,
  type FullStatus,
  type PodObj,
  type Sts,
} from './statefulset-utils.ts';

/**
 * Processing time of a sync per pod of the set: ksim's estimate of what updateStatefulSet costs
 * upstream (listing and claiming the set's pods, then checking each: identity, storage, claims,
 * readiness), so that a set of 1,000 pods takes 10 ms a sync and events arriving meanwhile fold
 * into the next, as they do in a real controller. Below 100 pods a sync takes under 1 ms: no time.
 */
export const SYNC_US_PER_POD = 10;
// The taint the node lifecycle controller puts on a node whose kubelet stopped reporting.
const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';

type Template = Sts['spec']['template'];

interface Step {
  readonly exit: boolean;
  readonly err?: boolean;
}
// The outcomes of one replica's step, made once (a sync of a large set takes thousands).
const NEXT: Step = Object.freeze({ exit: false });
const EXIT: Step = Object.freeze({ exit: true });
const EXIT_ERR: Step = Object.freeze({ exit: true, err: true });
const step = (exit: boolean): Step => (exit ? EXIT : NEXT);

/** What the decisions work with, handed over by statefulset-controller.ts. */
export interface StatefulSetControlContext {
  port: Port;
  api: ApiClient;
  cache: Cache;
  queue: Pick<WorkQueue, 'busyFor'>;
  expectations: Expectations;
  /** Registers one asynchronous write of `run`; the returned function reports its outcome. */
  begin(run: Run): (ok: boolean) => void;
  podControl: StatefulPodControl;
  /** BUG (sts-force-delete): a terminating pod on an unreachable node is force-deleted. */
  forceDeleteBug: boolean;
}

export interface StatefulSetControl {
  /** One pass over `set`; its writes report to `run`. */
  updateStatefulSet(run: Run, set: Sts): void;
  /** Remembers the set's template under its revision name (the ControllerRevision we do not store). */
  rememberRevision(set: Sts): { name: string; template: Template };
  /** The set (by uid) is gone: what was remembered of it goes too. */
  forgetSet(uid: string): void;
}

export function statefulSetControl(ctx: StatefulSetControlContext): StatefulSetControl {
  const { port, api, cache, queue, begin, forceDeleteBug } = ctx;
  const { expectations, anyExpected, expect, forgetExpectation, sweepExpectations } = ctx.expectations;
  const { createStatefulPod, deleteStatefulPod, updateStatefulPod, createMissingPersistentVolumeClaims, updatePodClaimForRetentionPolicy, claimsMatchRetentionPolicy, podClaimIsStale } = ctx.podControl;

  /** Templates seen per set uid, by revision name (the ControllerRevisions we do not store). */
  const history = new Map<string, Map<string, Template>>();
  /** Per set uid, its pods in the order the owner index walked them at the last sync, and their views. */
  const walks = new Map<string, { objs: KObject[]; views: PodView[] }>();

  function forgetSet(uid: string): void {
    history.delete(uid);
    walks.delete(uid);
  }

  function nodeUnreachable(pod: PodObj): boolean {
    const node = pod.spec?.nodeName ? cache.get<KObject>('Node', undefined, pod.spec.nodeName) : undefined;
    return ((node?.spec?.taints ?? []) as { key: string }[]).some((t) => t.key === TAINT_UNREACHABLE);
  }

  function rememberRevision(set: Sts): { name: string; template: Template } {
    const hash = revisionHash(set.spec.template, set.status?.collisionCount ?? 0);
    const revName = revisionName(set.metadata.name!, hash);
    const uid = set.metadata.uid ?? '';
    let h = history.get(uid);
    if (!h) history.set(uid, (h = new Map()));
    if (!h.has(revName)) h.set(revName, deepCopy(set.spec.template));
    return { name: revName, template: set.spec.template };
  }

  function updateStatefulSet(run: Run, set: Sts): void {
    const ns = set.metadata.namespace;
    const nowEpochMs = Date.parse(port.nowIso());
    const minReadySeconds = set.spec.minReadySeconds ?? 0;

    // getStatefulSetRevisions
    const update = rememberRevision(set);
    const known = history.get(set.metadata.uid ?? '');
    const curName = set.status?.currentRevision;
    const current = curName && known?.has(curName) ? { name: curName, template: known.get(curName)! } : update;

    // Pods of this set, as this controller sees them: a pod it is deleting counts as terminating.
    // Taken from the owner index in no particular order (what follows files them by ordinal).
    // Each is read through its view (facts and remembered checks). The index walks a set's pods
    // in the order they were filed, which a new version of a pod does not change: the view at
    // the same place of the last walk is the pod's while the object there is the same.
    const pods: PodView[] = [];
    const setName = set.metadata.name;
    const nsName = ns ?? '';
    const deleting = anyExpected('delete/Pod/');
    const uid = set.metadata.uid ?? '';
    let walk = walks.get(uid);
    if (!walk) walks.set(uid, (walk = { objs: [], views: [] }));
    const { objs, views } = walk;
    let k = 0;
    cache.forEachIndexed('Pod', CONTROLLER_UID_INDEX, uid, (o) => {
      let v = views[k];
      if (objs[k] !== o || v === undefined) {
        // A new version of the pod that was here takes over its claim checks.
        v = viewOf(o as PodObj, v?.claims);
        objs[k] = o;
        views[k] = v;
      }
      k++;
      // isOwnedBy, isMemberOf, same namespace.
      if (!factsOwnedBy(v, set) || v.parent !== setName || v.namespace !== nsName) return;
      const p = v.pod;
      if (!v.terminating && deleting && expectations.has(`delete/${podKey(ns, p.metadata.name!)}`)) {
        // For this sync only: v stays the claim checks' holder.
        pods.push(viewOf({ ...p, metadata: { ...p.metadata, deletionTimestamp: port.nowIso() } }, v.claims, false));
      } else pods.push(v);
    });
    objs.length = k;
    views.length = k;

    queue.busyFor(run.key, (pods.length * SYNC_US_PER_POD) / 1000);
    const replicaCount = specReplicas(set);
    const start = startOrdinal(set);
    // The replicas slice of stateful_set_control.go, built only as far as it is read: the pods
    // that exist, and for a missing ordinal the pod being created or a new one made when a
    // step reaches it. Upstream fills all spec.replicas slots on every sync; here a set of
    // 100,000 replicas costs what its existing pods cost (OrderedReady reads up to the first
    // pod that is not ready; only Parallel creates them all).
    // By ordinal - start, as long as the highest existing pod's slot (then grown as steps read on).
    const end = start + replicaCount - 1; // endOrdinal
    let slots = 0;
    for (const v of pods) if (v.ordinal >= start && v.ordinal <= end) slots = Math.max(slots, v.ordinal - start + 1);
    const existing = new Array<PodView | undefined>(slots);
    const condemned: PodView[] = [];
    for (const v of pods) {
      const o = v.ordinal;
      if (o >= start && o <= end) {
        // podInOrdinalRange. Two names of one ordinal (`web-01`, `web-1`): the one last in name order holds the slot.
        const held = existing[o - start];
        if (!held || byNamespaceName(held.pod, v.pod) < 0) existing[o - start] = v;
      } else if (o >= 0) condemned.push(v);
    }
    const inFlight = new Set<PodObj>();
    const replicaAt = (i: number): PodView => {
      const have = existing[i];
      if (have) return have;
      const pending = anyExpected('create/Pod/') ? expectations.get(`create/${podKey(ns, podName(set, start + i))}`) : undefined;
      let pod: PodObj;
      if (pending?.pod) {
        pod = pending.pod;
        inFlight.add(pod);
      } else {
        pod = newVersionedStatefulSetPod(set, current.template, update.template, current.name, update.name, start + i);
      }
      const v = viewOf(pod, undefined);
      existing[i] = v;
      return v;
    };
    condemned.sort((a, b) => b.ordinal - a.ordinal || byNamespaceName(a.pod, b.pod));

    // The first unavailable replica: a missing one is unavailable, so the scan stops there.
    let firstUnavailable: PodView | undefined;
    for (let i = 0; i < replicaCount && !firstUnavailable; i++) {
      const v = replicaAt(i);
      if (factsUnavailable(v, minReadySeconds, nowEpochMs)) firstUnavailable = v;
    }
    for (let i = condemned.length - 1; i >= 0; i--) {
      if (!firstUnavailable && factsUnavailable(condemned[i]!, minReadySeconds, nowEpochMs)) firstUnavailable = condemned[i];
    }

    // Pods not created yet count for nothing: the existing ones (and those in flight) are all.
    const counts = zeroCounts();
    for (let i = 0; i < existing.length; i++) {
      const v = existing[i];
      if (v) addReplicaCounts(counts, v, minReadySeconds, nowEpochMs, current.name, update.name);
    }
    for (const v of condemned) addReplicaCounts(counts, v, minReadySeconds, nowEpochMs, current.name, update.name);
    const status: FullStatus = {
      observedGeneration: set.metadata.generation ?? 0,
      currentRevision: current.name,
      updateRevision: update.name,
      collisionCount: set.status?.collisionCount ?? 0,
      ...counts,
    };

    const monotonic = !allowsBurst(set);
    const body = (): void => {
      // If the StatefulSet is being deleted, only its status is updated.
      if (set.metadata.deletionTimestamp) return;

      // processReplica for each replica: monotonic stops at the first that blocks; burst runs all.
      const processReplica = (i: number): Step => {
        const f = replicaAt(i);
        const pod = f.pod;
        if (f.phase === 'Failed' || f.phase === 'Succeeded') {
          if (!f.terminating) deleteStatefulPod(run, set, pod);
          // The new pod is created on a later sync, once the old one is gone.
          return EXIT;
        }
        if (f.phase === '') {
          // Not created yet.
          if (inFlight.has(pod)) return step(monotonic);
          // One identity at a time: never create over a name the cache still holds (the API
          // server would answer AlreadyExists and the sync would be retried).
          if (cache.get('Pod', ns, pod.metadata.name!)) return EXIT_ERR;
          if (podClaimIsStale(set, pod)) return EXIT;
          createStatefulPod(run, set, pod);
          return step(monotonic);
        }
        if (f.phase === 'Pending') createMissingPersistentVolumeClaims(run, set, f);
        if (f.terminating && forceDeleteBug && nodeUnreachable(pod)) {
          // BUG (sts-force-delete): the pod may still run on the unreachable node.
          deleteStatefulPod(run, set, pod, { force: true });
          return EXIT;
        }
        if (f.terminating && monotonic) return EXIT; // waiting for Pod to Terminate
        if (!factsRunningAndReady(f) && monotonic) return EXIT; // waiting for Running and Ready
        if (!factsAvailable(f, minReadySeconds, nowEpochMs) && monotonic) return EXIT;
        if (anyExpected('update/Pod/') && expectations.has(`update/${podKey(ns, pod.metadata.name!)}`)) return NEXT;
        const retentionMatch = claimsMatchRetentionPolicy(set, f);
        if (identityAndStorageMatch(set, f) && retentionMatch) return NEXT;
        updateStatefulPod(run, set, pod);
        return NEXT;
      };
      if (runForAll(replicaCount, processReplica, monotonic)) return;

      // Fix claim ownerRefs of condemned pods (retention policy).
      const fixPodClaim = (i: number): Step => {
        const v = condemned[i]!;
        const pod = v.pod;
        if (!claimsMatchRetentionPolicy(set, v)) {
          const end = begin(run);
          updatePodClaimForRetentionPolicy(set, pod, (err) => end(err === undefined));
        }
        return NEXT;
      };
      if (runForAll(condemned.length, fixPodClaim, monotonic)) return;

      // Scale down, highest ordinal first; in monotonic mode one at a time, after the others are healthy.
      const processCondemned = (i: number): Step => {
        const f = condemned[i]!;
        if (f.terminating) return step(monotonic);
        if (!factsRunningAndReady(f) && monotonic && f !== firstUnavailable) return EXIT;
        if (!factsAvailable(f, minReadySeconds, nowEpochMs) && monotonic && f !== firstUnavailable) return EXIT;
        deleteStatefulPod(run, set, f.pod);
        return EXIT;
      };
      if (runForAll(condemned.length, processCondemned, monotonic)) return;

      // OnDelete: pods are replaced only when someone deletes them.
      const strategy = set.spec.updateStrategy;
      if ((strategy?.type ?? 'RollingUpdate') === 'OnDelete') return;

      // RollingUpdate: delete the highest-ordinal pod not at the update revision, down to the partition.
      const updateMin = strategy?.rollingUpdate ? (strategy.rollingUpdate.partition ?? 0) : 0;
      for (let target = replicaCount - 1; target >= updateMin; target--) {
        const f = replicaAt(target);
        if (f.phase === '') return; // not created yet: unavailable, wait
        if (f.revision !== update.name && !f.terminating) {
          deleteStatefulPod(run, set, f.pod, { ignoreNotFound: true });
          status.currentReplicas--;
          return;
        }
        if (factsUnavailable(f, minReadySeconds, nowEpochMs)) return; // waiting for Pod to update
      }
    };

    /** runForAll: true when the caller must stop (monotonic: any block or error; burst: an error). */
    function runForAll(n: number, fn: (i: number) => Step, mono: boolean): boolean {
      if (mono) {
        for (let i = 0; i < n; i++) {
          const r = fn(i);
          if (r.err) run.errored = true;
          if (r.exit || r.err) return true;
        }
        return false;
      }
      let failed = false;
      for (let i = 0; i < n; i++) if (fn(i).err) failed = true;
      if (failed) run.errored = true;
      return failed;
    }
    body();

    updateStatefulSetStatus(run, set, status);
  }

  /** updateStatefulSetStatus: completes a finished rollout, writes the status only when it changed. */
  function updateStatefulSetStatus(run: Run, set: Sts, status: FullStatus): void {
    completeRollingUpdate(set, status);
    if (!inconsistentStatus(set, status)) return;
    const ns = set.metadata.namespace;
    const name = set.metadata.name!;
    const key = `status/StatefulSet/${ns ?? ''}/${name}`;
    if (expectations.has(key)) return;
    const rv = set.metadata.resourceVersion;
    expect(key, { setKey: run.key, done: () => cache.get<Sts>('StatefulSet', ns, name)?.metadata.resourceVersion !== rv });
    const end = begin(run);
    const obj = { ...deepCopy(set), status: toApiStatus(status) };
    api.request({ verb: 'updateStatus', kind: 'StatefulSet', namespace: ns ?? 'default', name, obj: obj as KObject }, (res) => {
      forgetExpectation(key);
      sweepExpectations(objectOf(key));
      end(res.ok);
    });
  }

  return { updateStatefulSet, rememberRevision, forgetSet };
}
