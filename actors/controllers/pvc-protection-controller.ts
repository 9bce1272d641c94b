/**
 * The PVC protection controller (kube-controller-manager's pvc-protection-controller): a claim
 * being deleted keeps its `kubernetes.io/pvc-protection` finalizer while a scheduled pod uses it.
 *
 * Owns: the removal of the kubernetes.io/pvc-protection finalizer. Adding it to claims that
 * lack it is left to the StorageObjectInUseProtection admission plugin (every claim in ksim is
 * created through it).
 *
 * Receives: its informers' lists and watch events for PersistentVolumeClaims and Pods (pods
 *           indexed by the claims they use); api.response.
 * Sends:    api.request update PersistentVolumeClaim (finalizers, with the cached
 *           resourceVersion) and list Pod (the live check).
 *
 * Follows pkg/controller/volume/pvcprotection/pvc_protection_controller.go at v1.30: processPVC,
 * isBeingUsed (the informer first, then a live list from the API server, so that a pod not yet
 * in the cache cannot be missed), podUsesPVC (only pods with spec.nodeName count, whatever their
 * phase: a finished pod that still exists keeps blocking), podIsShutDown (generic ephemeral
 * volumes of a pod deleted with grace 0 do not block), and the pod event filter
 * (enqueuePVCs). One worker, as kube-controller-manager starts it, once its caches synced; a
 * failed sync is retried with the work queue's DefaultControllerRateLimiter (src/workqueue.ts).
 */
import type { Component, Port } from '../../src/component.ts';
import { ApiClient } from '../../src/api-client.ts';
import { Informers, POD_CLAIM_INDEX, podClaimIndex, type ChangeType } from '../../src/informer.ts';
import { WorkQueue } from '../../src/workqueue.ts';
import type { KObject, Msg } from '../../src/protocol.ts';
import { isPodTerminated, PVC_PROTECTION_FINALIZER, type ClaimObj, type PodObj } from './pv-utils.ts';
import { deepCopy } from '../../src/model/objects.ts';

/** kube-controller-manager's name for it (cmd/kube-controller-manager/names, v1.30). */
export const PVC_PROTECTION_CONTROLLER = 'persistentvolumeclaim-protection-controller';

/** protectionutil.IsDeletionCandidate. */
export function isDeletionCandidate(obj: KObject, finalizer: string): boolean {
  return !!obj.metadata.deletionTimestamp && (obj.metadata.finalizers ?? []).includes(finalizer);
}

/** podIsShutDown: the kubelet is done with the pod (deleted with grace 0) or it was force-deleted. */
export function podIsShutDown(pod: PodObj): boolean {
  return !!pod.metadata.deletionTimestamp && pod.metadata.deletionGracePeriodSeconds === 0;
}

/** podUsesPVC: only a pod on a node uses a claim, whatever its phase. */
export function podUsesPVC(pod: PodObj, claim: ClaimObj): boolean {
  if (!pod.spec?.nodeName) return false;
  for (const v of pod.spec?.volumes ?? []) {
    if (v.persistentVolumeClaim && v.persistentVolumeClaim.claimName === claim.metadata.name) return true;
    if (v.ephemeral && !podIsShutDown(pod) && `${pod.metadata.name ?? ''}-${v.name}` === claim.metadata.name) {
      // ephemeral.VolumeIsForPod: the claim is owned by this pod.
      if ((claim.metadata.ownerReferences ?? []).some((r) => r.controller && r.uid === pod.metadata.uid)) return true;
    }
  }
  return false;
}

export function pvcProtectionController(port: Port): Component {
  const api = new ApiClient(port);
  const informers = new Informers(port, api, { kinds: ['PersistentVolumeClaim', 'Pod'], onChange, onSynced: () => queue.run() });
  const cache = informers.cache;
  cache.addIndex('Pod', POD_CLAIM_INDEX, podClaimIndex);
  const queue = new WorkQueue(port, { name: 'pvcs', workers: 1, process: processPVC, paused: true });

  function processPVC(key: string, done: (err?: string) => void): void {
    const i = key.indexOf('/');
    const ns = key.slice(0, i);
    const claim = cache.get<ClaimObj>('PersistentVolumeClaim', ns, key.slice(i + 1));
    if (!claim || !isDeletionCandidate(claim, PVC_PROTECTION_FINALIZER)) return done();
    // The claim should go: keep it only while a pod uses it.
    if (cache.byIndex<PodObj>('Pod', POD_CLAIM_INDEX, key).some((p) => podUsesPVC(p, claim))) return done();
    // Not in our cache does not mean no such pod: it may not have reached us yet. Ask.
    api.request({ verb: 'list', kind: 'Pod', namespace: ns }, (res) => {
      if (!res.ok) return done(res.status?.message ?? 'list failed');
      if ((res.items ?? []).some((p) => podUsesPVC(p as PodObj, claim))) return done();
      removeFinalizer(claim, done);
    });
  }

  function removeFinalizer(claim: ClaimObj, done: (err?: string) => void): void {
    const clone = deepCopy(claim) as ClaimObj;
    clone.metadata.finalizers = (clone.metadata.finalizers ?? []).filter((f) => f !== PVC_PROTECTION_FINALIZER);
    api.request({ verb: 'update', kind: 'PersistentVolumeClaim', namespace: claim.metadata.namespace ?? 'default', name: claim.metadata.name ?? '', obj: clone }, (res) => {
      if (!res.ok) return done(res.status?.message ?? 'update failed');
      done();
    });
  }

  /** podAddedDeletedUpdated / enqueuePVCs: only pods that may stop blocking a claim matter. */
  function enqueuePVCs(pod: PodObj, deleted: boolean): void {
    if (!deleted && !isPodTerminated(pod) && !podIsShutDown(pod) && pod.spec?.nodeName) return;
    const ns = pod.metadata.namespace ?? '';
    for (const v of pod.spec?.volumes ?? []) {
      if (v.persistentVolumeClaim) queue.add(`${ns}/${v.persistentVolumeClaim.claimName}`);
      else if (v.ephemeral) queue.add(`${ns}/${pod.metadata.name ?? ''}-${v.name}`);
    }
  }

  function onChange(type: ChangeType, obj: KObject, old: KObject | undefined): void {
    if (obj.kind === 'PersistentVolumeClaim') {
      if (type !== 'DELETED' && isDeletionCandidate(obj, PVC_PROTECTION_FINALIZER)) queue.add(`${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`);
      return;
    }
    enqueuePVCs(obj as PodObj, type === 'DELETED');
    // An update may hide the deletion of a pod and the creation of another with its name.
    if (old && type !== 'DELETED' && old.metadata.uid !== obj.metadata.uid) enqueuePVCs(old as PodObj, true);
  }

  return {
    start(): void {
      informers.start();
    },
    receive(msg: Msg): void {
      if (!api.handle(msg)) informers.handle(msg);
    },
    timer(key: string): void {
      if (!api.timer(key) && !informers.timer(key)) queue.timer(key);
    },
  };
}
