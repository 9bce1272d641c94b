/**
 * The EndpointSlice controller: for every Service with a selector it keeps one EndpointSlice
 * (addressType IPv4) listing the Service's pods, which is what cluster DNS publishes.
 *
 * Follows pkg/controller/endpointslice/endpointslice_controller.go and the reconciler in
 * staging/src/k8s.io/endpointslice (reconciler.go, utils.go, util/controller_utils.go), v1.30.
 *
 * Owns: EndpointSlices labelled `endpointslice.kubernetes.io/managed-by:
 * endpointslice-controller.k8s.io`. Receives: its informers' lists and watch events for Service,
 * Pod and EndpointSlice, and api.response for its own writes. Sends: list and watch requests,
 * api.request create / update / delete of EndpointSlices.
 *
 * Each pod with an IPv4 address that is not Succeeded/Failed becomes one endpoint (sorted by pod
 * name) with ready = Ready and not terminating (always true with publishNotReadyAddresses),
 * serving = Ready, terminating = has a deletionTimestamp. Terminating pods therefore stay listed
 * but not ready, as v1.30's podToEndpoint does (ShouldPodBeInEndpoints with includeTerminating);
 * the legacy Endpoints controller dropped them instead. DNS publishes only ready endpoints, so
 * both give the same names.
 *
 * Simplifications, on purpose: one slice per Service (no 100-endpoint split, no per-port-set
 * grouping: the ports come from the first listed pod, as StatefulSet pods share a template), no
 * topology zone, hints or last-change-trigger-time annotation. A deleted Service's slices are left
 * to the garbage collector through their ownerReference, as upstream does.
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
import type { ContainerPort, Pod, Service, ServicePort } from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointPort, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Component, Port } from '../../src/component.ts';
import { ApiClient, type RequestBody } from '../../src/api-client.ts';
import { type Cache, Informers, LABEL_INDEX, labelIndex, SERVICE_SELECTOR_INDEX, serviceSelectorIndex, type ChangeType } from '../../src/informer.ts';
import { ControllerRateLimiter, WorkQueue } from '../../src/workqueue.ts';
import type { ApiResponse, KObject, Msg } from '../../src/protocol.ts';
import { isPodReady, podPhase } from '../../src/model/objects.ts';
import { matchesMapSelector } from '../../src/model/selectors.ts';

export const ENDPOINTSLICE_CONTROLLER = 'endpointslice-controller';

// k8s.io/api/discovery/v1 well_known_labels.go and core/v1 well_known_labels.go.
export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
export const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
export const LABEL_HEADLESS = 'service.kubernetes.io/headless';
/** `controllerQualifiedName`, endpointslice_controller.go. */
export const CONTROLLER_NAME = 'endpointslice-controller.k8s.io';

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

type Svc = Service & KObject;
type PodObj = Pod & KObject;
export type SliceObj = EndpointSlice & KObject;

// ---------------------------------------------------------------------------------------------
// Pure helpers (utils.go, util/controller_utils.go)

/** ShouldPodBeInEndpoints(pod, includeTerminating=true): not terminal and has an IP. */
export function shouldPodBeInEndpoints(pod: Pod): boolean {
  const phase = podPhase(pod as PodObj);
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  return podIPv4s(pod).length > 0;
}

/** getEndpointAddresses for AddressTypeIPv4: status.podIPs (status.podIP when absent). */
export function podIPv4s(pod: Pod): string[] {
  const ips = pod.status?.podIPs?.map((p) => p.ip ?? '') ?? (pod.status?.podIP ? [pod.status.podIP] : []);
  return ips.filter((ip) => ip.includes('.') && !ip.includes(':'));
}

/** ShouldSetHostname: the pod asked for a hostname under this Service's subdomain. */
export function shouldSetHostname(pod: Pod, svc: Service): boolean {
  return !!pod.spec?.hostname && pod.spec.subdomain === svc.metadata?.name && svc.metadata?.namespace === pod.metadata?.namespace;
}

