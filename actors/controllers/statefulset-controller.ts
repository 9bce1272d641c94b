/**
 * The StatefulSet controller (kube-controller-manager's statefulset-controller).
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
 * Follows pkg/controller/statefulset at v1.30: stateful_set.go (event handlers, workqueue),
 * stateful_set_control.go (updateStatefulSet, processReplica, processCondemned, the rolling
 * update), stateful_pod_control.go (CreateStatefulPod, DeleteStatefulPod, UpdateStatefulPod,
 * claim creation and retention, the event texts). Pure helpers are in statefulset-utils.ts.
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
 * back to back. Each pod is read through a view made once per pod object (its facts: ordinal,
 * owner, phase, readiness; and the identity and claim checks made of it), kept per set in the
 * order the owner index walks the pods; a claim's change marks the claim checks made from it
 * stale. A visit of a pod that needs nothing is then a few reads of one object; the pure
 * predicates of statefulset-utils.ts stay the reference (test/actors/controllers/statefulset-utils.test.ts).
 */
import type { Component, Port } from '../../src/component.ts';
import { ApiClient } from '../../src/api-client.ts';
import { CONTROLLER_UID_INDEX, controllerUidIndex, Informers, type ChangeType } from '../../src/informer.ts';
import { WorkQueue } from '../../src/workqueue.ts';
import type { ApiResponse, KObject, Msg } from '../../src/protocol.ts';
import { byNamespaceName, deepCopy, isPodReady } from '../../src/model/objects.ts';
import {
  addReplicaCounts,
  aggregateMessage,
  allowsBurst,
  claimOwnerMatchesSetAndPod,
  completeRollingUpdate,
  factsAvailable,
  factsOwnedBy,
  factsRunningAndReady,
  factsUnavailable,
  getOrdinal,
  getPodRevision,
  hasStaleOwnerRef,
  identityMatches,
  inconsistentStatus,
  isTerminating,
  newVersionedStatefulSetPod,
  persistentVolumeClaims,
  podFacts,
  podName,
  retentionPolicy,
  revisionHash,
  revisionName,
  specReplicas,
  startOrdinal,
  storageMatches,
  toApiStatus,
  updateClaimOwnerRefForSetAndPod,
  updateIdentity,
  updateStorage,
  zeroCounts,
  type ClaimObj,
  type FullStatus,
  type PodFacts,
  type PodObj,
  type Sts,
} from './statefulset-utils.ts';

export const STATEFULSET_CONTROLLER = 'statefulset-controller';
const SOURCE = 'statefulset-controller';

// statefulset_controller.go statefulSetResyncPeriod; --concurrent-statefulset-syncs default.
const STATEFULSET_RESYNC_MS = 30_000;
const WORKERS = 5;
// controller_utils.go ExpectationsTimeout: an expectation not met by the watch in 5 minutes lapses.
const EXPECTATIONS_TIMEOUT_MS = 5 * 60 * 1000;
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

/** One write the controller issued and waits to see in its cache. */
interface Expectation {
  setKey: string;
  atMs: number;
  done(): boolean;
  /** For a pending pod create: the pod being created (stands in for it during syncs). */
  pod?: PodObj;
}

/** One pass of updateStatefulSet: it fails if any of the writes it issued fails. */
interface Run {
  key: string;
  open: boolean;
  outstanding: number;
  errored: boolean;
  /** Tells the work queue the sync is over (with an error: retried with backoff). */
  done: (err?: string) => void;
  /** Writes issued (a sync that issues none found the set settled). */
  writes: number;
}

interface Step {
  readonly exit: boolean;
  readonly err?: boolean;
}
// The outcomes of one replica's step, made once (a sync of a large set takes thousands).
const NEXT: Step = Object.freeze({ exit: false });
const EXIT: Step = Object.freeze({ exit: true });
const EXIT_ERR: Step = Object.freeze({ exit: true, err: true });
const step = (exit: boolean): Step => (exit ? EXIT : NEXT);

/**
 * What a pod's claims looked like when last checked. It holds for the same set spec and uid, pod
 * uid and ordinal until one of the claims changes in the cache: onChange marks it stale through
 * the claim's cell, and with it the view that holds it now. The views of successive versions of
 * one pod hand it on.
 */
