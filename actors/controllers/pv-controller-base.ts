/**
 * The PersistentVolume controller's plumbing (pv-controller.ts), as pv_controller_base.go is
 * upstream's: its informers and cache, the claim and volume work queues
 * (pv-controller-queue.ts) and their workers, the watch event handlers (updateVolume,
 * deleteVolume, updateClaim, deleteClaim), the initial cache fill and first pass, resync, and
 * storeObjectUpdate; with them the API and CSI calls every part makes, and scheduleOperation
 * (pv_controller.go over pkg/util/goroutinemap), which runs provision, delete and recycle
 * operations beside the queues.
 *
 * The syncs themselves come from pv-controller.ts (PvSyncs); this file decides nothing about a
 * claim or a volume, except which ones are settled enough for a resync to pass them over.
 *
 * Defaults: resync every 15 s (PVClaimBinderSyncPeriod,
 * pkg/controller/volume/persistentvolume/config/v1alpha1/defaults.go); a failed operation is not
 * retried before 500 ms, doubling to 2m2s (pkg/util/goroutinemap/exponentialbackoff); an in-tree
 * plugin waits 300 s for the storage system (Ceph's client_mount_timeout).
 */
import { perBoot, type Component, type Port } from '../../src/component.ts';
import { ApiClient, REQUEST_TIMEOUT_MS, type RequestBody } from '../../src/api-client.ts';
import { Calls } from '../../src/calls.ts';
import { Informers, POD_CLAIM_INDEX, podClaimIndex, type ChangeType } from '../../src/informer.ts';
import type { ApiResponse, KObject, Msg } from '../../src/protocol.ts';
import { backendAddress, GRPC, type CsiCall, type CsiRequest, type CsiResponse } from '../../backends/protocol.ts';
import { VolumeIndex } from './pv-index.ts';
import { Lane, type Conflict, type End } from './pv-controller-queue.ts';
import {
  ANN_BIND_COMPLETED,
  claimKey,
  claimRefKey,
  findDeletablePlugin,
  hasAnnotation,
  reclaimPolicy,
  rvOf,
  type ClaimObj,
  type PodObj,
  type PvObj,
} from './pv-utils.ts';

const SOURCE = 'persistentvolume-controller';
const KINDS = ['PersistentVolume', 'PersistentVolumeClaim', 'Pod', 'StorageClass'];

// PVClaimBinderSyncPeriod, persistentvolume/config/v1alpha1/defaults.go.
const RESYNC_MS = 15_000;
// goroutinemap/exponentialbackoff: initialDurationBeforeRetry, maxDurationBeforeRetry.
const OP_BACKOFF_INITIAL_MS = 500;
const OP_BACKOFF_MAX_MS = 2 * 60_000 + 2_000;
// How long an in-tree plugin waits for the storage system (Ceph's client_mount_timeout is 300 s).
const BACKEND_TIMEOUT_MS = 300_000;

const ERR_TIMEOUT = 'context deadline exceeded';
// A request whose answer never comes (a lost message) fails after the API server's own
// --request-timeout (REQUEST_TIMEOUT_MS in src/api-client.ts), as the server would answer 504.

export type Fail = (err: string, conflict?: Conflict) => void;

interface Operation {
  running: boolean;
  failures: number;
  retryAtMs: number;
}

/** What pv-controller.ts gives its plumbing: the two syncs the workers run, and Pod events. */
export interface PvSyncs {
  syncVolume(volume: PvObj, end: End): void;
  syncClaim(claim: ClaimObj, end: End): void;
  /** A Pod's watch event, for the recycler pods being waited for (waitForPod). */
  podChanged(type: ChangeType, pod: PodObj): void;
}

export const errText = (res: ApiResponse) => res.status?.message ?? 'unknown error';

/** The plumbing's part of the controller, as the other parts use it. */
export type PvBase = ReturnType<typeof pvControllerBase>;

