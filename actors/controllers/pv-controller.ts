/**
 * The PersistentVolume controller (kube-controller-manager's persistentvolume-binder):
 * binding claims to volumes, the phases of both, provisioning through in-tree plugins, and
 * reclaiming released volumes.
 *
 * Owns: the binding between PersistentVolumes and PersistentVolumeClaims (pv.spec.claimRef,
 * pvc.spec.volumeName and the bind annotations), PV and PVC status.phase, PVs it provisions
 * in-tree (`pvc-<claim uid>`) and their deletion under the Delete policy. It decides only from
 * its own watch-fed Cache of PVs, PVCs, StorageClasses and Pods (pods only to name the
 * unscheduled consumers of a WaitForFirstConsumer claim and the users of a volume to recycle).
 *
 * Receives: watch events; api.response for its own requests; csi.response from storage
 *           backends (in-tree kubernetes.io/rbd provisioning and deletion).
 * Sends:    api.request update/updateStatus PersistentVolume and PersistentVolumeClaim (with
 *           the cached resourceVersion: a 409 is retried when the watch brings the newer
 *           object), create/get/delete PersistentVolume, get PersistentVolumeClaim;
 *           api.event (source persistentvolume-controller); csi.request CreateVolume and
 *           DeleteVolume to `backend/<name>` (backends/registry.ts).
 *
 * Follows pkg/controller/volume/persistentvolume at v1.30, one role to a file:
 * - this file: the component, and the sync decisions of pv_controller.go (syncClaim,
 *   syncUnboundClaim, syncBoundClaim, syncVolume) with their OBSERVATION branches;
 * - pv-controller-bind.ts: the writes of a binding (bind, unbindVolume, the status updates);
 * - pv-controller-reclaim.ts: reclaimVolume, deleteVolumeOperation, recycleVolumeOperation;
 * - pv-controller-provision.ts: provisionClaim and its operations, the in-tree provisioners;
 * - pv-controller-base.ts: pv_controller_base.go (informers, the two work queues and their
 *   workers in pv-controller-queue.ts, resync, deleteClaim/deleteVolume), scheduleOperation;
 * - pv-index.ts: index.go; pv-utils.ts: the pure helpers (util/, the event texts' inputs).
 *
 * Defaults (each kept in the file that uses it): resync every 15 s (PVClaimBinderSyncPeriod,
 * pkg/controller/volume/persistentvolume/config/v1alpha1/defaults.go); a provisioned PV object
 * is saved up to 5 times 10 s apart (createProvisionedPVRetryCount/Interval, pv_controller.go);
 * a failed operation is not retried before 500 ms, doubling to 2m2s
 * (pkg/util/goroutinemap/exponentialbackoff).
 *
 * Differences forced by the bus, and choices:
 * - An API call does not block. Each of the two queues (claims, volumes — upstream runs one
 *   worker for each) works on one object at a time and waits for the writes of that sync to be
 *   answered before it takes the next key; asynchronous operations (provision, delete,
 *   recycle) run beside them, at most one per operation name, as goroutinemap runs them.
 * - Its informers (src/informer.ts; pods indexed by the claims they use, as the podIndexer's
 *   PodPVCIndex) list, then watch; once every kind has been listed (WaitForCacheSync) the first
 *   pass syncs volumes before claims, so that static volumes are Available when claims look.
 * - Resync costs nothing when there is nothing to do: its timer runs only while some claim is
 *   unbound, some released volume still has in-tree reclaim work, or an operation is waiting
 *   to be retried; ticks keep the 15 s grid counted from the controller's start.
 * - The in-tree hostPath provisioner is enabled (kube-controller-manager's
 *   --enable-hostpath-provisioner, off by default upstream), and its PVs get node affinity to
 *   the selected node. The hostPath deleter wipes no data in this version (upstream it removes
 *   files on the controller-manager's own host): Delete removes the PV object. Recycle runs the
 *   plugin's recycler pod (`recycler-for-<pv>`), which the scheduler places and a kubelet runs:
 *   it empties the volume, and only then is the PV made Available again.
 */
