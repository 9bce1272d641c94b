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
 * Follows pkg/controller/volume/persistentvolume at v1.30: pv_controller.go (syncClaim,
 * syncUnboundClaim, syncBoundClaim, syncVolume, bind, unbindVolume, reclaimVolume,
 * deleteVolumeOperation, recycleVolumeOperation, provisionClaim and its operations, the event
 * texts), pv_controller_base.go (the two work queues, resync, deleteClaim/deleteVolume),
 * index.go (actors/controllers/pv-index.ts). Pure helpers are in pv-utils.ts.
 *
 * Defaults: resync every 15 s (PVClaimBinderSyncPeriod,
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
import { perBoot, type Component, type Port } from '../../src/component.ts';
import { ApiClient, REQUEST_TIMEOUT_MS, type RequestBody } from '../../src/api-client.ts';
import { Calls } from '../../src/calls.ts';
import { Informers, POD_CLAIM_INDEX, podClaimIndex, type ChangeType } from '../../src/informer.ts';
import type { ApiResponse, KObject, Msg, WatchEvent } from '../../src/protocol.ts';
import { backendAddress, GRPC, toCsiAccessMode, type CsiCall, type CsiRequest, type CsiResponse, type VolumeCapability } from '../../backends/protocol.ts';
import { backendForProvisioner, backendForSource, DEFAULT_CEPH_MONITORS } from '../../backends/registry.ts';
import { VolumeIndex } from './pv-index.ts';
import { effectiveProvisioner, migratedCsiDriver } from '../../src/model/csi-translation.ts';
import { deepCopy } from '../../src/model/objects.ts';
import {
  ANN_BETA_STORAGE_PROVISIONER,
  ANN_BIND_COMPLETED,
  ANN_BOUND_BY_CONTROLLER,
  ANN_CREATED_BY,
  ANN_DYNAMICALLY_PROVISIONED,
  ANN_MIGRATED_TO,
  ANN_SELECTED_NODE,
  ANN_STORAGE_PROVISIONER,
  HOSTPATH_TMP,
  capacityBytes,
  checkVolumeModeMismatches,
  checkVolumeSatisfyClaim,
  claimHasClass,
  claimKey,
  claimRefKey,
  claimReference,
  claimStatusUpdate,
  findDeletablePlugin,
  getBindClaimToVolume,
  getBindVolumeToClaim,
  getClaimClass,
  getDefaultClass,
  getUnbindVolume,
  goStringSlice,
  hasAnnotation,
  isDelayBindingMode,
  isDelayBindingProvisioning,
  isPodTerminated,
  isVolumeBoundToClaim,
  podClaimNames,
  provisionablePluginError,
  recyclerForSource,
  recyclerPod,
  reclaimPolicy,
  requestedBytes,
  rvOf,
  volumeModeOf,
  type ClaimObj,
  type PodObj,
  type PvObj,
} from './pv-utils.ts';

/** kube-controller-manager's name for it (cmd/kube-controller-manager/names, v1.30); its Events' source. */
export const PV_CONTROLLER = 'persistentvolume-binder-controller';
const SOURCE = 'persistentvolume-controller';
const KINDS = ['PersistentVolume', 'PersistentVolumeClaim', 'Pod', 'StorageClass'];

// PVClaimBinderSyncPeriod, persistentvolume/config/v1alpha1/defaults.go.
const RESYNC_MS = 15_000;
// createProvisionedPVRetryCount / createProvisionedPVInterval, pv_controller.go.
const CREATE_PV_RETRY_COUNT = 5;
const CREATE_PV_INTERVAL_MS = 10_000;
// goroutinemap/exponentialbackoff: initialDurationBeforeRetry, maxDurationBeforeRetry.
const OP_BACKOFF_INITIAL_MS = 500;
const OP_BACKOFF_MAX_MS = 2 * 60_000 + 2_000;
// How long an in-tree plugin waits for the storage system (Ceph's client_mount_timeout is 300 s).
const BACKEND_TIMEOUT_MS = 300_000;

const ERR_TIMEOUT = 'context deadline exceeded';
// A request whose answer never comes (a lost message) fails after the API server's own
// --request-timeout (REQUEST_TIMEOUT_MS in src/api-client.ts), as the server would answer 504.

/** A write refused with 409: the object and the resourceVersion the write carried. */
interface Conflict {
  kind: string;
  namespace: string | undefined;
  name: string;
  rv: number;
}
type End = (err?: string, conflict?: Conflict) => void;
type ClaimRef = NonNullable<NonNullable<PvObj['spec']>['claimRef']>;
type Fail = (err: string, conflict?: Conflict) => void;

/**
 * One worker's queue: one key at a time, keys taken in (namespace, name) order per batch. A
 * sync whose write was refused with 409 runs again once the watch has brought the newer object.
 */
class Lane {
  private readonly queued = new Set<string>();
  private batch: string[] = [];
  private next = 0;
  private running: string | undefined;
  private again = false;
  gated = true;

  constructor(
    private readonly run: (key: string, end: End) => void,
    private readonly onIdle: () => void,
    private readonly onConflict: (lane: Lane, key: string, conflict: Conflict) => void,
  ) {}

  enqueue(key: string): void {
    if (!this.gated && this.running === undefined && this.queued.size === 0) {
      // An idle lane with nothing queued takes this key at once, without the queue's
      // bookkeeping: as take() would, it passes over what is left of the last batch up to the
      // key (none of it is queued).
      while (this.next < this.batch.length) if (this.batch[this.next++] === key) break;
      this.work(key);
      return;
    }
    this.push(key);
    this.kick();
  }

  private push(key: string): void {
    if (this.running === key) this.again = true;
    else this.queued.add(key);
  }

  kick(): void {
    this.work(undefined);
  }

  /**
   * What enqueue() does with a key whose sync would change nothing and enqueue nothing, on an
   * idle lane: the sync would run at once and end inline, then the lane would find its batch
   * done and go idle. False when the lane is not idle (the key must be queued: its sync runs
   * later, on what the cache holds then).
   */
  passIdle(): boolean {
    if (this.gated || this.running !== undefined || this.queued.size !== 0) return false;
    this.next = this.batch.length;
    this.onIdle();
    return true;
  }

  /** Runs `first` (if given), then the queued keys, until a sync waits for an answer. */
  private work(first: string | undefined): void {
    let next = first;
    while (!this.gated && this.running === undefined) {
      const key = next ?? this.take();
      next = undefined;
      if (key === undefined) {
        this.onIdle();
        return;
      }
      this.running = key;
      this.again = false;
      let ended = false;
      let inline = true;
      this.run(key, (_err, conflict) => {
        if (ended) return;
        ended = true;
        this.running = undefined;
        if (this.again) this.push(key);
        if (conflict) this.onConflict(this, key, conflict);
        if (!inline) this.kick();
      });
      inline = false;
      if (!ended) return;
    }
  }

  private take(): string | undefined {
    while (this.next < this.batch.length) {
      const key = this.batch[this.next++]!;
      if (this.queued.delete(key)) return key;
    }
    const size = this.queued.size;
    if (size === 0) return undefined;
    if (size === 1) {
      // A batch of one (an idle lane handed a single key, as resync does key by key): no copy
      // to sort.
      for (const key of this.queued) {
        this.queued.clear();
        return key;
      }
    }
    this.batch = [...this.queued].sort();
    this.next = 0;
    return this.take();
  }
}

interface Operation {
  running: boolean;
  failures: number;
  retryAtMs: number;
}

export function pvController(port: Port, opts: { resyncMs?: number; bug?: string } = {}): Component {
  // --bug binder-ignore-access-modes: findMatch takes any volume, whatever its access modes.
  const ignoreAccessModes = opts.bug === 'binder-ignore-access-modes';
  // --bug reclaim-delete-while-bound: a claim being deleted counts as gone (its protection
  // finalizer ignored), so its volume is released and reclaimed while still Bound and in use.
  const reclaimWhileBound = opts.bug === 'reclaim-delete-while-bound';
  const api = new ApiClient(port);
  const informers = new Informers(port, api, { kinds: KINDS, onChange, onSynced });
  const cache = informers.cache;
  cache.addIndex('Pod', POD_CLAIM_INDEX, podClaimIndex);
  const index = new VolumeIndex();
  const resyncMs = opts.resyncMs ?? RESYNC_MS;
  const ops = new Map<string, Operation>();
  const csiCalls = new Calls<CsiResponse>(port, 'csi');
  const later = new Map<string, () => void>();
  /** Recycler pods (ns/name) being waited for, and what to do when each finishes. */
  const recyclers = new Map<string, (err?: string) => void>();
  let seq = 0;
  let synced = false;
  let startMs = 0;
  let resyncArmed = false;

  const volumes = new Lane(
    (name, end) => {
      const pv = cache.get<PvObj>('PersistentVolume', undefined, name);
      if (!pv) return end();
      syncVolume(pv, end);
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
      syncClaim(claim, end);
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

  const errText = (res: ApiResponse) => res.status?.message ?? 'unknown error';

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
  // Status writes (updateClaimStatus, updateVolumePhase and their ...WithEvent forms)

  function updateClaimStatus(claim: ClaimObj, phase: string, pv: PvObj | undefined, fail: Fail, k: (c: ClaimObj) => void): void {
    const next = claimStatusUpdate(claim, phase, pv);
    if (!next) return k(claim);
    write('updateStatus', next, fail, (o) => k(o as ClaimObj));
  }

  function updateClaimStatusWithEvent(claim: ClaimObj, phase: string, type: 'Normal' | 'Warning', reason: string, message: string, end: End): void {
    if (claim.status?.phase === phase) return end();
    updateClaimStatus(claim, phase, undefined, end, (c) => {
      // Only when the phase really changed, not on every sync.
      event(c, type, reason, message);
      end();
    });
  }

  function updateVolumePhase(pv: PvObj, phase: string, message: string, fail: Fail, k: (v: PvObj) => void): void {
    if (pv.status?.phase === phase) return k(pv);
    // Only the status counts in an updateStatus write: the rest is shared with the cached PV.
    const status: Record<string, unknown> = { ...(pv.status ?? {}), phase };
    if (message) status['message'] = message;
    else delete status['message'];
    write('updateStatus', { ...pv, status } as PvObj, fail, (o) => k(o as PvObj));
  }

  function updateVolumePhaseWithEvent(pv: PvObj, phase: string, type: 'Normal' | 'Warning', reason: string, message: string, fail: Fail, k: (v: PvObj) => void): void {
    if (pv.status?.phase === phase) return k(pv);
    updateVolumePhase(pv, phase, message, fail, (v) => {
      event(v, type, reason, message);
      k(v);
    });
  }

  // -------------------------------------------------------------------------------------------
  // Claims (syncClaim, syncUnboundClaim, syncBoundClaim)

  function syncClaim(claim: ClaimObj, end: End): void {
    if (!hasAnnotation(claim, ANN_BIND_COMPLETED)) syncUnboundClaim(claim, end);
    else syncBoundClaim(claim, end);
  }

  function getClass(name: string): KObject | undefined {
    return cache.get('StorageClass', undefined, name);
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

  function podsUsingClaim(key: string): PodObj[] {
    return cache.byIndex<PodObj>('Pod', POD_CLAIM_INDEX, key);
  }

  /** findNonScheduledPodsByPVC: active pods using the claim that have no node yet. */
  function findNonScheduledPodsByPVC(claim: ClaimObj): string[] {
    return podsUsingClaim(claimKey(claim))
      .filter((p) => !isPodTerminated(p) && !p.spec?.nodeName)
      .map((p) => p.metadata.name ?? '');
  }

  /** isVolumeUsed: active pods (ns/name) using the volume's claim. */
  function isVolumeUsed(pv: PvObj): string[] {
    const ref = pv.spec?.claimRef;
    if (!ref) return [];
    return podsUsingClaim(claimRefKey(ref))
      .filter((p) => !isPodTerminated(p))
      .map((p) => `${p.metadata.namespace ?? ''}/${p.metadata.name ?? ''}`);
  }

  // -------------------------------------------------------------------------------------------
  // bind / unbindVolume: every step its own API write, so a crash between steps is resumed by
  // the next sync ("1-8/1-9/1-10 - complete bind after crash").

  function bind(volume: PvObj, claim: ClaimObj, end: End): void {
    bindVolumeToClaim(volume, claim, end, (v1) =>
      updateVolumePhase(v1, 'Bound', '', end, (v2) =>
        bindClaimToVolume(claim, v2, end, (c1) => updateClaimStatus(c1, 'Bound', v2, end, () => end())),
      ),
    );
  }

  function bindVolumeToClaim(volume: PvObj, claim: ClaimObj, fail: Fail, k: (v: PvObj) => void): void {
    const clone = getBindVolumeToClaim(volume, claim);
    if (!clone) return k(volume);
    write('update', clone, fail, (o) => k(o as PvObj));
  }

  function bindClaimToVolume(claim: ClaimObj, volume: PvObj, fail: Fail, k: (c: ClaimObj) => void): void {
    const clone = getBindClaimToVolume(claim, volume);
    if (!clone) return k(claim);
    write('update', clone, fail, (o) => k(o as ClaimObj));
  }

  function unbindVolume(volume: PvObj, fail: Fail, k: () => void): void {
    write('update', getUnbindVolume(volume), fail, (o) => updateVolumePhase(o as PvObj, 'Available', '', fail, () => k()));
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

  // -------------------------------------------------------------------------------------------
  // Provisioning (provisionClaim, provisionClaimOperation, provisionClaimOperationExternal)

  function provisionClaim(claim: ClaimObj): void {
    const className = getClaimClass(claim);
    const cls = getClass(className);
    if (!cls) {
      event(claim, 'Warning', 'ProvisioningFailed', `storageclass.storage.k8s.io "${className}" not found`);
      return;
    }
    const provisioner = String(cls['provisioner'] ?? '');
    let plugin: string | undefined;
    // findProvisionablePlugin: a migrated in-tree plugin is never looked up (CSI migration).
    const err = migratedCsiDriver(provisioner) ? 'migrated' : provisionablePluginError(provisioner);
    if (err === undefined) plugin = provisioner;
    else if (provisioner.startsWith('kubernetes.io/') && err !== 'migrated') {
      // No in-tree plugin: retried on every sync, like upstream.
      event(claim, 'Warning', 'ProvisioningFailed', err);
      return;
    }
    const opName = `provision-${claimKey(claim)}[${claim.metadata.uid ?? ''}]`;
    scheduleOperation(opName, (done) => (plugin ? provisionClaimOperation(claim, plugin, cls, done) : provisionClaimOperationExternal(claim, cls, done)));
  }

  /** setClaimProvisioner: the storage-provisioner annotations (beta and GA keys). */
  function setClaimProvisioner(claim: ClaimObj, provisioner: string, fail: Fail, k: (c: ClaimObj) => void): void {
    if (claim.metadata.annotations?.[ANN_STORAGE_PROVISIONER] === provisioner) return k(claim);
    const clone = deepCopy(claim) as ClaimObj;
    clone.metadata.annotations = { ...(clone.metadata.annotations ?? {}), [ANN_BETA_STORAGE_PROVISIONER]: provisioner, [ANN_STORAGE_PROVISIONER]: provisioner };
    write('update', clone, fail, (o) => k(o as ClaimObj));
  }

  /**
   * provisionClaimOperationExternal: the claim is annotated with the provisioner that will
   * serve it — for a migrated in-tree plugin, its CSI driver (GetCSINameFromInTreeName) — and
   * waits for it, with v1.30's ExternalProvisioning text.
   */
  function provisionClaimOperationExternal(claim: ClaimObj, cls: KObject, done: (err?: string) => void): void {
    const provisioner = effectiveProvisioner(String(cls['provisioner'] ?? ''));
    setClaimProvisioner(claim, provisioner, (err) => {
      event(claim, 'Warning', 'ProvisioningFailed', `Error saving claim: ${err}`);
      done(err);
    }, (c) => {
      event(
        c,
        'Normal',
        'ExternalProvisioning',
        `Waiting for a volume to be created either by the external provisioner '${provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`,
      );
      done();
    });
  }

  function provisionClaimOperation(claim: ClaimObj, plugin: string, cls: KObject, done: (err?: string) => void): void {
    const className = cls.metadata.name ?? '';
    if (claim.spec?.dataSource) {
      const strerr = `plugin "${plugin}" is not a CSI plugin. Only CSI plugin can provision a claim with a datasource`;
      event(claim, 'Warning', 'ProvisioningFailed', strerr);
      return done(strerr);
    }
    setClaimProvisioner(claim, String(cls['provisioner'] ?? ''), (err) => done(err), (c) => {
      const pvName = `pvc-${c.metadata.uid ?? ''}`;
      // A previous operation may have provisioned it already (the name is deterministic).
      get('PersistentVolume', undefined, pvName, (res) => {
        if (res.ok) return done();
        if (res.status?.code !== 404) return done(errText(res));
        const mountOptions: string[] = (cls['mountOptions'] as string[] | undefined) ?? [];
        if (plugin === 'kubernetes.io/host-path' && mountOptions.length > 0) {
          event(c, 'Warning', 'ProvisioningFailed', `Mount options are not supported by the provisioner but StorageClass "${className}" has mount options ${goStringSlice(mountOptions)}`);
          return done(`provisioner "${plugin}" doesn't support mount options`);
        }
        const provision = plugin === 'kubernetes.io/rbd' ? provisionRbd : provisionHostPath;
        provision(c, cls, pvName, (err) => {
          rescheduleProvisioning(c);
          event(c, 'Warning', 'ProvisioningFailed', `Failed to provision volume with StorageClass "${className}": ${err}`);
          done(err);
        }, (pv) => {
          // Bind it to the claim; the API server resets the phase to Pending on create and
          // the next syncs bind it for real.
          pv.metadata.name ||= pvName;
          pv.spec.claimRef = claimReference(c);
          pv.spec.storageClassName = getClaimClass(c);
          pv.status = { phase: 'Bound' };
          pv.metadata.annotations = { ...(pv.metadata.annotations ?? {}), [ANN_BOUND_BY_CONTROLLER]: 'yes', [ANN_DYNAMICALLY_PROVISIONED]: plugin };
          saveProvisionedVolume(c, pv, plugin, 0, done);
        });
      });
    });
  }

  /** Saves the provisioned PV, 5 attempts 10 s apart; then gives the storage back. */
  function saveProvisionedVolume(claim: ClaimObj, pv: KObject, plugin: string, attempt: number, done: (err?: string) => void): void {
    call({ verb: 'create', kind: 'PersistentVolume', name: pv.metadata.name ?? '', obj: pv }, (res) => {
      if (res.ok || res.status?.reason === 'AlreadyExists') {
        if (res.ok && res.obj) store(res.obj);
        event(claim, 'Normal', 'ProvisioningSucceeded', `Successfully provisioned volume ${pv.metadata.name ?? ''} using ${plugin}`);
        return done();
      }
      if (attempt + 1 < CREATE_PV_RETRY_COUNT) {
        after(CREATE_PV_INTERVAL_MS, () => saveProvisionedVolume(claim, pv, plugin, attempt + 1, done));
        return;
      }
      // A storage asset without a PV object: delete it, 5 attempts 10 s apart.
      event(claim, 'Warning', 'ProvisioningFailed', `Error creating provisioned PV object for claim ${claimKey(claim)}: ${errText(res)}. Deleting the volume.`);
      const cleanup = (n: number) => {
        doDeleteVolume(pv as PvObj, (err) => {
          if (n + 1 < CREATE_PV_RETRY_COUNT) return after(CREATE_PV_INTERVAL_MS, () => cleanup(n + 1));
          event(claim, 'Warning', 'ProvisioningCleanupFailed', `Error cleaning provisioned volume for claim ${claimKey(claim)}: ${err}. Please delete manually.`);
          done();
        }, () => done());
      };
      cleanup(0);
    });
  }

  /** rescheduleProvisioning: drop selected-node so that the scheduler picks a node again. */
  function rescheduleProvisioning(claim: ClaimObj): void {
    if (!hasAnnotation(claim, ANN_SELECTED_NODE)) return;
    const clone = deepCopy(claim) as ClaimObj;
    const ann = { ...(clone.metadata.annotations ?? {}) };
    delete ann[ANN_SELECTED_NODE];
    clone.metadata.annotations = ann;
    write('update', clone, () => undefined, () => undefined);
  }

  type Provisioner = (claim: ClaimObj, cls: KObject, pvName: string, fail: Fail, k: (pv: KObject) => void) => void;

  const requestString = (claim: ClaimObj): string => String(claim.spec?.resources?.requests?.['storage'] ?? '0');

  /** The in-tree RBD provisioner (pkg/volume/rbd, removed in v1.31): CreateVolume on Ceph. */
  const provisionRbd: Provisioner = (claim, cls, pvName, fail, k) => {
    const params: Record<string, string> = { ...((cls['parameters'] as Record<string, string> | undefined) ?? {}) };
    const supported = ['ReadWriteOnce', 'ReadOnlyMany'];
    const modes: string[] = claim.spec?.accessModes ?? [];
    if (!modes.every((m) => supported.includes(m))) return fail(`invalid AccessModes ${goStringSlice(modes)}: only AccessModes ${goStringSlice(supported)} are supported`);
    const pool = params['pool'] || 'rbd';
    const monitors = params['monitors'] ? params['monitors'].split(',').map((m) => m.trim()).filter((m) => m !== '') : [...DEFAULT_CEPH_MONITORS];
    const backend = backendForProvisioner('kubernetes.io/rbd', params)?.name ?? 'ceph';
    const accessType = volumeModeOf(claim) === 'Block' ? 'block' : 'mount';
    const capabilities: VolumeCapability[] = (modes.length ? modes : ['ReadWriteOnce']).map((m) => {
      const cap: VolumeCapability = { accessMode: toCsiAccessMode([m]) as VolumeCapability['accessMode'], accessType };
      if (accessType === 'mount' && params['fsType']) cap.fsType = params['fsType'];
      return cap;
    });
    const capacityBytesRequested = Math.max(0, Math.ceil(requestedBytes(claim)));
    csiCall(backend, { method: 'CreateVolume', name: pvName, capacityBytes: capacityBytesRequested, capabilities, parameters: { ...params, pool } }, (r) => {
      if (r.code !== GRPC.OK) return fail(r.message);
      const volumeId = r.result?.volumeId ?? `${pool}/${pvName}`;
      const slash = volumeId.indexOf('/');
      const rbd: Record<string, unknown> = {
        monitors,
        image: slash >= 0 ? volumeId.slice(slash + 1) : volumeId,
        pool: slash >= 0 ? volumeId.slice(0, slash) : pool,
        user: params['userId'] || params['adminId'] || 'admin',
      };
      if (params['fsType']) rbd['fsType'] = params['fsType'];
      if (params['userSecretName']) rbd['secretRef'] = { name: params['userSecretName'], ...(params['userSecretNamespace'] ? { namespace: params['userSecretNamespace'] } : {}) };
      const spec: Record<string, unknown> = {
        persistentVolumeReclaimPolicy: String(cls['reclaimPolicy'] ?? 'Delete'),
        accessModes: modes.length ? [...modes] : [...supported],
        capacity: { storage: requestString(claim) },
        rbd,
        volumeMode: volumeModeOf(claim),
      };
      const mountOptions = cls['mountOptions'] as string[] | undefined;
      if (mountOptions?.length) spec['mountOptions'] = [...mountOptions];
      k({ apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: pvName, annotations: { [ANN_CREATED_BY]: 'rbd-dynamic-provisioner' } }, spec });
    });
  };

  /** The in-tree hostPath provisioner (pkg/volume/hostpath): a directory under /tmp. */
  const provisionHostPath: Provisioner = (claim, cls, pvName, fail, k) => {
    if (volumeModeOf(claim) === 'Block') return fail('kubernetes.io/host-path does not support block volume provisioning');
    const node = claim.metadata.annotations?.[ANN_SELECTED_NODE];
    const spec: Record<string, unknown> = {
      persistentVolumeReclaimPolicy: String(cls['reclaimPolicy'] ?? 'Delete'),
      accessModes: claim.spec?.accessModes?.length ? [...claim.spec.accessModes] : ['ReadWriteOnce'],
      capacity: { storage: requestString(claim) },
      hostPath: { path: `/tmp/hostpath_pv/${port.ids.uid()}` },
    };
    if (node) {
      spec['nodeAffinity'] = { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] }] } };
    }
    k({ apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: pvName, annotations: { [ANN_CREATED_BY]: 'hostpath-dynamic-provisioner' } }, spec });
  };

  // -------------------------------------------------------------------------------------------
  // Watch handling (pv_controller_base.go add/update/delete handlers)

  /** The informers' handler; an older version than the cache holds never reaches it. */
  function onChange(type: ChangeType, obj: KObject): void {
    // Pods matter to the recycler pods being waited for (waitForPod).
    if (obj.kind === 'Pod' && recyclers.size > 0) watchRecycler(type, obj as PodObj);
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
  };
}
