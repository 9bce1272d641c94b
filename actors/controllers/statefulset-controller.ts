/**
 * The StatefulSet controller (kube-controller-manager's statefulset-controller): one actor, its
 * code in the statefulset-*.ts files of this folder.
 *
 * Owns: nothing in the store but what it writes — pods and claims of each StatefulSet, and the
 * set's status. It decides only from its own informers' caches of StatefulSets, Pods (indexed by
 * their controller's uid) and PersistentVolumeClaims (and Nodes when the `sts-force-delete` bug
 * is on), so a late or lost watch event leaves it acting on a stale view, as a real informer
 * would; the StatefulSet informer resyncs every 30 s (statefulSetResyncPeriod).
 *
 * Receives: its informers' lists and watch events; api.response for its own writes.
 * Sends:    api.request create/delete Pod, create/update PersistentVolumeClaim, update Pod,
 *           updateStatus StatefulSet; api.event (SuccessfulCreate, SuccessfulDelete, ...).
 *
 * Follows pkg/controller/statefulset at v1.30. This file is stateful_set.go: the informers and
 * their event handlers, the work queue and its sync, and the wiring of the parts of this one
 * actor, each in a file beside it named after the upstream file it follows:
 * statefulset-control.ts (stateful_set_control.go: updateStatefulSet, processReplica,
 * processCondemned, the rolling update, the status), statefulset-pod-control.ts
 * (stateful_pod_control.go: CreateStatefulPod, DeleteStatefulPod, UpdateStatefulPod, claim
 * creation and retention, the event texts), statefulset-expectations.ts (controller_utils.go's
 * ControllerExpectations), statefulset-pod-views.ts (how a sync reads pods) and the pure helpers
 * of statefulset-utils.ts (stateful_set_utils.go).
 *
 * Work goes through a work queue of set keys with 5 workers (--concurrent-statefulset-syncs),
 * started once the informers synced. An API call does not block, so a sync issues its writes and
 * ends when they are all answered; it "fails" (and the set is re-queued with
 * workqueue.DefaultControllerRateLimiter) when any of them fails. Events about a set that arrive
 * while it syncs fold into one later sync, as in the real controller. Expectations (as controller_utils.go's ControllerExpectations, 5 min TTL) keep a
 * write from being issued twice while the watch has not yet shown its effect. Revisions are
 * computed (name `<set>-<hash>`, hash as history.HashControllerRevision) but no
 * ControllerRevision objects are stored: the controller remembers the templates it has seen,
 * and after a restart a status.currentRevision it cannot resolve falls back to the update
 * revision, as upstream does when the revision object is missing.
 * The MaxUnavailableStatefulSet gate is alpha (off) in v1.30: rolling updates go one pod at a time.
 *
 * Like upstream, every sync looks at every pod of its set, and a large set converging syncs
 * back to back. Each pod is read through a view made once per pod object
 * (statefulset-pod-views.ts), kept per set in the order the owner index walks the pods
 * (statefulset-control.ts); a claim's change marks the claim checks made from it stale.
 */
import type { Component, Port } from '../../src/component.ts';
import { ApiClient } from '../../src/api-client.ts';
import { CONTROLLER_UID_INDEX, controllerUidIndex, Informers, type ChangeType } from '../../src/informer.ts';
import { WorkQueue } from '../../src/workqueue.ts';
import type { KObject, Msg } from '../../src/protocol.ts';
import { isPodReady } from '../../src/model/objects.ts';
import { statefulSetControl } from './statefulset-control.ts';
import { statefulSetExpectations } from './statefulset-expectations.ts';
import { statefulPodControl, type Run } from './statefulset-pod-control.ts';
import { claimChecks } from './statefulset-pod-views.ts';
import { isTerminating, setKeyOf, splitKey, type PodObj, type Sts } from './statefulset-utils.ts';

export { SYNC_US_PER_POD } from './statefulset-control.ts';

export const STATEFULSET_CONTROLLER = 'statefulset-controller';

// statefulset_controller.go statefulSetResyncPeriod; --concurrent-statefulset-syncs default.
const STATEFULSET_RESYNC_MS = 30_000;
const WORKERS = 5;