import type { Component, Port } from '../../src/component.ts';
import { deepCopy } from '../../src/model/objects.ts';
import { pvControllerBase } from './pv-controller-base.ts';
import { pvBind } from './pv-controller-bind.ts';
import { pvProvision } from './pv-controller-provision.ts';
import { pvReclaim } from './pv-controller-reclaim.ts';
import type { End } from './pv-controller-queue.ts';
import {
  ANN_BIND_COMPLETED,
  ANN_BOUND_BY_CONTROLLER,
  ANN_DYNAMICALLY_PROVISIONED,
  checkVolumeModeMismatches,
  checkVolumeSatisfyClaim,
  claimHasClass,
  claimKey,
  claimRefKey,
  getClaimClass,
  getDefaultClass,
  hasAnnotation,
  isDelayBindingMode,
  isDelayBindingProvisioning,
  isPodTerminated,
  isVolumeBoundToClaim,
  reclaimPolicy,
  type ClaimObj,
  type PvObj,
} from './pv-utils.ts';

/** kube-controller-manager's name for it (cmd/kube-controller-manager/names, v1.30); its Events' source. */
export const PV_CONTROLLER = 'persistentvolume-binder-controller';

type ClaimRef = NonNullable<NonNullable<PvObj['spec']>['claimRef']>;

