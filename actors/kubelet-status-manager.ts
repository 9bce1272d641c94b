/**
 * The kubelet's status manager: it owns the status of the pods on its node and writes it to the
 * API server, and sends the final delete of a pod whose containers have stopped. Part of the one
 * kubelet actor (kubelet.ts makes it); its timers `status/<uid>` and `delete/<uid>` come back
 * through kubelet.ts's timer dispatch.
 *
 * Sends: api.request updateStatus Pod, delete Pod (grace 0, the pod's uid as precondition).
 *
 * Follows pkg/kubelet/status/status_manager.go at v1.30 (SetPodStatus, syncPod, canBeDeleted):
 * a write that fails or gets no answer is retried at the next sync, syncPeriod (10 s) later.
 */
import type { PodStatus } from 'kubernetes-types/core/v1.js';
import type { Port } from '../src/component.ts';
import type { ApiClient } from '../src/api-client.ts';
import type { KObject } from '../src/protocol.ts';
import type { PodRec } from './kubelet-pods.ts';

// pkg/kubelet/status/status_manager.go: syncPeriod, how often pod statuses are synced.
const STATUS_SYNC_MS = 10_000;

export interface StatusManager {
  writeStatus(rec: PodRec, status: PodStatus): void;
  deletePod(rec: PodRec): void;
}

/** `pods`: the kubelet's pod records by uid (a write about a pod no longer there is not retried). */
export function statusManager(port: Port, api: ApiClient, pods: ReadonlyMap<string, PodRec>): StatusManager {
  /**
   * The status manager: the kubelet owns pod status and writes it like a patch would (no
   * resourceVersion). A write that fails or gets no answer (a lost message, the API server away)
   * is written again at the next sync, syncPeriod (10 s) later (status_manager.go), with the
   * latest status; the pod being gone ends it.
   */
  function writeStatus(rec: PodRec, status: PodStatus): void {
    rec.status = status;
    const { resourceVersion: _rv, ...metadata } = rec.pod.metadata!;
    const obj: KObject = { ...(rec.pod as KObject), metadata, status };
    const seq = ++rec.statusSeq;
    api.request({ verb: 'updateStatus', kind: 'Pod', namespace: rec.pod.metadata!.namespace!, name: rec.pod.metadata!.name!, obj }, (res) => {
      if (res.ok || res.status?.code === 404 || seq !== rec.statusSeq || pods.get(rec.uid) !== rec) return;
      port.setTimer(`status/${rec.uid}`, STATUS_SYNC_MS);
    });
  }

  /**
   * The status manager's final delete of a terminated pod (grace 0, with the pod's uid as
   * precondition): one that fails or gets no answer is sent again at the next sync, syncPeriod
   * later (status_manager.go syncPod: canBeDeleted), until the pod is gone.
   */
  function deletePod(rec: PodRec): void {
    const m = rec.pod.metadata!;
    api.request({ verb: 'delete', kind: 'Pod', namespace: m.namespace!, name: m.name!, gracePeriodSeconds: 0, uid: rec.uid }, (res) => {
      if (res.ok || res.status?.code === 404 || res.status?.code === 409 || pods.get(rec.uid) !== rec) return;
      port.setTimer(`delete/${rec.uid}`, STATUS_SYNC_MS);
    });
  }

  return { writeStatus, deletePod };
}