/** podToEndpoint. Ready is never true for a terminating pod unless publishNotReadyAddresses. */
export function podToEndpoint(pod: Pod, svc: Service): Endpoint {
  const serving = isPodReady(pod);
  const terminating = !!pod.metadata?.deletionTimestamp;
  const ready = svc.spec?.publishNotReadyAddresses === true || (serving && !terminating);
  const ep: Endpoint = {
    addresses: podIPv4s(pod),
    conditions: { ready, serving, terminating },
    targetRef: { kind: 'Pod', namespace: pod.metadata?.namespace ?? '', name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' },
  };
  if (pod.spec?.nodeName) ep.nodeName = pod.spec.nodeName;
  if (shouldSetHostname(pod, svc)) ep.hostname = pod.spec!.hostname!;
  return ep;
}

/** FindPort: a numeric targetPort as is, a named one looked up in the pod's container ports. */
export function findPort(pod: Pod, sp: ServicePort): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  const protocol = sp.protocol ?? 'TCP';
  const matches = (p: ContainerPort) => p.name === target && (p.protocol ?? 'TCP') === protocol;
  for (const c of pod.spec?.containers ?? []) for (const p of c.ports ?? []) if (matches(p)) return p.containerPort;
  // Sidecars (init containers with restartPolicy Always) count too.
  for (const c of pod.spec?.initContainers ?? []) {
    if (c.restartPolicy !== 'Always') continue;
    for (const p of c.ports ?? []) if (matches(p)) return p.containerPort;
  }
  return undefined;
}

/** getEndpointPorts: one port per Service port that resolves on this pod. */
export function endpointPorts(svc: Service, pod: Pod): EndpointPort[] {
  const out: EndpointPort[] = [];
  for (const sp of svc.spec?.ports ?? []) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    const ep: EndpointPort = { name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP' };
    if (sp.appProtocol !== undefined) ep.appProtocol = sp.appProtocol;
    out.push(ep);
  }
  return out;
}

/** setEndpointSliceLabels: the Service's labels, the headless marker and the reserved labels. */
export function sliceLabels(svc: Service): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(svc.metadata?.labels ?? {})) {
    if (k === LABEL_SERVICE_NAME || k === LABEL_MANAGED_BY || k === LABEL_HEADLESS) continue;
    labels[k] = v;
  }
  const clusterIP = svc.spec?.clusterIP ?? '';
  if (clusterIP === 'None' || clusterIP === '') labels[LABEL_HEADLESS] = '';
  labels[LABEL_SERVICE_NAME] = svc.metadata?.name ?? '';
  labels[LABEL_MANAGED_BY] = CONTROLLER_NAME;
  return labels;
}

export interface DesiredSlice {
  labels: Record<string, string>;
  ports: EndpointPort[];
  endpoints: Endpoint[];
}

/**
 * Each pod object's endpoint for the Service object it was made for: objects are never changed
 * once stored (src/protocol.ts), so a sync of a large Service makes endpoints only for the pods
 * that changed since the last one.
 */
const endpointsMade = new WeakMap<Pod, { svc: Service; ep: Endpoint }>();

function endpointOf(pod: Pod, svc: Service): Endpoint {
  const made = endpointsMade.get(pod);
  if (made && made.svc === svc) return made.ep;
  const ep = podToEndpoint(pod, svc);
  endpointsMade.set(pod, { svc, ep });
  return ep;
}

/** What the Service's slice should hold, from the pods it selects (sorted by name). */
export function desiredSlice(svc: Service, selectedPods: readonly Pod[]): DesiredSlice {
  const pods = selectedPods.filter(shouldPodBeInEndpoints).slice().sort((a, b) => cmp(a.metadata?.name ?? '', b.metadata?.name ?? ''));
  const first = pods[0];
  return {
    labels: sliceLabels(svc),
    // A placeholder slice (no endpoints) has no ports, as the reconciler's placeholder.
    ports: first ? endpointPorts(svc, first) : [],
    endpoints: pods.map((p) => endpointOf(p, svc)),
  };
}

