/**
 * The EndpointSlice controller: for every Service with a selector it keeps EndpointSlices
 * (addressType IPv4) listing the Service's pods, at most 100 to a slice
 * (`--max-endpoints-per-slice`), which is what cluster DNS publishes.
 *
 * Follows pkg/controller/endpointslice/endpointslice_controller.go and the reconciler in
 * staging/src/k8s.io/endpointslice, v1.30: the controller (event handlers, tracker, writes) is
 * this file, the reconciler's decisions endpointslice-reconciler.ts (reconciler.go), the pure
 * helpers endpointslice-utils.ts (utils.go, util/).
 *
 * Owns: EndpointSlices labelled `endpointslice.kubernetes.io/managed-by:
 * endpointslice-controller.k8s.io`. Receives: its informers' lists and watch events for Service,
 * Pod and EndpointSlice, and api.response for its own writes. Sends: list and watch requests,
 * api.request create / update / delete of EndpointSlices.
 *
 * Each pod with an IPv4 address that is not Succeeded/Failed becomes one endpoint with ready =
 * Ready and not terminating (always true with publishNotReadyAddresses), serving = Ready,
 * terminating = has a deletionTimestamp. Terminating pods therefore stay listed
 * but not ready, as v1.30's podToEndpoint does (ShouldPodBeInEndpoints with includeTerminating);
 * the legacy Endpoints controller dropped them instead. DNS publishes only ready endpoints, so
 * both give the same names.
 *
 * A sync leaves slices whose endpoints did not change alone, updates a changed endpoint in the
 * slice that holds it, drops gone ones from theirs, deletes (or reuses) a slice left empty, and
 * puts new endpoints into slices with room before creating new ones (named by the API server
 * from `generateName: <service>-`): see endpointslice-reconciler.ts. So one pod's change rewrites
 * one slice of at most 100 endpoints, and a Service of up to 100 pods has the one slice.
 *
 * Simplifications, on purpose: one port set per Service (no per-port-set grouping: the ports
 * come from the first listed pod, as StatefulSet pods share a template), no topology zone, hints
 * or last-change-trigger-time annotation. A deleted Service's slices are left to the garbage
 * collector through their ownerReference, as upstream does.
 *
 * Work goes through a work queue of Service keys (src/workqueue.ts) with 5 workers
 * (--concurrent-service-endpoint-syncs), started once the informers synced: a burst of events
 * gives at most one sync per Service, and a Service is never synced while one of its writes is in
 * flight. Pods are indexed by namespace (the informer's own) and slices by their Service.
 * Defaults and their sources:
 * - retry after a failed write (409 Conflict included): 1 s doubling to 1000 s with the 10 qps
 *   bucket, 15 retries — `defaultSyncBackOff`, `maxSyncBackOff`, `maxRetries` in
 *   endpointslice_controller.go (this controller backs off from 1 s instead of
 *   DefaultControllerRateLimiter's 5 ms);
 * - a change to one of its slices made by someone else re-syncs the Service after 1 s —
 *   `endpointSliceChangeMinSyncDelay`; pod and Service changes re-sync at once
 *   (`endpointUpdatesBatchPeriod` defaults to 0);
 * - a write whose response never comes back counts as failed after 60 s — the API server's
 *   `--request-timeout` default (1m0s), the ApiClient's deadline.
 */
import type { Endpoint } from 'kubernetes-types/discovery/v1.js';
import type { Component, Port } from '../../src/component.ts';
import { ApiClient, type RequestBody } from '../../src/api-client.ts';
import { Informers, LABEL_INDEX, labelIndex, SERVICE_SELECTOR_INDEX, serviceSelectorIndex, type ChangeType } from '../../src/informer.ts';
import { ControllerRateLimiter, WorkQueue } from '../../src/workqueue.ts';
import type { ApiResponse, KObject, Msg } from '../../src/protocol.ts';
import { matchesMapSelector } from '../../src/model/selectors.ts';
import { cmp } from '../../src/model/objects.ts';
import { CONTROLLER_NAME, LABEL_MANAGED_BY, LABEL_SERVICE_NAME, ServicePods, type SliceObj, type Svc } from './endpointslice-utils.ts';
import { reconcileSlices } from './endpointslice-reconciler.ts';

export const ENDPOINTSLICE_CONTROLLER = 'endpointslice-controller';

const DEFAULT_SYNC_BACKOFF_MS = 1_000;
const MAX_SYNC_BACKOFF_MS = 1_000_000;
const MAX_RETRIES = 15;
const ENDPOINT_SLICE_CHANGE_MIN_SYNC_DELAY_MS = 1_000;
/**
 * Processing time of a sync per pod the Service selects: ksim's estimate of the reconciler's
 * work upstream (listing the selected pods, an endpoint each, comparing with the slices), so
 * that a Service of 1,000 pods takes 10 ms a sync and pod events arriving meanwhile fold into
 * the next. Below 100 pods a sync takes under 1 ms: no time.
 */
