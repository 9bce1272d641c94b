/**
 * How the StatefulSet controller's syncs read pods: through a view made once per pod object (its
 * facts: ordinal, owner, phase, readiness; and the identity and claim checks made of it). Like
 * upstream, every sync looks at every pod of its set, and a large set converging syncs back to
 * back; a visit of a pod that needs nothing is then a few reads of one object. A claim's change
 * (statefulset-controller.ts's event handler calls claimChanged) marks the claim checks made
 * from it stale. Part of the one statefulset-controller actor: nothing here talks to the bus.
 *
 * No upstream file: stateful_set_control.go and stateful_pod_control.go recompute these checks
 * (identityMatches, storageMatches, ClaimsMatchRetentionPolicy) on every visit; the pure
 * predicates of statefulset-utils.ts stay the reference (test/actors/controllers/statefulset-utils.test.ts).
 */
import type { Cache } from '../../src/informer.ts';
import { claimOwnerMatchesSetAndPod, identityMatches, podFacts, storageMatches, type ClaimObj, type PodFacts, type PodObj, type Sts } from './statefulset-utils.ts';

/**
 * What a pod's claims looked like when last checked. It holds for the same set spec and uid, pod
 * uid and ordinal until one of the claims changes in the cache: onChange marks it stale through
 * the claim's cell, and with it the view that holds it now. The views of successive versions of
 * one pod hand it on.
 */
export interface ClaimsSeen {
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
export interface PodView extends PodFacts {
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
export function viewOf(pod: PodObj, claims: ClaimsSeen | undefined, hold = true): PodView {
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

/**
 * identityMatches && storageMatches, remembered in the pod's view for the set's spec it was
 * checked against: stored objects never change, and a status update keeps the set's spec.
 */
export function identityAndStorageMatch(set: Sts, view: PodView): boolean {
  if (view.identitySpec === set.spec && view.identityUid === set.metadata.uid) return view.identityOk;
  const ok = identityMatches(set, view.pod) && storageMatches(set, view.pod);
  view.identitySpec = set.spec;
  view.identityUid = set.metadata.uid;
  view.identityOk = ok;
  return ok;
}

/** The claim checks of the views, over the controller's cache of claims. */
export interface ClaimChecks {
  /** A claim changed in the cache: the checks made from its previous version no longer hold. */
  claimChanged(ns: string | undefined, name: string): void;
  /** Makes the view's claim answers current (whether all its claims exist, whether they match the retention policy). */
  checkClaims(set: Sts, view: PodView): void;
}

export function claimChecks(cache: Cache): ClaimChecks {
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

  return { claimChanged, checkClaims };
}