interface ClaimsSeen {
  readonly spec: Sts['spec'];
  readonly uid: string | undefined;
  readonly podUid: string | undefined;
  readonly ordinal: number;
  /** Every claim of the pod is in the cache. */
  readonly allExist: boolean;
  /** ClaimsMatchRetentionPolicy with no claim update expected. */
  readonly retentionOk: boolean;
  stale: boolean;
  holder: PodView | undefined;
}

/** The claim checks made from one claim (`namespace/name`): a change of the claim makes them stale. */
interface ClaimCell {
  seen: ClaimsSeen[];
}
/** A claim's checks beyond this many (pods recreated while the claim stayed) are all dropped. */
const CLAIM_CELL_MAX = 8;

/**
 * A pod as the syncs of its set see it: its facts, and the checks made of that pod object, in
 * one object. A sync of a large set visits every pod; for one that needs nothing this makes the
 * visit a few reads of one object.
 */
interface PodView extends PodFacts {
  /** What its claims looked like (handed on to the pod's next version). */
  claims: ClaimsSeen | undefined;
  /** `claims` is there and not stale; its answers, copied here so that a visit reads one object. */
  claimsFresh: boolean;
  claimsSpec: Sts['spec'] | undefined;
  claimsSetUid: string | undefined;
  claimsAllExist: boolean;
  claimsRetentionOk: boolean;
  /** identityMatches && storageMatches, for the set spec and uid it was checked against. */
  identitySpec: Sts['spec'] | undefined;
  identityUid: string | undefined;
  identityOk: boolean;
}

/**
 * A view of `pod`, taking over `claims` when they are about the same pod (uid and ordinal). The
 * fields are written out in one literal: every view has the same shape (a sync reads thousands).
 */
function viewOf(pod: PodObj, claims: ClaimsSeen | undefined, hold = true): PodView {
  const f = podFacts(pod);
  const c = claims && claims.podUid === f.uid && claims.ordinal === f.ordinal ? claims : undefined;
  const v: PodView = {
    pod,
    uid: f.uid,
    namespace: f.namespace,
    parent: f.parent,
    ordinal: f.ordinal,
    hasController: f.hasController,
    controllerUid: f.controllerUid,
    phase: f.phase,
    ready: f.ready,
    readySinceEpochMs: f.readySinceEpochMs,
    terminating: f.terminating,
    revision: f.revision,
    claims: c,
    claimsFresh: c !== undefined && !c.stale,
    claimsSpec: c?.spec,
    claimsSetUid: c?.uid,
    claimsAllExist: c?.allExist ?? false,
    claimsRetentionOk: c?.retentionOk ?? false,
    identitySpec: undefined,
    identityUid: undefined,
    identityOk: false,
  };
  if (c && hold) c.holder = v;
  return v;
}

function setKeyOf(ns: string | undefined, name: string): string {
  return `${ns ?? ''}/${name}`;
}

function splitKey(key: string): { ns: string; name: string } {
  const i = key.indexOf('/');
  return { ns: key.slice(0, i), name: key.slice(i + 1) };
}