export function pvController(port: Port, opts: { resyncMs?: number; bug?: string } = {}): Component {
  // --bug binder-ignore-access-modes: findMatch takes any volume, whatever its access modes.
  const ignoreAccessModes = opts.bug === 'binder-ignore-access-modes';
  // --bug reclaim-delete-while-bound: a claim being deleted counts as gone (its protection
  // finalizer ignored), so its volume is released and reclaimed while still Bound and in use.
  const reclaimWhileBound = opts.bug === 'reclaim-delete-while-bound';
  const base = pvControllerBase(port, { resyncMs: opts.resyncMs, reclaimWhileBound }, {
    syncVolume: (volume, end) => syncVolume(volume, end),
    syncClaim: (claim, end) => syncClaim(claim, end),
    podChanged: (type, pod) => reclaim.podChanged(type, pod),
  });
  const { cache, index, claims, event, write, get, getClass, podsUsingClaim } = base;
  const bindings = pvBind(base);
  const { updateClaimStatus, updateClaimStatusWithEvent, updateVolumePhase, bind, unbindVolume } = bindings;
  const reclaim = pvReclaim(base, bindings, { reclaimWhileBound });
  const { reclaimVolume } = reclaim;
  const { provisionClaim } = pvProvision(base, reclaim);

  // -------------------------------------------------------------------------------------------
  // Claims (syncClaim, syncUnboundClaim, syncBoundClaim)

  function syncClaim(claim: ClaimObj, end: End): void {
    if (!hasAnnotation(claim, ANN_BIND_COMPLETED)) syncUnboundClaim(claim, end);
    else syncBoundClaim(claim, end);
  }

  function syncUnboundClaim(claim: ClaimObj, end: End): void {
    // OBSERVATION: pvc is "Pending"
    const volumeName = claim.spec?.volumeName ?? '';
    if (volumeName === '') {
      // User did not care which PV they get.
      const delay = isDelayBindingMode(claim, getClass);
      if (!delay.ok) {
        port.note(`sync claim ${claimKey(claim)}: ${delay.error}`);
        return end();
      }
      const volume = index.findMatch(claim, { delayBinding: delay.delay, ignoreAccessModes }) as PvObj | undefined;
      if (volume) {
        // OBSERVATION: pvc is "Pending", pv is "Available"
        return bind(volume, claim, end);
      }
      // No PV could be found. Try to provision one if possible.
      return assignDefaultStorageClass(claim, end, (updated) => {
        // The class was written: the sync starts over when the watch brings the claim back.
        if (updated) return end();
        if (delay.delay && !isDelayBindingProvisioning(claim)) {
          // Scheduler does not observe any pod using this claim.
          emitEventForUnboundDelayBindingClaim(claim);
        } else if (getClaimClass(claim) !== '') {
          // The claim is updated by the (asynchronous) provisioning operation; no status write.
          provisionClaim(claim);
          return end();
        } else {
          event(claim, 'Normal', 'FailedBinding', 'no persistent volumes available for this claim and no storage class is set');
        }
        // Mark the claim as Pending and try to find a match in the next periodic sync.
        updateClaimStatus(claim, 'Pending', undefined, end, () => end());
      });
    }
    // User asked for a specific PV.
    const volume = cache.get<PvObj>('PersistentVolume', undefined, volumeName);
    if (!volume) {
      // OBSERVATION: pvc is "Pending"; the PV does not exist (yet). Retry later.
      return updateClaimStatus(claim, 'Pending', undefined, end, () => end());
    }
    if (!volume.spec?.claimRef) {
      // OBSERVATION: pvc is "Pending", pv is "Available"
      const err = checkVolumeSatisfyClaim(volume, claim);
      if (err) {
        event(claim, 'Warning', 'VolumeMismatch', `Cannot bind to requested volume "${volumeName}": ${err}`);
        return updateClaimStatus(claim, 'Pending', undefined, end, () => end());
      }
      return bind(volume, claim, end);
    }
    if (isVolumeBoundToClaim(volume, claim)) {
      // OBSERVATION: pvc is "Pending", pv is "Bound": finish the binding (claim uid).
      return bind(volume, claim, end);
    }
    // OBSERVATION: pvc is "Pending", pv is "Bound" to someone else.
    event(claim, 'Warning', 'FailedBinding', `volume "${volumeName}" already bound to a different claim.`);
    if (!hasAnnotation(claim, ANN_BOUND_BY_CONTROLLER)) return updateClaimStatus(claim, 'Pending', undefined, end, () => end());
    // THIS SHOULD NEVER HAPPEN (someone removed bind-completed from the claim).
    port.note(`invalid binding of claim ${claimKey(claim)} to volume ${volumeName}: volume already claimed by ${claimRefKey(volume.spec.claimRef)}`);
    end();
  }

  function syncBoundClaim(claim: ClaimObj, end: End): void {
    // OBSERVATION: pvc was bound before (bind-completed).
    const volumeName = claim.spec?.volumeName ?? '';
    if (volumeName === '') {
      return updateClaimStatusWithEvent(claim, 'Lost', 'Warning', 'ClaimLost', 'Bound claim has lost reference to PersistentVolume. Data on the volume is lost!', end);
    }
    const volume = cache.get<PvObj>('PersistentVolume', undefined, volumeName);
    if (!volume) {
      return updateClaimStatusWithEvent(claim, 'Lost', 'Warning', 'ClaimLost', 'Bound claim has lost its PersistentVolume. Data on the volume is lost!', end);
    }
    if (!volume.spec?.claimRef) {
      // The volume came unbound, or we have not seen our own write yet: bind again.
      return bind(volume, claim, end);
    }
    if ((volume.spec.claimRef.uid ?? '') === (claim.metadata.uid ?? '')) {
      // All is well; bind() writes nothing when everything is already set.
      return bind(volume, claim, end);
    }
    // The volume has a different claimant: Lost is terminal.
    updateClaimStatusWithEvent(claim, 'Lost', 'Warning', 'ClaimMisbound', 'Two claims are bound to the same volume, this one is bound incorrectly', end);
  }

  /** assignDefaultStorageClass (RetroactiveDefaultStorageClass, GA in v1.28). */
  function assignDefaultStorageClass(claim: ClaimObj, end: End, k: (updated: boolean) => void): void {
    if (claimHasClass(claim)) return k(false);
    const cls = getDefaultClass(cache.list('StorageClass'));
    if (!cls) return k(false);
    const clone = deepCopy(claim) as ClaimObj;
    clone.spec = { ...(clone.spec ?? {}), storageClassName: cls.metadata.name ?? '' };
    write('update', clone, (err) => {
      port.note(`can't update PersistentVolumeClaim["${claimKey(claim)}"]: ${err}`);
      end();
    }, () => k(true));
  }

  /** emitEventForUnboundDelayBindingClaim. */
  function emitEventForUnboundDelayBindingClaim(claim: ClaimObj): void {
    const names = findNonScheduledPodsByPVC(claim);
    if (names.length === 0) event(claim, 'Normal', 'WaitForFirstConsumer', 'waiting for first consumer to be created before binding');
    else if (names.length === 1) event(claim, 'Normal', 'WaitForPodScheduled', `waiting for pod ${names[0]} to be scheduled`);
    else event(claim, 'Normal', 'WaitForPodScheduled', `waiting for pods ${names.join(',')} to be scheduled`);
  }

  /** findNonScheduledPodsByPVC: active pods using the claim that have no node yet. */
  function findNonScheduledPodsByPVC(claim: ClaimObj): string[] {
    return podsUsingClaim(claimKey(claim))
      .filter((p) => !isPodTerminated(p) && !p.spec?.nodeName)
      .map((p) => p.metadata.name ?? '');
  }

  // -------------------------------------------------------------------------------------------
  // Volumes (syncVolume)

  function syncVolume(volume: PvObj, end: End): void {
    const ref = volume.spec?.claimRef;
    if (!ref || !ref.uid) {
      // Volume is unused, or pre-bound to a claim that has not bound yet (the claim's sync
      // will do it).
      if (volume.status?.phase === 'Available') return end();
      return updateVolumePhase(volume, 'Available', '', end, () => end());
    }
    const phase = volume.status?.phase;
    const releasedOrFailed = phase === 'Released' || phase === 'Failed';
    const cached = cache.get<ClaimObj>('PersistentVolumeClaim', ref.namespace ?? '', ref.name ?? '');
    if (cached || releasedOrFailed) return confirmClaim(volume, ref, cached, end);
    // Not in our cache: ask the API server before deciding the claim is gone (it may be new).
    get('PersistentVolumeClaim', ref.namespace ?? '', ref.name ?? '', (res) => {
      if (res.ok) return confirmClaim(volume, ref, res.obj as ClaimObj, end);
      if (res.status?.code === 404) return confirmClaim(volume, ref, undefined, end);
      end();
    });
  }

  /** A claim with another uid than the claimRef's: maybe our copy is old; the API server decides. */
  function confirmClaim(volume: PvObj, ref: ClaimRef, found: ClaimObj | undefined, end: End): void {
    if (!found || (found.metadata.uid ?? '') === ref.uid) return decideVolume(volume, found, end);
    get('PersistentVolumeClaim', ref.namespace ?? '', ref.name ?? '', (res) => {
      if (res.ok) return decideVolume(volume, (res.obj!.metadata.uid ?? '') === ref.uid ? (res.obj as ClaimObj) : undefined, end);
      if (res.status?.code === 404) return decideVolume(volume, undefined, end);
      end();
    });
  }

  function decideVolume(volume: PvObj, found: ClaimObj | undefined, end: End): void {
    // BUG (--bug reclaim-delete-while-bound): a claim being deleted is taken for a deleted one.
    const claim = reclaimWhileBound && found?.metadata.deletionTimestamp ? undefined : found;
    const phase = volume.status?.phase;
    const releasedOrFailed = phase === 'Released' || phase === 'Failed';
    if (!claim) {
      // The claim was deleted: release the volume (never overwrite Failed) and reclaim it.
      if (releasedOrFailed) return reclaimVolume(volume, end);
      return updateVolumePhase(volume, 'Released', '', end, (v) => reclaimVolume(v, end));
    }
    const claimVolume = claim.spec?.volumeName ?? '';
    if (claimVolume === '') {
      if (checkVolumeModeMismatches(claim, volume)) {
        // findMatch will never return this volume for the claim: say why, on both.
        event(volume, 'Warning', 'VolumeMismatch', `Cannot bind PersistentVolume to requested PersistentVolumeClaim "${claim.metadata.name ?? ''}" due to incompatible volumeMode.`);
        event(claim, 'Warning', 'VolumeMismatch', `Cannot bind PersistentVolume "${volume.metadata.name ?? ''}" to requested PersistentVolumeClaim due to incompatible volumeMode.`);
        return end();
      }
      // Bound volume, Pending claim: the claim's sync finishes the binding.
      claims.enqueue(claimKey(claim));
      return end();
    }
    if (claimVolume === volume.metadata.name) {
      // Volume is bound to a claim properly.
      if (phase === 'Bound') return end();
      return updateVolumePhase(volume, 'Bound', '', end, () => end());
    }
    // The claim is bound elsewhere.
    if (hasAnnotation(volume, ANN_DYNAMICALLY_PROVISIONED) && reclaimPolicy(volume) === 'Delete') {
      // Provisioned for this claim, not needed any more: release and delete it.
      if (releasedOrFailed) return reclaimVolume(volume, end);
      return updateVolumePhase(volume, 'Released', '', end, (v) => reclaimVolume(v, end));
    }
    // Bound by the controller: roll back; pre-bound by a user: only the uid goes.
    unbindVolume(volume, end, end);
  }

  return base.component;
}
