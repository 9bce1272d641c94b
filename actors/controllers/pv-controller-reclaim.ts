/**
 * The PersistentVolume controller's reclaiming of released volumes (pv-controller.ts), as
 * pv_controller.go does it: reclaimVolume by the volume's persistentVolumeReclaimPolicy
 * (Retain: nothing; Delete: deleteVolumeOperation and doDeleteVolume through the in-tree deleter;
 * Recycle: recycleVolumeOperation), isVolumeReleased and isVolumeUsed, and the recycler pod
 * (pkg/volume/util/recyclerclient RecycleVolumeByWatchingPodUntilCompletion: create the pod,
 * wait for it to end, delete it).
 *
 * Owns: the recycler pods it waits for (`recycler-for-<pv>` in `default`). The operations run
 * through scheduleOperation (pv-controller-base.ts), one per volume at a time, with backoff.
 * The hostPath deleter wipes no data (upstream it removes files on the controller-manager's own
 * host); the rbd deleter sends DeleteVolume to the volume's Ceph backend.
 */
import type { ChangeType } from '../../src/informer.ts';
import type { WatchEvent } from '../../src/protocol.ts';
import { GRPC } from '../../backends/protocol.ts';
import { backendForSource } from '../../backends/registry.ts';
import { errText, type Fail, type PvBase } from './pv-controller-base.ts';
import type { PvBind } from './pv-controller-bind.ts';
import type { End } from './pv-controller-queue.ts';
import {
  ANN_MIGRATED_TO,
  HOSTPATH_TMP,
  capacityBytes,
  claimRefKey,
  findDeletablePlugin,
  isPodTerminated,
  recyclerForSource,
  recyclerPod,
  reclaimPolicy,
  type ClaimObj,
  type PodObj,
  type PvObj,
} from './pv-utils.ts';

/** The reclaim operations, as the syncs and provisioning use them. */
export type PvReclaim = ReturnType<typeof pvReclaim>;