function title(verb: string): string {
  return verb.charAt(0).toUpperCase() + verb.slice(1);
}

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

  /** Templates seen per set uid, by revision name (the ControllerRevisions we do not store). */
  const history = new Map<string, Map<string, Template>>();
  /** Per set uid, its pods in the order the owner index walked them at the last sync, and their views. */
  const walks = new Map<string, { objs: KObject[]; views: PodView[] }>();
  const expectations = new Map<string, Expectation>();
  let expireDue: number | undefined;

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

  // -------------------------------------------------------------------------------------------
  // Expectations

  /**
   * Expectation keys are `<verb>/<Kind>/<namespace>/<name>`; only a change of that object (a
   * watch event, or the answer to the write) can meet one, so each is filed under its object and
   * a change looks only at that object's expectations.
   */
  const expectationsOf = new Map<string, Set<string>>();
  const objectOf = (key: string): string => key.slice(key.indexOf('/') + 1);
  /** How many expectations of each `<verb>/<Kind>/` there are: none, and a sync asks no pod. */
  const expectedByVerbKind = new Map<string, number>();
  const verbKindOf = (key: string): string => key.slice(0, key.indexOf('/', key.indexOf('/') + 1) + 1);
  const anyExpected = (verbKind: string): boolean => (expectedByVerbKind.get(verbKind) ?? 0) > 0;
  function countExpected(key: string, by: number): void {
    const vk = verbKindOf(key);
    const n = (expectedByVerbKind.get(vk) ?? 0) + by;
    if (n === 0) expectedByVerbKind.delete(vk);
    else expectedByVerbKind.set(vk, n);
  }

  function forgetExpectation(key: string): void {
    if (!expectations.delete(key)) return;
    countExpected(key, -1);
    const obj = objectOf(key);
    const set = expectationsOf.get(obj);
    set?.delete(key);
    if (set?.size === 0) expectationsOf.delete(obj);
  }

  function expect(key: string, e: Omit<Expectation, 'atMs'>): void {
    if (!expectations.has(key)) countExpected(key, 1);
    expectations.set(key, { ...e, atMs: port.now() });
    const obj = objectOf(key);
    let set = expectationsOf.get(obj);
    if (!set) expectationsOf.set(obj, (set = new Set()));
    set.add(key);
    const due = port.now() + EXPECTATIONS_TIMEOUT_MS;
    if (expireDue === undefined || due < expireDue) {
      expireDue = due;
      port.setTimer('expire', EXPECTATIONS_TIMEOUT_MS);
    }
  }

  /** The expectations about `object` (`<Kind>/<namespace>/<name>`) that its change met. */
  function sweepExpectations(object: string): void {
    const keys = expectationsOf.get(object);
    if (!keys) return;
    for (const key of [...keys].sort()) {
      const e = expectations.get(key)!;
      if (e.done()) {
        forgetExpectation(key);
        markDirty(e.setKey);
      }
    }
    if (expectations.size === 0 && expireDue !== undefined) {
      expireDue = undefined;
      port.cancelTimer('expire');
    }
  }

  function expireExpectations(): void {
    expireDue = undefined;
    let next: number | undefined;
    for (const [key, e] of [...expectations].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const due = e.atMs + EXPECTATIONS_TIMEOUT_MS;
      if (due <= port.now()) {
        forgetExpectation(key);
        markDirty(e.setKey);
      } else if (next === undefined || due < next) next = due;
    }
    if (next !== undefined) {
      expireDue = next;
      port.setTimer('expire', next - port.now());
    }
  }

  const podKey = (ns: string | undefined, name: string) => `Pod/${ns ?? ''}/${name}`;
  const claimKey = (ns: string | undefined, name: string) => `PersistentVolumeClaim/${ns ?? ''}/${name}`;

  // -------------------------------------------------------------------------------------------
  // Events (recordPodEvent, recordClaimEvent)

  function recordPodEvent(set: Sts, verb: string, pod: string, err?: string): void {
    if (err === undefined) {
      api.event(set as KObject, 'Normal', `Successful${title(verb)}`, `${verb} Pod ${pod} in StatefulSet ${set.metadata.name} successful`, SOURCE);
    } else {
      api.event(set as KObject, 'Warning', `Failed${title(verb)}`, `${verb} Pod ${pod} in StatefulSet ${set.metadata.name} failed error: ${err}`, SOURCE);
    }
  }

  function recordClaimEvent(set: Sts, verb: string, pod: string, claim: string, err?: string): void {
    if (err === undefined) {
      api.event(set as KObject, 'Normal', `Successful${title(verb)}`, `${verb} Claim ${claim} Pod ${pod} in StatefulSet ${set.metadata.name} success`, SOURCE);
    } else {
      api.event(set as KObject, 'Warning', `Failed${title(verb)}`, `${verb} Claim ${claim} for Pod ${pod} in StatefulSet ${set.metadata.name} failed error: ${err}`, SOURCE);
    }
  }

  const errText = (res: ApiResponse) => res.status?.message ?? 'unknown error';

  // -------------------------------------------------------------------------------------------
  // Side effects (stateful_pod_control.go)

  /**
   * createPersistentVolumeClaims: creates each missing claim; a claim being deleted is an error.
   * Calls `done` with the error messages once every create has answered.
   */
  function createPersistentVolumeClaims(set: Sts, pod: PodObj, done: (errs: string[]) => void): void {
    const ns = set.metadata.namespace;
    const errs: string[] = [];
    let waiting = 1;
    const finish = () => {
      if (--waiting === 0) done(errs);
    };
    for (const { claim } of persistentVolumeClaims(set, getOrdinal(pod))) {
      const name = claim.metadata.name!;
      const cached = cache.get<ClaimObj>('PersistentVolumeClaim', ns, name);
      if (cached) {
        // An existing claim is reused as is (upstream: "TODO: Check resource requirements and accessmodes").
        if (cached.metadata.deletionTimestamp) errs.push(`pvc ${name} is being deleted`);
        continue;
      }
      const key = `create/${claimKey(ns, name)}`;
      if (expectations.has(key)) continue; // our own create of it is under way
      expect(key, { setKey: setKeyOf(ns, set.metadata.name!), done: () => !!cache.get('PersistentVolumeClaim', ns, name) });
      waiting++;
      api.request({ verb: 'create', kind: 'PersistentVolumeClaim', namespace: ns ?? 'default', obj: claim as KObject }, (res) => {
        if (!res.ok) {
          forgetExpectation(key);
          errs.push(`failed to create PVC ${name}: ${errText(res)}`);
        }
        if (res.ok || res.status?.reason !== 'AlreadyExists') recordClaimEvent(set, 'create', pod.metadata.name!, name, res.ok ? undefined : errText(res));
        sweepExpectations(objectOf(key));
        finish();
      });
    }
    finish();
  }

  /**
   * UpdatePodClaimForRetentionPolicy: brings each existing claim's ownerRefs in line with the
   * retention policy. Calls `done` with the first error message, if any.
   */
  function updatePodClaimForRetentionPolicy(set: Sts, pod: PodObj, done: (err?: string) => void): void {
    const ns = set.metadata.namespace;
    const errs: string[] = [];
    let waiting = 1;
    const finish = () => {
      if (--waiting === 0) done(errs[0]);
    };
    for (const t of set.spec.volumeClaimTemplates ?? []) {
      const name = `${t.metadata?.name ?? ''}-${set.metadata.name}-${getOrdinal(pod)}`;
      const cached = cache.get<ClaimObj>('PersistentVolumeClaim', ns, name);
      if (!cached || claimOwnerMatchesSetAndPod(cached, set, pod)) continue;
      const key = `update/${claimKey(ns, name)}`;
      if (expectations.has(key)) continue;
      const claim = deepCopy(cached);
      if (!updateClaimOwnerRefForSetAndPod(claim, set, pod)) continue;
      const rv = cached.metadata.resourceVersion;
      expect(key, {
        setKey: setKeyOf(ns, set.metadata.name!),
        done: () => cache.get<ClaimObj>('PersistentVolumeClaim', ns, name)?.metadata.resourceVersion !== rv,
      });
      waiting++;
      api.request({ verb: 'update', kind: 'PersistentVolumeClaim', namespace: ns ?? 'default', name, obj: claim as KObject }, (res) => {
        if (!res.ok) {
          forgetExpectation(key);
          errs.push(`Could not update claim ${name} for delete policy ownerRefs: ${errText(res)}`);
        }
        sweepExpectations(objectOf(key));
        finish();
      });
    }
    finish();
  }

  /**
   * identityMatches && storageMatches, remembered in the pod's view for the set's spec it was
   * checked against: stored objects never change, and a status update keeps the set's spec.
   */
  function identityAndStorageMatch(set: Sts, view: PodView): boolean {
    if (view.identitySpec === set.spec && view.identityUid === set.metadata.uid) return view.identityOk;
    const ok = identityMatches(set, view.pod) && storageMatches(set, view.pod);
    view.identitySpec = set.spec;
    view.identityUid = set.metadata.uid;
    view.identityOk = ok;
    return ok;
  }

  /** Per claim (`namespace/name`), the checks made from it (made when a check first reads the claim). */
  const claimCells = new Map<string, ClaimCell>();

  /** A claim changed in the cache: the checks made from its previous version no longer hold. */
  function claimChanged(ns: string | undefined, name: string): void {
    const key = `${ns ?? ''}/${name}`;
    const cell = claimCells.get(key);
    if (!cell) return;
    for (const seen of cell.seen) forgetClaims(seen);
    // The next check that reads the claim files itself in a new cell: a deleted claim leaves none.
    claimCells.delete(key);
  }

  function forgetClaims(seen: ClaimsSeen): void {
    seen.stale = true;
    if (seen.holder) seen.holder.claimsFresh = false;
  }

  /**
   * Makes the view's claim answers current (whether all its claims exist, whether they match
   * the retention policy): remembered in the view (and handed on to the pod's next version)
   * until the set's spec, the pod or one of the claims changes, so that a pod's claims are
   * looked up once, not on every sync of its set.
   */
  function checkClaims(set: Sts, view: PodView): void {
    if (view.claimsFresh && view.claimsSpec === set.spec && view.claimsSetUid === set.metadata.uid) return;
    const ns = set.metadata.namespace;
    const cells: ClaimCell[] = [];
    let allExist = true;
    let retentionOk = true;
    for (const t of set.spec.volumeClaimTemplates ?? []) {
      const name = `${t.metadata?.name ?? ''}-${set.metadata.name}-${view.ordinal}`;
      const key = `${ns ?? ''}/${name}`;
      let cell = claimCells.get(key);
      if (!cell) claimCells.set(key, (cell = { seen: [] }));
      cells.push(cell);
      const claim = cache.get<ClaimObj>('PersistentVolumeClaim', ns, name);
      if (!claim) allExist = false;
      else if (retentionOk && !claimOwnerMatchesSetAndPod(claim, set, view.pod)) retentionOk = false;
    }
    if (view.claims) view.claims.holder = undefined;
    const fresh: ClaimsSeen = { spec: set.spec, uid: set.metadata.uid, podUid: view.uid, ordinal: view.ordinal, allExist, retentionOk, stale: false, holder: view };
    for (const cell of cells) {
      if (cell.seen.length >= CLAIM_CELL_MAX) {
        for (const old of cell.seen) forgetClaims(old);
        cell.seen = [];
      }
      cell.seen.push(fresh);
    }
    view.claims = fresh;
    view.claimsFresh = true;
    view.claimsSpec = set.spec;
    view.claimsSetUid = set.metadata.uid;
    view.claimsAllExist = allExist;
    view.claimsRetentionOk = retentionOk;
  }

  /** ClaimsMatchRetentionPolicy: remembered while no claim update is expected (those skip a claim). */
  function claimsMatchRetentionPolicy(set: Sts, view: PodView): boolean {
    if (anyExpected('update/PersistentVolumeClaim/')) return claimsMatchRetentionPolicyNow(set, view.pod);
    checkClaims(set, view);
    return view.claimsRetentionOk;
  }

  /** ClaimsMatchRetentionPolicy over the cached claims (a missing claim matches). */
  function claimsMatchRetentionPolicyNow(set: Sts, pod: PodObj): boolean {
    const ns = set.metadata.namespace;
    for (const t of set.spec.volumeClaimTemplates ?? []) {
      const name = `${t.metadata?.name ?? ''}-${set.metadata.name}-${getOrdinal(pod)}`;
      if (anyExpected('update/PersistentVolumeClaim/') && expectations.has(`update/${claimKey(ns, name)}`)) continue;
      const claim = cache.get<ClaimObj>('PersistentVolumeClaim', ns, name);
      if (claim && !claimOwnerMatchesSetAndPod(claim, set, pod)) return false;
    }
    return true;
  }

  /** PodClaimIsStale: with whenScaled=Delete, a claim still owned by an older pod of that name blocks. */
  function podClaimIsStale(set: Sts, pod: PodObj): boolean {
    if (retentionPolicy(set).whenScaled === 'Retain') return false;
    for (const { claim } of persistentVolumeClaims(set, getOrdinal(pod))) {
      const cached = cache.get<ClaimObj>('PersistentVolumeClaim', set.metadata.namespace, claim.metadata.name!);
      if (cached && hasStaleOwnerRef(cached, pod)) return true;
    }
    return false;
  }

  /** CreateStatefulPod: claims first, then the pod, then the claims' retention ownerRefs. */
  function createStatefulPod(run: Run, set: Sts, pod: PodObj): void {
    const ns = set.metadata.namespace;
    const name = pod.metadata.name!;
    const key = `create/${podKey(ns, name)}`;
    const end = begin(run);
    expect(key, { setKey: run.key, pod, done: () => !!cache.get('Pod', ns, name) });
    createPersistentVolumeClaims(set, pod, (errs) => {
      if (errs.length > 0) {
        forgetExpectation(key);
        recordPodEvent(set, 'create', name, aggregateMessage(errs));
        end(false);
        return;
      }
      api.request({ verb: 'create', kind: 'Pod', namespace: ns ?? 'default', obj: pod as KObject }, (res) => {
        if (!res.ok) forgetExpectation(key);
        sweepExpectations(objectOf(key));
        // Sink AlreadyExists: no event, but the sync fails and is retried.
        if (!res.ok && res.status?.reason === 'AlreadyExists') return end(false);
        updatePodClaimForRetentionPolicy(set, pod, (claimErr) => {
          if (claimErr !== undefined) {
            recordPodEvent(set, 'update', name, claimErr);
            return end(false);
          }
          recordPodEvent(set, 'create', name, res.ok ? undefined : errText(res));
          end(res.ok);
        });
      });
    });
  }

  /** DeleteStatefulPod (plain delete; `force` is the bug's gracePeriodSeconds 0). */
  function deleteStatefulPod(run: Run, set: Sts, pod: PodObj, o: { ignoreNotFound?: boolean; force?: boolean } = {}): void {
    const ns = set.metadata.namespace;
    const name = pod.metadata.name!;
    const uid = pod.metadata.uid;
    const key = `delete/${podKey(ns, name)}`;
    if (expectations.has(key)) return;
    const end = begin(run);
    expect(key, {
      setKey: run.key,
      done: () => {
        const p = cache.get<PodObj>('Pod', ns, name);
        return !p || p.metadata.uid !== uid || (!o.force && !!p.metadata.deletionTimestamp);
      },
    });
    const req = { verb: 'delete' as const, kind: 'Pod', namespace: ns ?? 'default', name, ...(o.force ? { gracePeriodSeconds: 0 } : {}) };
    api.request(req, (res) => {
      if (!res.ok) forgetExpectation(key);
      sweepExpectations(objectOf(key));
      recordPodEvent(set, 'delete', name, res.ok ? undefined : errText(res));
      end(res.ok || (!!o.ignoreNotFound && res.status?.code === 404));
    });
  }

  /** UpdateStatefulPod: fixes identity and storage, creating claims and retention refs as needed. */
  function updateStatefulPod(run: Run, set: Sts, cached: PodObj): void {
    const ns = set.metadata.namespace;
    const name = cached.metadata.name!;
    const key = `update/${podKey(ns, name)}`;
    if (expectations.has(key)) return;
    const pod = deepCopy(cached);
    const end = begin(run);
    const rv = cached.metadata.resourceVersion;
    expect(key, { setKey: run.key, done: () => cache.get<PodObj>('Pod', ns, name)?.metadata.resourceVersion !== rv });
    const fail = (err: string) => {
      forgetExpectation(key);
      recordPodEvent(set, 'update', name, err);
      end(false);
    };
    if (!identityMatches(set, pod)) updateIdentity(set, pod);
    const storageOk = storageMatches(set, pod);
    if (!storageOk) updateStorage(set, pod);
    const afterClaims = () =>
      updatePodClaimForRetentionPolicy(set, pod, (claimErr) => {
        if (claimErr !== undefined) return fail(claimErr);
        api.request({ verb: 'update', kind: 'Pod', namespace: ns ?? 'default', name, obj: pod as KObject }, (res) => {
          if (!res.ok) forgetExpectation(key);
          sweepExpectations(objectOf(key));
          recordPodEvent(set, 'update', name, res.ok ? undefined : errText(res));
          end(res.ok);
        });
      });
    if (storageOk) afterClaims();
    else createPersistentVolumeClaims(set, pod, (errs) => (errs.length ? fail(aggregateMessage(errs)) : afterClaims()));
  }

  /** createMissingPersistentVolumeClaims, for a Pending pod whose claims may have gone. */
  function createMissingPersistentVolumeClaims(run: Run, set: Sts, view: PodView): void {
    // Some claim is missing, or (once one exists) they do not match the retention policy.
    if ((set.spec.volumeClaimTemplates ?? []).length === 0) return;
    checkClaims(set, view);
    if (view.claimsAllExist && claimsMatchRetentionPolicy(set, view)) return;
    const pod = view.pod;
    const end = begin(run);
    createPersistentVolumeClaims(set, pod, (errs) => {
      if (errs.length) return end(false);
      updatePodClaimForRetentionPolicy(set, pod, (claimErr) => {
        if (claimErr !== undefined) recordPodEvent(set, 'update', pod.metadata.name!, claimErr);
        end(claimErr === undefined);
      });
    });
  }

  // -------------------------------------------------------------------------------------------
  // Decisions (stateful_set_control.go)

  function nodeUnreachable(pod: PodObj): boolean {
    const node = pod.spec?.nodeName ? cache.get<KObject>('Node', undefined, pod.spec.nodeName) : undefined;
    return ((node?.spec?.taints ?? []) as { key: string }[]).some((t) => t.key === TAINT_UNREACHABLE);
  }

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
          history.delete(obj.metadata.uid ?? '');
          walks.delete(obj.metadata.uid ?? '');
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