/** One pod as a Service's sync sees it, worked out once per pod object and Service object. */
interface PodView {
  readonly pod: PodObj;
  readonly name: string;
  /** In the Service's namespace and picked by its selector. */
  readonly selected: boolean;
  /** Its endpoint, when selected and shouldPodBeInEndpoints. */
  readonly ep: Endpoint | undefined;
}

/**
 * What a Service's slice should hold, kept from one sync to the next: the same as
 * desiredSlice(svc, the pods byIndexAll selects), which stays the reference (a test checks they
 * agree). The label index walks a value's pods in the order they were filed, which a new version
 * of a pod does not change; so while the same names come in the same order, the name order
 * found once still holds and each pod is looked at only when its object changed. A sync of a
 * large Service then costs a pass over its pods without sorting or re-deriving endpoints.
 */
export class ServicePods {
  private svc: Service | undefined;
  /** Views in the order the index walked the pods. */
  private readonly views: PodView[] = [];
  /** Positions in `views`, sorted by name. */
  private order: number[] = [];
  /** How many pods the last desired() selected. */
  selected = 0;

  desired(cache: Cache, svc: Service): DesiredSlice {
    const ns = svc.metadata?.namespace ?? '';
    const selector = svc.spec?.selector as Record<string, string> | undefined;
    const views = this.views;
    if (this.svc !== svc) {
      this.svc = svc;
      views.length = 0;
      this.order = [];
    }
    // byIndexAll walks the smallest of the selector pairs' sets: a pod picked is in all of them.
    let best: string | undefined;
    let bestSize = Infinity;
    for (const v of serviceSelectorIndex(svc as KObject)) {
      const n = cache.byIndexSize('Pod', LABEL_INDEX, v);
      if (n < bestSize) [best, bestSize] = [v, n];
    }
    let k = 0;
    let aligned = true;
    if (best !== undefined && bestSize > 0) {
      cache.forEachIndexed('Pod', LABEL_INDEX, best, (o) => {
        const held = views[k];
        if (held === undefined || held.pod !== o) {
          const v = podView(o as PodObj, svc, ns, selector);
          if (held === undefined || held.name !== v.name) aligned = false;
          views[k] = v;
        }
        k++;
      });
    }
    if (k !== views.length) {
      aligned = false;
      views.length = k;
    }
    if (!aligned) {
      const order = views.map((_, i) => i);
      this.order = order.sort((a, b) => cmp(views[a]!.name, views[b]!.name));
    }
    const endpoints: Endpoint[] = [];
    let first: PodObj | undefined;
    let selected = 0;
    for (const i of this.order) {
      const v = views[i]!;
      if (!v.selected) continue;
      selected++;
      if (v.ep === undefined) continue;
      first ??= v.pod;
      endpoints.push(v.ep);
    }
    this.selected = selected;
    // A placeholder slice (no endpoints) has no ports, as the reconciler's placeholder.
    return { labels: sliceLabels(svc), ports: first ? endpointPorts(svc, first) : [], endpoints };
  }
}