export const SYNC_US_PER_POD = 10;
/** --concurrent-service-endpoint-syncs default (kube-controller-manager). */
const WORKERS = 5;
/** EndpointSlices by `namespace/service` (the kubernetes.io/service-name label). */
const SLICE_SERVICE_INDEX = 'service';

function nsName(o: KObject): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
}

function sliceServiceKey(slice: KObject): string | undefined {
  const svc = slice.metadata.labels?.[LABEL_SERVICE_NAME];
  return svc ? `${slice.metadata.namespace ?? ''}/${svc}` : undefined;
}

function managedByUs(slice: KObject | undefined): boolean {
  return slice?.metadata.labels?.[LABEL_MANAGED_BY] === CONTROLLER_NAME;
}

// ---------------------------------------------------------------------------------------------
// The controller

export function endpointSliceController(port: Port): Component {
  const api = new ApiClient(port);
  const informers = new Informers(port, api, { kinds: ['Service', 'Pod', 'EndpointSlice'], onChange, onSynced: () => work.run() });
  const cache = informers.cache;
  // Pods by label and Services by selector pair, so that a pod event looks only at the Services
  // that may select it and a sync only at the pods its selector may pick (the upstream
  // controller lists the namespace's Services and pods; the result is the same).
  cache.addIndex('Pod', LABEL_INDEX, labelIndex);
  cache.addIndex('Service', SERVICE_SELECTOR_INDEX, serviceSelectorIndex);
  cache.addIndex('EndpointSlice', SLICE_SERVICE_INDEX, (o) => {
    const k = sliceServiceKey(o);
    return k ? [k] : [];
  });
  const work = new WorkQueue(port, {
    name: 'services',
    workers: WORKERS,
    process: syncService,
    paused: true,
    maxRetries: MAX_RETRIES,
    rateLimiter: new ControllerRateLimiter(DEFAULT_SYNC_BACKOFF_MS, MAX_SYNC_BACKOFF_MS),
  });

  // endpointSliceTracker: the resourceVersion of each slice this controller last wrote, so that
  // the watch echo of its own write does not cause another sync.
  const tracker = new Map<string, { svcKey: string; rv: number; endpoints?: readonly Endpoint[] }>();
  /** Each Service's pods as its last sync saw them. */
  const servicePods = new Map<string, ServicePods>();
  const expectedDeletes = new Set<string>();

  const queue = (key: string): void => work.add(key);
  const queueAfter = (key: string, delayMs: number): void => work.addAfter(key, delayMs);

  function shouldSync(slice: KObject): boolean {
    const t = tracker.get(nsName(slice));
    return !t || Number(slice.metadata.resourceVersion) > t.rv;
  }

  // --- event handlers -------------------------------------------------------------------------

  function onChange(type: ChangeType, obj: KObject, old: KObject | undefined): void {
    switch (obj.kind) {
      case 'Service':
        return queue(nsName(obj));
      case 'Pod':
        return onPod(obj, old);
      case 'EndpointSlice':
        return onSlice(type, obj, old);
    }
  }

  /** addPod / updatePod / deletePod: every Service selecting the old or the new pod. */
  function onPod(pod: KObject, old: KObject | undefined): void {
    const ns = pod.metadata.namespace ?? '';
    const pods = old && old !== pod ? [old, pod] : [pod];
    // The Services filed under one of the pods' labels, in (namespace, name) order.
    const candidates = new Set<Svc>();
    for (const p of pods) for (const pair of labelIndex(p)) for (const svc of cache.byIndex<Svc>('Service', SERVICE_SELECTOR_INDEX, pair)) candidates.add(svc);
    if (candidates.size === 0) return;
    const svcs = [...candidates].filter((svc) => (svc.metadata.namespace ?? '') === ns).sort((a, b) => cmp(a.metadata.name ?? '', b.metadata.name ?? ''));
    for (const svc of svcs) {
      const sel = svc.spec?.selector;
      if (pods.some((p) => matchesMapSelector(sel, p.metadata.labels))) queue(nsName(svc));
    }
  }

  function onSlice(type: ChangeType, slice: KObject, old: KObject | undefined): void {
    const key = sliceServiceKey(slice);
    const sliceKey = nsName(slice);
    switch (type) {
      case 'ADDED':
        if (key && managedByUs(slice) && shouldSync(slice)) queueAfter(key, ENDPOINT_SLICE_CHANGE_MIN_SYNC_DELAY_MS);
        return;
      case 'MODIFIED': {
        const oldKey = old ? sliceServiceKey(old) : undefined;
        if (old && oldKey !== key) {
          if (key) queueAfter(key, ENDPOINT_SLICE_CHANGE_MIN_SYNC_DELAY_MS);
          if (oldKey) queueAfter(oldKey, ENDPOINT_SLICE_CHANGE_MIN_SYNC_DELAY_MS);
          return;
        }
        const managedByChanged = old !== undefined && managedByUs(old) !== managedByUs(slice);
        if (key && (managedByChanged || (managedByUs(slice) && shouldSync(slice)))) queueAfter(key, ENDPOINT_SLICE_CHANGE_MIN_SYNC_DELAY_MS);
        return;
      }
      case 'DELETED':
        if (!managedByUs(slice) || !tracker.has(sliceKey)) return;
        tracker.delete(sliceKey);
        // A deletion we did not ask for: put the slice back.
        if (!expectedDeletes.delete(sliceKey) && key) queueAfter(key, ENDPOINT_SLICE_CHANGE_MIN_SYNC_DELAY_MS);
        return;
    }
  }

  // --- writes ---------------------------------------------------------------------------------

  /** The writes of one sync: `done` once all are answered, with an error if one failed. */
  interface SyncRun {
    outstanding: number;
    failed: string | undefined;
    done: (err?: string) => void;
  }

  function send(run: SyncRun, body: RequestBody, onOk: (res: ApiResponse) => void): void {
    run.outstanding++;
    api.request(body, (res) => {
      // Deleting a slice that is already gone is what was wanted.
      const ok = res.ok || (body.verb === 'delete' && res.status?.code === 404);
      if (ok) onOk(res);
      else run.failed ??= res.status?.message ?? 'write failed';
      if (--run.outstanding === 0) run.done(run.failed);
    });
  }

  /**
   * Learns a slice this controller wrote, as the tracker and the informer will see it, with the
   * endpoints it wrote (the stored slice holds copies of them: while the cached slice is that
   * version, the endpoints wanted are compared with what was written, object by object).
   */
  function remember(key: string, obj: KObject, endpoints: readonly Endpoint[]): void {
    cache.put(obj);
    tracker.set(nsName(obj), { svcKey: key, rv: Number(obj.metadata.resourceVersion), endpoints });
  }

  /** A slice's endpoints: the ones this controller wrote while the cached slice is that write. */
  function endpointsOf(slice: SliceObj): readonly Endpoint[] {
    const t = tracker.get(nsName(slice));
    if (t?.endpoints && t.rv === Number(slice.metadata.resourceVersion)) return t.endpoints;
    return slice.endpoints ?? [];
  }

  function syncService(key: string, done: (err?: string) => void): void {
    const run: SyncRun = { outstanding: 0, failed: undefined, done };
    reconcile(key, run);
    if (run.outstanding === 0) done();
  }

  function reconcile(key: string, run: SyncRun): void {
    const slash = key.indexOf('/');
    const ns = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const svc = cache.get<Svc>('Service', ns, name);
    if (!svc) {
      // Deleted: the garbage collector removes its slices (ownerReference); forget it.
      for (const [k, t] of [...tracker]) if (t.svcKey === key) tracker.delete(k);
      servicePods.delete(key);
      return;
    }
    // Services of type ExternalName or without a selector get no slices from this controller.
    if (svc.spec?.type === 'ExternalName') return;
    const selector = svc.spec?.selector as Record<string, string> | undefined;
    if (!selector || Object.keys(selector).length === 0) return;
    if (svc.metadata.deletionTimestamp) return;

    // desiredSlice(svc, the pods the selector picks), kept between syncs (ServicePods).
    let selected = servicePods.get(key);
    if (!selected) servicePods.set(key, (selected = new ServicePods()));
    const want = selected.desired(cache, svc);
    work.busyFor(key, (selected.selected * SYNC_US_PER_POD) / 1000);

    const slices = cache.byIndex<SliceObj>('EndpointSlice', SLICE_SERVICE_INDEX, key).filter((s) => managedByUs(s) && !s.metadata.deletionTimestamp);
    const writes = reconcileSlices(svc, want, selected, slices, endpointsOf);
    for (const obj of writes.create) {
      send(run, { verb: 'create', kind: 'EndpointSlice', namespace: ns, obj }, (res) => res.obj && remember(key, res.obj, obj.endpoints));
    }
    for (const obj of writes.update) {
      send(run, { verb: 'update', kind: 'EndpointSlice', namespace: ns, name: obj.metadata.name!, obj }, (res) => res.obj && remember(key, res.obj, obj.endpoints));
    }
    for (const s of writes.delete) {
      expectedDeletes.add(nsName(s));
      send(run, { verb: 'delete', kind: 'EndpointSlice', namespace: ns, name: s.metadata.name! }, () => cache.delete('EndpointSlice', ns, s.metadata.name!));
    }
  }

  return {
    start() {
      informers.start();
    },
    receive(msg: Msg) {
      if (!api.handle(msg)) informers.handle(msg);
    },
    timer(key: string) {
      if (!api.timer(key) && !informers.timer(key)) work.timer(key);
    },
  };
}
