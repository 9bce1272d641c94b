/**
 * The StatefulSet controller's side effects (StatefulPodControl): creating, updating and deleting
 * a set's pods, creating their claims and bringing the claims' ownerRefs in line with the
 * retention policy, and the Events that report each. Part of the one statefulset-controller
 * actor: statefulset-controller.ts makes it, statefulset-control.ts calls it.
 *
 * Sends: api.request create/delete/update Pod, create/update PersistentVolumeClaim; api.event
 *        (SuccessfulCreate, FailedCreate, SuccessfulDelete, SuccessfulUpdate, ...) with source
 *        statefulset-controller. Each write is filed as an expectation first
 *        (statefulset-expectations.ts) and reported to the sync that issued it (its Run).
 *
 * Follows pkg/controller/statefulset/stateful_pod_control.go at v1.30 (CreateStatefulPod,
 * DeleteStatefulPod, UpdateStatefulPod, createPersistentVolumeClaims,
 * UpdatePodClaimForRetentionPolicy, ClaimsMatchRetentionPolicy, PodClaimIsStale,
 * recordPodEvent, recordClaimEvent and their texts).
 */
import type { ApiClient } from '../../src/api-client.ts';
import type { Cache } from '../../src/informer.ts';
import type { ApiResponse, KObject } from '../../src/protocol.ts';
import { deepCopy } from '../../src/model/objects.ts';
import { claimKey, objectOf, podKey, type Expectations } from './statefulset-expectations.ts';
import type { ClaimChecks, PodView } from './statefulset-pod-views.ts';
import {
  aggregateMessage,
  claimOwnerMatchesSetAndPod,
  getOrdinal,
  hasStaleOwnerRef,
  identityMatches,
  persistentVolumeClaims,
  retentionPolicy,
  setKeyOf,
  storageMatches,
  updateClaimOwnerRefForSetAndPod,
  updateIdentity,
  updateStorage,
  type ClaimObj,
  type PodObj,
  type Sts,
} from './statefulset-utils.ts';

const SOURCE = 'statefulset-controller';

/** One pass of updateStatefulSet: it fails if any of the writes it issued fails. */
export interface Run {
  key: string;
  open: boolean;
  outstanding: number;
  errored: boolean;
  /** Tells the work queue the sync is over (with an error: retried with backoff). */
  done: (err?: string) => void;
  /** Writes issued (a sync that issues none found the set settled). */
  writes: number;
}

/** What the pod control works with, handed over by statefulset-controller.ts. */
export interface PodControlContext {
  api: ApiClient;
  cache: Cache;
  expectations: Expectations;
  /** Registers one asynchronous write of `run`; the returned function reports its outcome. */
  begin(run: Run): (ok: boolean) => void;
  checkClaims: ClaimChecks['checkClaims'];
}

export interface StatefulPodControl {
  createStatefulPod(run: Run, set: Sts, pod: PodObj): void;
  deleteStatefulPod(run: Run, set: Sts, pod: PodObj, o?: { ignoreNotFound?: boolean; force?: boolean }): void;
  updateStatefulPod(run: Run, set: Sts, cached: PodObj): void;
  createMissingPersistentVolumeClaims(run: Run, set: Sts, view: PodView): void;
  updatePodClaimForRetentionPolicy(set: Sts, pod: PodObj, done: (err?: string) => void): void;
  claimsMatchRetentionPolicy(set: Sts, view: PodView): boolean;
  podClaimIsStale(set: Sts, pod: PodObj): boolean;
}

function title(verb: string): string {
  return verb.charAt(0).toUpperCase() + verb.slice(1);
}

export function statefulPodControl(ctx: PodControlContext): StatefulPodControl {
  const { api, cache, begin, checkClaims } = ctx;
  const { expectations, anyExpected, expect, forgetExpectation, sweepExpectations } = ctx.expectations;

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

  return {
    createStatefulPod,
    deleteStatefulPod,
    updateStatefulPod,
    createMissingPersistentVolumeClaims,
    updatePodClaimForRetentionPolicy,
    claimsMatchRetentionPolicy,
    podClaimIsStale,
  };
}
