/**
 * The PV protection controller (kube-controller-manager's persistentvolume-protection-controller):
 * a volume being deleted keeps its `kubernetes.io/pv-protection` finalizer while it is Bound.
 *
 * Owns: the removal of the kubernetes.io/pv-protection finalizer (admission adds it).
 *
 * Receives: its informer's list and watch events for PersistentVolumes; api.response.
 * Sends:    api.request update PersistentVolume (finalizers, with the cached resourceVersion).
 *
 * Follows pkg/controller/volume/pvprotection/pv_protection_controller.go at v1.30: processPV and
 * isBeingUsed, which looks only at status.phase (set by the PV controller): a Bound volume is in
 * use, any other phase is not. One worker, started once its cache synced; a failed sync is
 * retried with the work queue's DefaultControllerRateLimiter (src/workqueue.ts).
 */
import type { Component, Port } from '../../src/component.ts';
import { ApiClient } from '../../src/api-client.ts';
import { Informers, type ChangeType } from '../../src/informer.ts';
import { WorkQueue } from '../../src/workqueue.ts';
import type { KObject, Msg } from '../../src/protocol.ts';
import { PV_PROTECTION_FINALIZER, type PvObj } from './pv-utils.ts';
import { isDeletionCandidate } from './pvc-protection-controller.ts';
import { deepCopy } from '../../src/model/objects.ts';

/** kube-controller-manager's name for it (cmd/kube-controller-manager/names, v1.30). */
export const PV_PROTECTION_CONTROLLER = 'persistentvolume-protection-controller';

export function pvProtectionController(port: Port): Component {
  const api = new ApiClient(port);
  const informers = new Informers(port, api, { kinds: ['PersistentVolume'], onChange, onSynced: () => queue.run() });
  const cache = informers.cache;
  const queue = new WorkQueue(port, { name: 'pvs', workers: 1, process: processPV, paused: true });

  function processPV(name: string, done: (err?: string) => void): void {
    const pv = cache.get<PvObj>('PersistentVolume', undefined, name);
    if (!pv || !isDeletionCandidate(pv, PV_PROTECTION_FINALIZER)) return done();
    // isBeingUsed: the PV controller's phase says whether a claim holds it.
    if (pv.status?.phase === 'Bound') return done();
    const clone = deepCopy(pv) as PvObj;
    clone.metadata.finalizers = (clone.metadata.finalizers ?? []).filter((f) => f !== PV_PROTECTION_FINALIZER);
    api.request({ verb: 'update', kind: 'PersistentVolume', name, obj: clone }, (res) => {
      if (!res.ok) return done(res.status?.message ?? 'update failed');
      done();
    });
  }

  function onChange(type: ChangeType, obj: KObject): void {
    if (type !== 'DELETED' && isDeletionCandidate(obj, PV_PROTECTION_FINALIZER)) queue.add(obj.metadata.name ?? '');
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
