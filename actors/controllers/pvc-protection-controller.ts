/**
 * The PVC protection controller (kube-controller-manager's pvc-protection-controller): a claim
 * being deleted keeps its `kubernetes.io/pvc-protection` finalizer while a scheduled pod uses it.
 *
 * Owns: the removal of the kubernetes.io/pvc-protection finalizer. Adding it to claims that
 * lack it is left to the StorageObjectInUseProtection admission plugin (every claim in ksim is
 * created through it).
 *
 * Receives: watch events for PersistentVolumeClaims and Pods; api.response.
 * Sends:    api.request update PersistentVolumeClaim (finalizers, with the cached
 *           resourceVersion) and list Pod (the live check).
 *
 * Follows pkg/controller/volume/pvcprotection/pvc_protection_controller.go at v1.30: processPVC,
 * isBeingUsed (the informer first, then a live list from the API server, so that a pod not yet
 * in the cache cannot be missed), podUsesPVC (only pods with spec.nodeName count, whatever their
 * phase: a finished pod that still exists keeps blocking), podIsShutDown (generic ephemeral
 * volumes of a pod deleted with grace 0 do not block), and the pod event filter
 * (enqueuePVCs). One worker, as kube-controller-manager starts it. A failed sync is retried with
 * the workqueue's per-item backoff: 5 ms doubling to 1000 s
 * (workqueue.DefaultControllerRateLimiter).
 */
import type { Component, Port } from '../../src/component.ts';
import { ApiClient, REQUEST_TIMEOUT_MS, type RequestBody } from '../../src/api-client.ts';
import { Cache } from '../../src/informer.ts';
import type { ApiResponse, KObject, Msg, WatchEvent } from '../../src/protocol.ts';
import { isPodTerminated, PVC_PROTECTION_FINALIZER, type ClaimObj, type PodObj } from './pv-utils.ts';
import { deepCopy } from '../../src/model/objects.ts';

export const PVC_PROTECTION_CONTROLLER = 'pvc-protection-controller';

// workqueue.DefaultControllerRateLimiter: ItemExponentialFailureRateLimiter(5ms, 1000s).
const BASE_DELAY_MS = 5;
const MAX_DELAY_MS = 1_000_000;

/**
 * A rate-limited work queue with one worker: keys are deduplicated, taken in sorted order, and
 * a key that fails is added again after 5 ms * 2^(failures-1), capped at 1000 s.
 */
export class ProtectionQueue {
  private readonly pending = new Set<string>();
  private running: string | undefined;
  private again = false;
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly port: Port,
    private readonly process: (key: string, done: (err?: string) => void) => void,
  ) {}

  add(key: string): void {
    if (this.running === key) {
      this.again = true;
      return;
    }
    this.pending.add(key);
    this.kick();
  }

  /** Timer keys of this queue (`retry/<key>`) bring their key back. */
  timer(timerKey: string): boolean {
    if (!timerKey.startsWith('retry/')) return false;
    this.add(timerKey.slice('retry/'.length));
    return true;
  }

  private kick(): void {
    while (this.running === undefined && this.pending.size > 0) {
      let key: string | undefined;
      for (const k of this.pending) if (key === undefined || k < key) key = k;
      this.pending.delete(key!);
      this.running = key!;
      this.again = false;
      let ended = false;
      let inline = true;
      this.process(key!, (err) => {
        if (ended) return;
        ended = true;
        this.running = undefined;
        if (err === undefined) this.failures.delete(key!);
        else this.addRateLimited(key!);
        if (this.again) this.pending.add(key!);
        if (!inline) this.kick();
      });
      inline = false;
      if (!ended) return;
    }
  }

  private addRateLimited(key: string): void {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const delay = n > 30 ? MAX_DELAY_MS : Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (n - 1));
    this.port.setTimer(`retry/${key}`, delay);
  }
}

/**
 * API requests that always answer: a response lost on the bus becomes a 504 after the API
 * server's --request-timeout (1m0s), so a worker never waits forever.
 */
export class TimedRequests {
  constructor(
    private readonly api: ApiClient,
    private readonly port: Port,
    private readonly timeoutMs = REQUEST_TIMEOUT_MS,
  ) {
    void this.port;
  }

  request(body: RequestBody, cb: (res: ApiResponse) => void): void {
    this.api.request(body, cb, this.timeoutMs);
  }

  /** Timer keys of the requests' deadlines: the request timed out. */
  timer(timerKey: string): boolean {
    return this.api.timer(timerKey);
  }
}

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
  const timed = new TimedRequests(api, port);
  const cache = new Cache();
  const queue = new ProtectionQueue(port, processPVC);

  function processPVC(key: string, done: (err?: string) => void): void {
    const i = key.indexOf('/');
    const ns = key.slice(0, i);
    const claim = cache.get<ClaimObj>('PersistentVolumeClaim', ns, key.slice(i + 1));
    if (!claim || !isDeletionCandidate(claim, PVC_PROTECTION_FINALIZER)) return done();
    // The claim should go: keep it only while a pod uses it.
    if (cache.list<PodObj>('Pod', ns).some((p) => podUsesPVC(p, claim))) return done();
    // Not in our cache does not mean no such pod: it may not have reached us yet. Ask.
    timed.request({ verb: 'list', kind: 'Pod', namespace: ns }, (res) => {
      if (!res.ok) return done(res.status?.message ?? 'list failed');
      if ((res.items ?? []).some((p) => podUsesPVC(p as PodObj, claim))) return done();
      removeFinalizer(claim, done);
    });
  }

  function removeFinalizer(claim: ClaimObj, done: (err?: string) => void): void {
    const clone = deepCopy(claim) as ClaimObj;
    clone.metadata.finalizers = (clone.metadata.finalizers ?? []).filter((f) => f !== PVC_PROTECTION_FINALIZER);
    timed.request({ verb: 'update', kind: 'PersistentVolumeClaim', namespace: claim.metadata.namespace ?? 'default', name: claim.metadata.name ?? '', obj: clone }, (res) => {
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

  function onWatch(ev: WatchEvent): void {
    const obj = ev.obj;
    if (obj.kind !== 'PersistentVolumeClaim' && obj.kind !== 'Pod') return;
    const old = cache.apply(ev);
    if (obj.kind === 'PersistentVolumeClaim') {
      if (ev.event !== 'DELETED' && isDeletionCandidate(obj, PVC_PROTECTION_FINALIZER)) queue.add(`${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`);
      return;
    }
    enqueuePVCs(obj as PodObj, ev.event === 'DELETED');
    // An update may hide the deletion of a pod and the creation of another with its name.
    if (old && ev.event !== 'DELETED' && old.metadata.uid !== obj.metadata.uid) enqueuePVCs(old as PodObj, true);
  }

  return {
    start(): void {
      api.watch(['PersistentVolumeClaim', 'Pod']);
    },
    receive(msg: Msg): void {
      if (api.handle(msg)) return;
      if (msg.type === 'watch') onWatch(msg);
    },
    timer(key: string): void {
      if (!timed.timer(key)) queue.timer(key);
    },
  };
}
