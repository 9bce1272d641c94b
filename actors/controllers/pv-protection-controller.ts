/**
 * The PV protection controller (kube-controller-manager's pv-protection-controller): a volume
 * being deleted keeps its `kubernetes.io/pv-protection` finalizer while it is Bound.
 *
 * Owns: the removal of the kubernetes.io/pv-protection finalizer (admission adds it).
 *
 * Receives: watch events for PersistentVolumes; api.response.
 * Sends:    api.request update PersistentVolume (finalizers, with the cached resourceVersion).
 *
 * Follows pkg/controller/volume/pvprotection/pv_protection_controller.go at v1.30: processPV and
 * isBeingUsed, which looks only at status.phase (set by the PV controller): a Bound volume is in
 * use, any other phase is not. One worker; a failed sync is retried with the workqueue's
 * per-item backoff, 5 ms doubling to 1000 s.
 */
import type { Component, Port } from '../../src/component.ts';
import { ApiClient } from '../../src/api-client.ts';
import { Cache } from '../../src/informer.ts';
import type { Msg } from '../../src/protocol.ts';
import { PV_PROTECTION_FINALIZER, type PvObj } from './pv-utils.ts';
import { isDeletionCandidate, ProtectionQueue, TimedRequests } from './pvc-protection-controller.ts';
import { deepCopy } from '../../src/model/objects.ts';

export const PV_PROTECTION_CONTROLLER = 'pv-protection-controller';

export function pvProtectionController(port: Port): Component {
  const api = new ApiClient(port);
  const timed = new TimedRequests(api, port);
  const cache = new Cache();
  const queue = new ProtectionQueue(port, processPV);

  function processPV(name: string, done: (err?: string) => void): void {
    const pv = cache.get<PvObj>('PersistentVolume', undefined, name);
    if (!pv || !isDeletionCandidate(pv, PV_PROTECTION_FINALIZER)) return done();
    // isBeingUsed: the PV controller's phase says whether a claim holds it.
    if (pv.status?.phase === 'Bound') return done();
    const clone = deepCopy(pv) as PvObj;
    clone.metadata.finalizers = (clone.metadata.finalizers ?? []).filter((f) => f !== PV_PROTECTION_FINALIZER);
    timed.request({ verb: 'update', kind: 'PersistentVolume', name, obj: clone }, (res) => {
      if (!res.ok) return done(res.status?.message ?? 'update failed');
      done();
    });
  }

  return {
    start(): void {
      api.watch(['PersistentVolume']);
    },
    receive(msg: Msg): void {
      if (api.handle(msg)) return;
      if (msg.type !== 'watch' || msg.obj.kind !== 'PersistentVolume') return;
      cache.apply(msg);
      if (msg.event !== 'DELETED' && isDeletionCandidate(msg.obj, PV_PROTECTION_FINALIZER)) queue.add(msg.obj.metadata.name ?? '');
    },
    timer(key: string): void {
      if (!timed.timer(key)) queue.timer(key);
    },
  };
}