export function pvControllerBase(port: Port, opts: { resyncMs: number | undefined; reclaimWhileBound: boolean }, syncs: PvSyncs) {
  const { reclaimWhileBound } = opts;
  const api = new ApiClient(port);
  const informers = new Informers(port, api, { kinds: KINDS, onChange, onSynced });
  const cache = informers.cache;
  cache.addIndex('Pod', POD_CLAIM_INDEX, podClaimIndex);
  const index = new VolumeIndex();
  const resyncMs = opts.resyncMs ?? RESYNC_MS;
  const ops = new Map<string, Operation>();
  const csiCalls = new Calls<CsiResponse>(port, 'csi');
  const later = new Map<string, () => void>();
  let seq = 0;
  let synced = false;
  let startMs = 0;
  let resyncArmed = false;

  const volumes = new Lane(
    (name, end) => {
      const pv = cache.get<PvObj>('PersistentVolume', undefined, name);
      if (!pv) return end();
      syncs.syncVolume(pv, end);
    },
    () => {
      // The first pass over volumes is done: let claims look for them.
      if (claims.gated && synced) {
        claims.gated = false;
        claims.kick();
      }
    },
    onConflict,
  );
  const claims = new Lane(
    (key, end) => {
      const i = key.indexOf('/');
      const claim = cache.get<ClaimObj>('PersistentVolumeClaim', key.slice(0, i), key.slice(i + 1));
      if (!claim) return end();
      syncs.syncClaim(claim, end);
    },
    () => undefined,
    onConflict,
  );
  /** Syncs waiting for a newer version of an object (key kind/ns/name) after a 409. */
  const conflictWaiters = new Map<string, { lane: Lane; key: string }[]>();

  function onConflict(lane: Lane, key: string, c: Conflict): void {
    const cur = cache.get(c.kind, c.namespace, c.name);
    // The newer object is already here (its watch event came before the 409): go again now.
    if (!cur || rvOf(cur) > c.rv) return lane.enqueue(key);
    const k = `${c.kind}/${c.namespace ?? ''}/${c.name}`;
    const list = conflictWaiters.get(k) ?? [];
    if (!list.some((w) => w.lane === lane && w.key === key)) list.push({ lane, key });
    conflictWaiters.set(k, list);
  }

  // -------------------------------------------------------------------------------------------
  // Plumbing: events, API writes that also update the cache (storeObjectUpdate), timers

  function event(obj: KObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    api.event(obj, type, reason, message, SOURCE);
  }

  /** storeVolumeUpdate / storeClaimUpdate: keep our own newer writes; never go back in time. */
  function store(obj: KObject): void {
    const old = cache.get(obj.kind, obj.metadata.namespace, obj.metadata.name ?? '');
    if (old && rvOf(old) > rvOf(obj)) return;
    cache.put(obj);
    if (obj.kind === 'PersistentVolume') index.update(obj as PvObj);
    suspect(obj);
  }

  function write(verb: 'update' | 'updateStatus' | 'create', obj: KObject, fail: Fail, ok: (o: KObject) => void): void {
    const ns = obj.kind === 'PersistentVolume' ? {} : { namespace: obj.metadata.namespace ?? 'default' };
    call({ verb, kind: obj.kind, ...ns, name: obj.metadata.name ?? '', obj }, (res) => {
      if (!res.ok || !res.obj) {
        const conflict = res.status?.reason === 'Conflict' ? { kind: obj.kind, namespace: obj.kind === 'PersistentVolume' ? undefined : obj.metadata.namespace, name: obj.metadata.name ?? '', rv: rvOf(obj) } : undefined;
        return fail(errText(res), conflict);
      }
      // An update answered after the object left our cache (a reordered delete) is not revived.
      if (verb === 'create' || cache.get(obj.kind, obj.kind === 'PersistentVolume' ? undefined : obj.metadata.namespace, obj.metadata.name ?? '')) store(res.obj);
      ok(res.obj);
    });
  }

  function get(kind: string, namespace: string | undefined, name: string, cb: (res: ApiResponse) => void): void {
    call({ verb: 'get', kind, ...(namespace !== undefined ? { namespace } : {}), name }, cb);
  }

  /** api.request that always answers: a lost response becomes a 504 after the request timeout. */
  function call(body: RequestBody, cb: (res: ApiResponse) => void): void {
    api.request(body, cb, REQUEST_TIMEOUT_MS);
  }

  function after(delayMs: number, fn: () => void): void {
    const key = `later/${++seq}`;
    later.set(key, fn);
    port.setTimer(key, delayMs);
  }

  function csiCall(backend: string, call: CsiCall, cb: (res: CsiResponse) => void): void {
    const reqId = perBoot(port, `${port.address}/csi#${++seq}`);
    csiCalls.await(reqId, cb, BACKEND_TIMEOUT_MS, () => cb({ type: 'csi.response', reqId, code: GRPC.DEADLINE_EXCEEDED, message: ERR_TIMEOUT }));
    const req: CsiRequest = { type: 'csi.request', reqId, call };
    port.send(backendAddress(backend), req);
  }

  // -------------------------------------------------------------------------------------------
  // Operations beside the queues (scheduleOperation), and what the syncs read of the cache

  /** scheduleOperation: one run per name at a time, failed runs postponed by exponential backoff. */
  function scheduleOperation(name: string, run: (done: (err?: string) => void) => void): void {
    const op = ops.get(name);
    if (op?.running) return;
    if (op && op.retryAtMs > port.now()) return;
    const cur: Operation = { running: true, failures: op?.failures ?? 0, retryAtMs: 0 };
    ops.set(name, cur);
    armResync();
    let finished = false;
    run((err) => {
      if (finished) return;
      finished = true;
      cur.running = false;
      if (err === undefined) {
        ops.delete(name);
        return;
      }
      cur.failures++;
      cur.retryAtMs = port.now() + Math.min(OP_BACKOFF_MAX_MS, OP_BACKOFF_INITIAL_MS * 2 ** Math.min(30, cur.failures - 1));
      armResync();
    });
  }

  function getClass(name: string): KObject | undefined {
    return cache.get('StorageClass', undefined, name);
  }

  function podsUsingClaim(key: string): PodObj[] {
    return cache.byIndex<PodObj>('Pod', POD_CLAIM_INDEX, key);
  }

  // -------------------------------------------------------------------------------------------
  // Watch handling (pv_controller_base.go add/update/delete handlers)

  /** The informers' handler; an older version than the cache holds never reaches it. */
  function onChange(type: ChangeType, obj: KObject): void {
    // Pods matter to the recycler pods being waited for (waitForPod).
    if (obj.kind === 'Pod') syncs.podChanged(type, obj as PodObj);
    if (obj.kind === 'Pod' || obj.kind === 'StorageClass') return;
    suspect(obj);
    const waiting = conflictWaiters.get(`${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`);
    if (waiting) {
      conflictWaiters.delete(`${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`);
      for (const w of waiting) w.lane.enqueue(w.key);
    }
    switch (obj.kind) {
      case 'PersistentVolume': {
        const pv = obj as PvObj;
        if (type === 'DELETED') {
          index.removeByName(pv.metadata.name ?? '');
          // deleteVolume: the claim's sync notices the loss (ClaimLost).
          if (pv.spec?.claimRef) claims.enqueue(claimRefKey(pv.spec.claimRef));
        } else {
          index.update(pv);
          volumes.enqueue(pv.metadata.name ?? '');
        }
        break;
      }
      case 'PersistentVolumeClaim': {
        const claim = obj as ClaimObj;
        if (type === 'DELETED') {
          // deleteClaim: sync the volume now instead of waiting for the resync.
          const vn = claim.spec?.volumeName;
          if (vn) volumes.enqueue(vn);
        } else {
          claims.enqueue(claimKey(claim));
          // BUG (--bug reclaim-delete-while-bound): a deletion request releases the volume at once.
          if (reclaimWhileBound && claim.metadata.deletionTimestamp && claim.spec?.volumeName) volumes.enqueue(claim.spec.volumeName);
        }
        break;
      }
      default:
        return;
    }
    if (objectWantsResync(obj, type)) armResync();
  }

  // -------------------------------------------------------------------------------------------
  // Resync: a 15 s grid, armed only while something may still change

  function objectWantsResync(obj: KObject, ev: ChangeType): boolean {
    if (ev === 'DELETED') return false;
    if (obj.kind === 'PersistentVolumeClaim') return !hasAnnotation(obj, ANN_BIND_COMPLETED);
    if (obj.kind === 'PersistentVolume') {
      const pv = obj as PvObj;
      const phase = pv.status?.phase;
      if (phase !== 'Released' && phase !== 'Failed') return false;
      const policy = reclaimPolicy(pv);
      if (policy === 'Recycle') return true;
      if (policy !== 'Delete') return false;
      return findDeletablePlugin(pv).kind !== 'external';
    }
    return false;
  }

  function wantsResync(): boolean {
    for (const op of ops.values()) if (op.running || op.retryAtMs > port.now()) return true;
    for (const c of cache.list('PersistentVolumeClaim')) if (objectWantsResync(c, 'MODIFIED')) return true;
    for (const v of cache.list('PersistentVolume')) if (objectWantsResync(v, 'MODIFIED')) return true;
    return false;
  }

  function armResync(): void {
    if (resyncArmed || !synced) return;
    resyncArmed = true;
    const since = (port.now() - startMs) % resyncMs;
    port.setTimer('resync', resyncMs - since);
  }

  /**
   * Every volume, in name order, is enqueued, except that a settled one is passed over while the
   * volume lane is idle (see Lane.passIdle). Only the few unsettled volumes are looked at: the
   * settled ones between them are passed over together, as the lane stays idle meanwhile.
   */
  function resync(): void {
    resyncArmed = false;
    // Claims have a namespace, so the cache's keys are claimKey's.
    for (const key of cache.keys('PersistentVolumeClaim')) claims.enqueue(key);
    const names = cache.keys('PersistentVolume');
    let from = 0;
    for (const name of unsettledVolumes()) {
      const at = indexOfSorted(names, name, from);
      passSettled(names, from, at);
      volumes.enqueue(name);
      from = at + 1;
    }
    passSettled(names, from, names.length);
    if (wantsResync()) armResync();
  }

  /** names[from..to), all settled: passed over on an idle lane, enqueued on a busy one. */
  function passSettled(names: string[], from: number, to: number): void {
    if (to <= from || volumes.passIdle()) return;
    for (let i = from; i < to; i++) volumes.enqueue(names[i]!);
  }

  /** Position of `name` in the sorted `names`, at or after `from`. */
  function indexOfSorted(names: string[], name: string, from: number): number {
    let lo = from;
    let hi = names.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (names[mid]! < name) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Volumes that may not be settled: every volume whose object, or whose claim's object, changed
   * in the cache since it was last found settled. A superset of the unsettled ones, so that
   * resync need not look at every volume.
   */
  const suspects = new Set<string>();

  function suspect(obj: KObject): void {
    if (obj.kind === 'PersistentVolume') suspects.add(obj.metadata.name ?? '');
    else if (obj.kind === 'PersistentVolumeClaim') for (const name of index.claiming(claimKey(obj))) suspects.add(name);
  }

  /** The volumes volumeSettled rejects now, sorted by name; the others stop being suspects. */
  function unsettledVolumes(): string[] {
    const out: string[] = [];
    for (const name of suspects) {
      const pv = cache.get<PvObj>('PersistentVolume', undefined, name);
      if (pv && !volumeSettled(pv)) out.push(name);
      else suspects.delete(name);
    }
    return out.sort();
  }

  /**
   * syncVolume would end at once, writing and enqueueing nothing: an unclaimed Available volume,
   * or a Bound one whose claim (same uid) is bound to it. Decided as syncVolume decides it.
   */
  function volumeSettled(pv: PvObj): boolean {
    const ref = pv.spec?.claimRef;
    const phase = pv.status?.phase;
    if (!ref || !ref.uid) return phase === 'Available';
    if (phase !== 'Bound') return false;
    const claim = cache.get<ClaimObj>('PersistentVolumeClaim', ref.namespace ?? '', ref.name ?? '');
    if (!claim || (claim.metadata.uid ?? '') !== ref.uid) return false;
    const claimVolume = claim.spec?.volumeName ?? '';
    return claimVolume !== '' && claimVolume === pv.metadata.name;
  }

  // -------------------------------------------------------------------------------------------
  // Start: watch, then wait for the replay to end before the workers run

  function onSynced(): void {
    synced = true;
    for (const v of cache.list('PersistentVolume')) volumes.enqueue(v.metadata.name ?? '');
    for (const c of cache.list('PersistentVolumeClaim')) claims.enqueue(claimKey(c));
    volumes.gated = false;
    volumes.kick();
    if (wantsResync()) armResync();
  }

  return {
    port,
    cache,
    index,
    claims,
    event,
    store,
    write,
    get,
    call,
    after,
    csiCall,
    scheduleOperation,
    getClass,
    podsUsingClaim,
    component: {
      start(): void {
        startMs = port.now();
        informers.start();
      },

      receive(msg: Msg): void {
        if (api.handle(msg) || informers.handle(msg)) return;
        switch (msg.type) {
          case 'csi.response':
            csiCalls.resolve(msg as unknown as CsiResponse);
            return;
          default:
            return;
        }
      },

      timer(key: string): void {
        if (key === 'resync') return resync();
        if (api.timer(key) || csiCalls.timer(key) || informers.timer(key)) return;
        const fn = later.get(key);
        if (fn) {
          later.delete(key);
          fn();
        }
      },
    } satisfies Component,
  };
}