function podView(pod: PodObj, svc: Service, ns: string, selector: Record<string, string> | undefined): PodView {
  const selected = (pod.metadata.namespace ?? '') === ns && matchesMapSelector(selector, pod.metadata.labels);
  return { pod, name: pod.metadata.name ?? '', selected, ep: selected && shouldPodBeInEndpoints(pod) ? endpointOf(pod, svc) : undefined };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function canonLabels(l: Record<string, string> | undefined): string {
  return JSON.stringify(Object.entries(l ?? {}).sort(([a], [b]) => cmp(a, b)));
}

function canonPort(p: EndpointPort): unknown[] {
  return [p.name ?? '', p.port ?? null, p.protocol ?? 'TCP', p.appProtocol ?? null];
}

function canonEndpoint(e: Endpoint): unknown[] {
  const c = e.conditions ?? {};
  const t = e.targetRef;
  return [
    e.addresses,
    c.ready ?? null,
    c.serving ?? null,
    c.terminating ?? null,
    e.hostname ?? null,
    e.nodeName ?? null,
    t ? [t.kind ?? '', t.namespace ?? '', t.name ?? '', t.uid ?? ''] : null,
  ];
}

/** An endpoint's canonical text, made once per endpoint object (they are never changed). */
const canonTexts = new WeakMap<Endpoint, string>();
function canonText(e: Endpoint): string {
  let t = canonTexts.get(e);
  if (t === undefined) canonTexts.set(e, (t = JSON.stringify(canonEndpoint(e))));
  return t;
}

/** Whether a stored slice already holds what is desired (fields defaulted by the server aside). */
export function sliceMatches(slice: EndpointSlice, want: DesiredSlice): boolean {
  return (
    slice.addressType === 'IPv4' &&
    canonLabels(slice.metadata?.labels) === canonLabels(want.labels) &&
    JSON.stringify((slice.ports ?? []).map(canonPort)) === JSON.stringify(want.ports.map(canonPort)) &&
    endpointsMatch(slice.endpoints ?? [], want.endpoints)
  );
}

function endpointsMatch(have: readonly Endpoint[], want: readonly Endpoint[]): boolean {
  if (have.length !== want.length) return false;
  for (let i = 0; i < have.length; i++) if (have[i] !== want[i] && canonText(have[i]!) !== canonText(want[i]!)) return false;
  return true;
}

function ownedBy(slice: KObject, svc: Svc): boolean {
  return (slice.metadata.ownerReferences ?? []).some((o) => o.uid === svc.metadata.uid && o.kind === 'Service' && o.apiVersion === 'v1');
}

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

  /** sliceMatches, comparing with the endpoints this controller wrote when the slice is its write. */
  function matches(slice: SliceObj, want: DesiredSlice): boolean {
    const t = tracker.get(nsName(slice));
    if (t?.endpoints && t.rv === Number(slice.metadata.resourceVersion)) return sliceMatches({ ...slice, endpoints: t.endpoints as Endpoint[] }, want);
    return sliceMatches(slice, want);
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
    const mine = slices.filter((s) => ownedBy(s, svc) && s.addressType === 'IPv4');
    const keep = mine[0];
    // Slices of an earlier Service with this name, or duplicates, are deleted (reconciler.go).
    for (const s of slices) {
      if (s === keep) continue;
      const sKey = nsName(s);
      expectedDeletes.add(sKey);
      send(run, { verb: 'delete', kind: 'EndpointSlice', namespace: ns, name: s.metadata.name! }, () => cache.delete('EndpointSlice', ns, s.metadata.name!));
    }

    if (!keep) {
      const obj: SliceObj = {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          generateName: `${name}-`,
          namespace: ns,
          labels: want.labels,
          ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name, uid: svc.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
        },
        addressType: 'IPv4',
        endpoints: want.endpoints,
        ports: want.ports,
      };
      send(run, { verb: 'create', kind: 'EndpointSlice', namespace: ns, obj }, (res) => res.obj && remember(key, res.obj, want.endpoints));
      return;
    }
    if (matches(keep, want)) return;
    const obj: SliceObj = {
      ...keep,
      metadata: { ...keep.metadata, labels: want.labels },
      addressType: 'IPv4',
      endpoints: want.endpoints,
      ports: want.ports,
    };
    send(run, { verb: 'update', kind: 'EndpointSlice', namespace: ns, name: keep.metadata.name!, obj }, (res) => res.obj && remember(key, res.obj, want.endpoints));
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