export function pvReclaim(base: PvBase, bindings: PvBind, opts: { reclaimWhileBound: boolean }) {
  const { reclaimWhileBound } = opts;
  const { cache, event, get, call, csiCall, scheduleOperation, podsUsingClaim } = base;
  const { updateVolumePhaseWithEvent, unbindVolume } = bindings;
  /** Recycler pods (ns/name) being waited for, and what to do when each finishes. */
  const recyclers = new Map<string, (err?: string) => void>();

  // -------------------------------------------------------------------------------------------
  // Reclaim (reclaimVolume, deleteVolumeOperation, recycleVolumeOperation)

  function reclaimVolume(volume: PvObj, end: End): void {
    if (volume.metadata.annotations?.[ANN_MIGRATED_TO]) return end();
    const uid = volume.metadata.uid ?? '';
    const name = volume.metadata.name ?? '';
    switch (reclaimPolicy(volume)) {
      case 'Retain':
        return end();
      case 'Recycle':
        scheduleOperation(`recycle-${name}[${uid}]`, (done) => recycleVolumeOperation(volume, done));
        return end();
      case 'Delete':
        // An external deleter (provisioned-by names a non-kubernetes.io provisioner) does the
        // work; upstream's operation would only re-read the PV to find that out, every sync.
        if (findDeletablePlugin(volume).kind === 'external') return end();
        scheduleOperation(`delete-${name}[${uid}]`, (done) => deleteVolumeOperation(volume, done));
        return end();
      default:
        updateVolumePhaseWithEvent(volume, 'Failed', 'Warning', 'VolumeUnknownReclaimPolicy', 'Volume has unrecognized PersistentVolumeReclaimPolicy', end, () => end());
    }
  }

  /** isVolumeReleased: it has a claimRef whose claim is gone, or is bound to another volume. */
  function isVolumeReleased(volume: PvObj): boolean {
    const ref = volume.spec?.claimRef;
    if (!ref || !ref.uid) return false;
    const claim = cache.get<ClaimObj>('PersistentVolumeClaim', ref.namespace ?? '', ref.name ?? '');
    // BUG (--bug reclaim-delete-while-bound): a claim being deleted is taken for a deleted one.
    if (claim && claim.metadata.uid === ref.uid && !(reclaimWhileBound && claim.metadata.deletionTimestamp)) {
      const vn = claim.spec?.volumeName ?? '';
      return vn !== '' && vn !== volume.metadata.name;
    }
    return true;
  }

  /** isVolumeUsed: active pods (ns/name) using the volume's claim. */
  function isVolumeUsed(pv: PvObj): string[] {
    const ref = pv.spec?.claimRef;
    if (!ref) return [];
    return podsUsingClaim(claimRefKey(ref))
      .filter((p) => !isPodTerminated(p))
      .map((p) => `${p.metadata.namespace ?? ''}/${p.metadata.name ?? ''}`);
  }

  function deleteVolumeOperation(volume: PvObj, done: (err?: string) => void): void {
    const name = volume.metadata.name ?? '';
    // Read the current state: a previous operation may have changed it meanwhile.
    get('PersistentVolume', undefined, name, (res) => {
      if (!res.ok) return done();
      const current = res.obj as PvObj;
      // HonorPVReclaimPolicy is alpha (off) in v1.30: a volume being deleted is left alone.
      if (current.metadata.deletionTimestamp) return done();
      if (!isVolumeReleased(current)) return done();
      doDeleteVolume(volume, (err) => {
        // The plugin failed: mark the volume Failed; the next syncs retry the deletion.
        updateVolumePhaseWithEvent(volume, 'Failed', 'Warning', 'VolumeFailedDelete', err, () => done(err), () => done(err));
      }, (deleted) => {
        if (!deleted) return done(); // an external deleter will do it
        call({ verb: 'delete', kind: 'PersistentVolume', name }, () => done());
      });
    });
  }

  /** doDeleteVolume: finds the deleter plugin and deletes the storage asset. */
  function doDeleteVolume(volume: PvObj, fail: Fail, k: (deleted: boolean) => void): void {
    const found = findDeletablePlugin(volume);
    if (found.kind === 'external') return k(false);
    if (found.kind === 'error') return fail(found.error);
    if (found.plugin === 'kubernetes.io/host-path') {
      const path = volume.spec?.hostPath?.path ?? '';
      if (!HOSTPATH_TMP.test(path)) return fail(`host_path deleter only supports /tmp/.+ but received provided ${path}`);
      // The files lived on the controller-manager's host upstream; nothing is wiped here.
      return k(true);
    }
    // kubernetes.io/rbd: remove the image from its Ceph cluster.
    const rbd = volume.spec?.rbd;
    if (!rbd) return fail('spec.PersistentVolumeSource.RBD is nil');
    const backend = backendForSource(volume.spec ?? {});
    csiCall(backend?.name ?? 'ceph', { method: 'DeleteVolume', volumeId: `${rbd.pool ?? 'rbd'}/${rbd.image}` }, (r) => {
      if (r.code === GRPC.OK) return k(true);
      fail(r.message);
    });
  }

  function recycleVolumeOperation(volume: PvObj, done: (err?: string) => void): void {
    const name = volume.metadata.name ?? '';
    get('PersistentVolume', undefined, name, (res) => {
      if (!res.ok) return done();
      const current = res.obj as PvObj;
      if (!isVolumeReleased(current)) return done();
      const pods = isVolumeUsed(current);
      const ref = volume.spec?.claimRef;
      const claimCached = !!ref && !!cache.get('PersistentVolumeClaim', ref.namespace ?? '', ref.name ?? '');
      if (pods.length > 0 && !claimCached) {
        event(volume, 'Normal', 'VolumeFailedRecycle', `Volume is used by pods: ${pods.join(',')}`);
        return done();
      }
      if (!recyclerForSource(current)) {
        // No recycler: Failed, and every sync tries again.
        return updateVolumePhaseWithEvent(current, 'Failed', 'Warning', 'VolumeFailedRecycle', 'No recycler plugin found for the volume!', () => done(), () => done());
      }
      runRecycler(current, (err) => {
        if (err) {
          const strerr = `Recycle failed: ${err}`;
          return updateVolumePhaseWithEvent(current, 'Failed', 'Warning', 'VolumeFailedRecycle', strerr, () => done(strerr), () => done(strerr));
        }
        event(current, 'Normal', 'VolumeRecycled', 'Volume recycled');
        // Make the volume available again (re-read: the phase may have moved meanwhile).
        get('PersistentVolume', undefined, name, (again) => {
          if (!again.ok || !again.obj) return done();
          unbindVolume(again.obj as PvObj, () => done(), () => done());
        });
      });
    });
  }

  /**
   * RecycleVolumeByWatchingPodUntilCompletion (volume/util/recyclerclient): create the
   * plugin's recycler pod, wait for it to succeed or fail (it empties the volume), delete it.
   * The pod's own events are not forwarded to the PV as `RecyclerPod` events (ksim has no watch
   * on Events).
   */
  function runRecycler(pv: PvObj, cb: (err?: string) => void): void {
    const pod = recyclerPod(pv, capacityBytes(pv));
    const key = `default/${pod.metadata.name}`;
    call({ verb: 'create', kind: 'Pod', namespace: 'default', name: pod.metadata.name!, obj: pod }, (res) => {
      if (!res.ok) {
        if (res.status?.code === 409) {
          // Someone's pod of that name (an old recycler, or one forged to block recycling) goes.
          call({ verb: 'delete', kind: 'Pod', namespace: 'default', name: pod.metadata.name! }, () => cb('old recycler pod found, will retry later'));
          return;
        }
        return cb(`unexpected error creating recycler pod:  ${errText(res)}`);
      }
      recyclers.set(key, (err) => {
        recyclers.delete(key);
        // In all cases delete the recycler pod.
        call({ verb: 'delete', kind: 'Pod', namespace: 'default', name: pod.metadata.name! }, () => cb(err === undefined ? undefined : `failed to recycle volume: ${err}`));
      });
      // The watch may have shown the pod's end already.
      const seen = cache.get<PodObj>('Pod', 'default', pod.metadata.name!);
      if (seen && seen.metadata.uid === res.obj?.metadata.uid) watchRecycler('MODIFIED', seen);
    });
  }

  /** waitForPod: the recycler pod's watch events until it finishes. */
  function watchRecycler(ev: WatchEvent['event'], pod: PodObj): void {
    const finish = recyclers.get(`${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`);
    if (!finish) return;
    if (ev === 'DELETED') return finish('recycler pod was deleted');
    const phase = pod.status?.phase;
    if (phase === 'Succeeded') return finish();
    if (phase === 'Failed') return finish(pod.status?.message || 'pod failed, pod.Status.Message unknown.');
  }

  /** A Pod's watch event: the recycler pods being waited for (waitForPod). */
  function podChanged(type: ChangeType, pod: PodObj): void {
    if (recyclers.size > 0) watchRecycler(type, pod);
  }

  return { reclaimVolume, doDeleteVolume, podChanged };
}