export function statefulSetController(port: Port, opts: { bug?: string } = {}): Component {
  const api = new ApiClient(port);
  const forceDeleteBug = opts.bug === 'sts-force-delete';
  const informers = new Informers(port, api, {
    kinds: forceDeleteBug ? ['StatefulSet', 'Pod', 'PersistentVolumeClaim', 'Node'] : ['StatefulSet', 'Pod', 'PersistentVolumeClaim'],
    resyncMs: { StatefulSet: STATEFULSET_RESYNC_MS },
    // A resync of settled sets does nothing (see `settled`): the timer sleeps while all are.
    shouldResync: () => settled.size < cache.size('StatefulSet'),
    onChange,
    onSynced: () => queue.run(),
    // BUG (informer-no-relist): a watch that breaks is never established again.
    noRelist: opts.bug === 'informer-no-relist',
  });
  const cache = informers.cache;
  cache.addIndex('Pod', CONTROLLER_UID_INDEX, controllerUidIndex);
  const queue = new WorkQueue(port, { name: 'sets', workers: WORKERS, process: sync, paused: true });

  // The parts of this actor (see the header), each handed what it works with.
  const expectations = statefulSetExpectations(port, markDirty);
  const { expireExpectations, sweepExpectations } = expectations;
  const { claimChanged, checkClaims } = claimChecks(cache);
  const podControl = statefulPodControl({ api, cache, expectations, begin, checkClaims });
  const control = statefulSetControl({ port, api, cache, queue, expectations, begin, podControl, forceDeleteBug });
  const { updateStatefulSet, rememberRevision } = control;

  // -------------------------------------------------------------------------------------------
  // Work queue

  /**
   * Sets whose last sync wrote nothing, and nothing about them changed since: the 30 s resync
   * would find nothing to do, so it passes them over (a resync costs nothing when idle, SPEC §2;
   * every change, timer or expectation that could matter marks the set dirty again).
   */
  const settled = new Set<string>();

  function markDirty(key: string): void {
    if (settled.delete(key)) informers.wakeResync();
    queue.add(key);
  }

  function settle(run: Run): void {
    if (run.open || run.outstanding > 0) return;
    if (!run.errored && run.writes === 0 && !queue.isQueued(run.key)) settled.add(run.key);
    run.done(run.errored ? 'sync failed' : undefined);
  }

  /** Registers one asynchronous write of `run`; the returned function reports its outcome. */
  function begin(run: Run): (ok: boolean) => void {
    run.outstanding++;
    run.writes++;
    let finished = false;
    return (ok) => {
      if (finished) return;
      finished = true;
      run.outstanding--;
      if (!ok) run.errored = true;
      settle(run);
    };
  }

  /** stateful_set.go sync: one pass of updateStatefulSet (statefulset-control.ts) over the set's cached version. */
  function sync(key: string, done: (err?: string) => void): void {
    const { ns, name } = splitKey(key);
    const set = cache.get<Sts>('StatefulSet', ns || undefined, name);
    if (!set) return done();
    const run: Run = { key, open: true, outstanding: 0, errored: false, done, writes: 0 };
    try {
      updateStatefulSet(run, set);
    } finally {
      run.open = false;
      settle(run);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Event handlers (stateful_set.go addPod/updatePod/deletePod, enqueueStatefulSet)

  function ownerSetKey(pod: KObject | undefined): string | undefined {
    if (!pod) return undefined;
    const ref = (pod.metadata.ownerReferences ?? []).find((r) => r.controller);
    if (!ref || ref.kind !== 'StatefulSet') return undefined;
    return setKeyOf(pod.metadata.namespace, ref.name);
  }

  function onChange(type: ChangeType, obj: KObject, old: KObject | undefined): void {
    switch (obj.kind) {
      case 'StatefulSet': {
        const key = setKeyOf(obj.metadata.namespace, obj.metadata.name ?? '');
        // The informer's periodic resync (old === obj) of a settled set changes nothing.
        if (type === 'MODIFIED' && old === obj && settled.has(key)) break;
        if (type === 'DELETED') {
          queue.forget(key);
          control.forgetSet(obj.metadata.uid ?? '');
        } else if (obj.spec?.template) rememberRevision(obj as Sts);
        markDirty(key);
        break;
      }
      case 'Pod': {
        const now = ownerSetKey(obj);
        const before = ownerSetKey(old);
        if (now) markDirty(now);
        if (before && before !== now) markDirty(before);
        // A pod that just became Ready is re-checked once minReadySeconds have passed.
        if (now && type !== 'DELETED' && isPodReady(obj) && !(old && isPodReady(old))) {
          const { ns, name } = splitKey(now);
          const set = cache.get<Sts>('StatefulSet', ns || undefined, name);
          const mrs = set?.spec.minReadySeconds ?? 0;
          // +1 s: lastTransitionTime has seconds precision and availability needs "strictly after".
          if (mrs > 0) port.setTimer(`ready/${now}`, mrs * 1000 + 1000);
        }
        break;
      }
      case 'PersistentVolumeClaim': {
        // Checks made from the claim's previous version no longer hold (a resync changes nothing).
        if (old !== obj) {
          claimChanged(obj.metadata.namespace, obj.metadata.name ?? '');
        }
        // A claim that went away may unblock a pod waiting on a stale or terminating claim.
        if (type === 'DELETED') {
          for (const set of cache.list<Sts>('StatefulSet', obj.metadata.namespace)) {
            const prefixes = (set.spec.volumeClaimTemplates ?? []).map((t) => `${t.metadata?.name ?? ''}-${set.metadata.name}-`);
            if (prefixes.some((p) => (obj.metadata.name ?? '').startsWith(p))) markDirty(setKeyOf(set.metadata.namespace, set.metadata.name!));
          }
        }
        break;
      }
      case 'Node': {
        // Only watched with the force-delete bug: a node turning unreachable concerns its terminating pods.
        for (const p of cache.list<PodObj>('Pod')) {
          if (p.spec?.nodeName === obj.metadata.name && isTerminating(p)) {
            const k = ownerSetKey(p as KObject);
            if (k) markDirty(k);
          }
        }
        break;
      }
    }
    sweepExpectations(`${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`);
  }

  return {
    start(): void {
      informers.start();
    },
    receive(msg: Msg): void {
      if (!api.handle(msg)) informers.handle(msg);
    },
    timer(key: string): void {
      if (api.timer(key) || informers.timer(key) || queue.timer(key)) return;
      if (key === 'expire') {
        expireExpectations();
      } else if (key.startsWith('ready/')) {
        markDirty(key.slice('ready/'.length));
      }
    },
  };
}
