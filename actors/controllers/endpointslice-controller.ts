/**
 * The EndpointSlice controller: for every Service with a selector it keeps one EndpointSlice
 * (addressType IPv4) listing the Service's pods, which is what cluster DNS publishes.
 *
 * Follows pkg/controller/endpointslice/endpointslice_controller.go and the reconciler in
 * staging/src/k8s.io/endpointslice (reconciler.go, utils.go, util/controller_utils.go), v1.30.
 *
 * Owns: EndpointSlices labelled `endpointslice.kubernetes.io/managed-by:
 * endpointslice-controller.k8s.io`. Receives: watch events for Service, Pod and EndpointSlice,
 * and api.response for its own writes. Sends: api.watch, api.request create / update / delete of
 * EndpointSlices.
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
 * Work is coalesced like a workqueue: events mark a Service dirty and one `sync` timer armed at
 * 0 ms processes every dirty Service in (namespace, name) order, so a burst of watch events gives
 * at most one write per Service. A Service is never processed while one of its writes is in
 * flight (the workqueue never hands one key to two workers). Defaults and their sources:
 * - retry after a failed write (409 Conflict included): 1 s doubling to 1000 s, 15 retries —
 *   `defaultSyncBackOff`, `maxSyncBackOff`, `maxRetries` in endpointslice_controller.go (this
 *   controller deliberately backs off from 1 s instead of DefaultControllerRateLimiter's 5 ms);
 * - a change to one of its slices made by someone else re-syncs the Service after 1 s —
 *   `endpointSliceChangeMinSyncDelay`; pod and Service changes re-sync at once
 *   (`endpointUpdatesBatchPeriod` defaults to 0);
 * - a write whose response never comes back counts as failed after 60 s — the API server's
 *   `--request-timeout` default (1m0s).
 */
import type { ContainerPort, Pod, Service, ServicePort } from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointPort, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Component, Port } from '../../src/component.ts';
import { ApiClient, type RequestBody } from '../../src/api-client.ts';
import { Cache } from '../../src/informer.ts';
import type { ApiResponse, KObject, Msg, WatchEvent } from '../../src/protocol.ts';
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
const REQUEST_TIMEOUT_MS = 60_000;

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

/** What the Service's slice should hold, from the pods it selects (sorted by name). */
export function desiredSlice(svc: Service, selectedPods: readonly Pod[]): DesiredSlice {
  const pods = selectedPods.filter(shouldPodBeInEndpoints).slice().sort((a, b) => cmp(a.metadata?.name ?? '', b.metadata?.name ?? ''));
  const first = pods[0];
  return {
    labels: sliceLabels(svc),
    // A placeholder slice (no endpoints) has no ports, as the reconciler's placeholder.
    ports: first ? endpointPorts(svc, first) : [],
    endpoints: pods.map((p) => podToEndpoint(p, svc)),
  };
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

/** Whether a stored slice already holds what is desired (fields defaulted by the server aside). */
export function sliceMatches(slice: EndpointSlice, want: DesiredSlice): boolean {
  return (
    slice.addressType === 'IPv4' &&
    canonLabels(slice.metadata?.labels) === canonLabels(want.labels) &&
    JSON.stringify((slice.ports ?? []).map(canonPort)) === JSON.stringify(want.ports.map(canonPort)) &&
    JSON.stringify((slice.endpoints ?? []).map(canonEndpoint)) === JSON.stringify(want.endpoints.map(canonEndpoint))
  );
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
  const cache = new Cache();

  // The work queue: dirty Services, processed by the `sync` timer.
  const dirty = new Set<string>();
  let syncArmed = false;
  /** AddAfter: when each delayed requeue is due. */
  const waitingDueMs = new Map<string, number>();
  /** NumRequeues per Service (ItemExponentialFailureRateLimiter). */
  const failures = new Map<string, number>();
  /** Writes in flight per Service, and whether one of them failed. */
  const inflight = new Map<string, { n: number; failed: boolean }>();
  /** reqId → Service key, for requests still awaiting their response. */
  const pendingReqs = new Map<string, string>();

  // endpointSliceTracker: the resourceVersion of each slice this controller last wrote, so that
  // the watch echo of its own write does not cause another sync.
  const tracker = new Map<string, { svcKey: string; rv: number }>();
  const expectedDeletes = new Set<string>();

  function armSync(): void {
    if (syncArmed) return;
    syncArmed = true;
    port.setTimer('sync', 0);
  }

  function queue(key: string): void {
    dirty.add(key);
    armSync();
  }

  function queueAfter(key: string, delayMs: number): void {
    if (delayMs <= 0) return queue(key);
    const due = port.now() + delayMs;
    const cur = waitingDueMs.get(key);
    if (cur !== undefined && cur <= due) return;
    waitingDueMs.set(key, due);
    port.setTimer(`requeue/${key}`, delayMs);
  }

  function addRateLimited(key: string): void {
    const n = failures.get(key) ?? 0;
    if (n >= MAX_RETRIES) {
      // "Retry budget exceeded, dropping service out of the queue".
      failures.delete(key);
      port.note(`service ${key}: retry budget exceeded`);
      return;
    }
    failures.set(key, n + 1);
    queueAfter(key, Math.min(DEFAULT_SYNC_BACKOFF_MS * 2 ** n, MAX_SYNC_BACKOFF_MS));
  }

  function shouldSync(slice: KObject): boolean {
    const t = tracker.get(nsName(slice));
    return !t || Number(slice.metadata.resourceVersion) > t.rv;
  }

  // --- event handlers -------------------------------------------------------------------------

  function onService(ev: WatchEvent): void {
    cache.apply(ev);
    queue(nsName(ev.obj));
  }

  /** addPod / updatePod / deletePod: every Service selecting the old or the new pod. */
  function onPod(ev: WatchEvent): void {
    const old = cache.apply(ev);
    const ns = ev.obj.metadata.namespace ?? '';
    const pods = old ? [old, ev.obj] : [ev.obj];
    for (const svc of cache.list<Svc>('Service', ns)) {
      const sel = svc.spec?.selector;
      if (pods.some((p) => matchesMapSelector(sel, p.metadata.labels))) queue(nsName(svc));
    }
  }

  function onSlice(ev: WatchEvent): void {
    const old = cache.apply(ev);
    const slice = ev.obj;
    const key = sliceServiceKey(slice);
    const sliceKey = nsName(slice);
    switch (ev.event) {
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

  function send(key: string, body: RequestBody, onOk: (res: ApiResponse) => void): void {
    const slot = inflight.get(key) ?? { n: 0, failed: false };
    slot.n++;
    inflight.set(key, slot);
    const reqId = api.request(body, (res) => {
      const mine = pendingReqs.get(res.reqId) === key;
      // Deleting a slice that is already gone is what was wanted.
      const ok = res.ok || (body.verb === 'delete' && res.status?.code === 404);
      if (ok) onOk(res);
      if (!mine) return; // timed out already; a late success still updated what we know
      pendingReqs.delete(res.reqId);
      port.cancelTimer(`timeout/${res.reqId}`);
      finish(key, ok);
    });
    pendingReqs.set(reqId, key);
    port.setTimer(`timeout/${reqId}`, REQUEST_TIMEOUT_MS);
  }

  function finish(key: string, ok: boolean): void {
    const slot = inflight.get(key);
    if (!slot) return;
    slot.n--;
    if (!ok) slot.failed = true;
    if (slot.n > 0) return;
    inflight.delete(key);
    if (slot.failed) addRateLimited(key);
    else failures.delete(key); // Forget
    if (dirty.has(key)) armSync();
  }

  /** Learns a slice this controller wrote, as the tracker and the informer will see it. */
  function remember(key: string, obj: KObject, event: 'ADDED' | 'MODIFIED'): void {
    cache.apply({ type: 'watch', event, obj });
    tracker.set(nsName(obj), { svcKey: key, rv: Number(obj.metadata.resourceVersion) });
  }

  function syncService(key: string): void {
    const slash = key.indexOf('/');
    const ns = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const svc = cache.get<Svc>('Service', ns, name);
    if (!svc) {
      // Deleted: the garbage collector removes its slices (ownerReference); forget it.
      for (const [k, t] of [...tracker]) if (t.svcKey === key) tracker.delete(k);
      failures.delete(key);
      return;
    }
    // Services of type ExternalName or without a selector get no slices from this controller.
    if (svc.spec?.type === 'ExternalName') return;
    const selector = svc.spec?.selector as Record<string, string> | undefined;
    if (!selector || Object.keys(selector).length === 0) return;
    if (svc.metadata.deletionTimestamp) return;

    const pods = cache.list<PodObj>('Pod', ns).filter((p) => matchesMapSelector(selector, p.metadata.labels));
    const want = desiredSlice(svc, pods);

    const slices = cache
      .list<SliceObj>('EndpointSlice', ns)
      .filter((s) => s.metadata.labels?.[LABEL_SERVICE_NAME] === name && managedByUs(s) && !s.metadata.deletionTimestamp);
    const mine = slices.filter((s) => ownedBy(s, svc) && s.addressType === 'IPv4');
    const keep = mine[0];
    // Slices of an earlier Service with this name, or duplicates, are deleted (reconciler.go).
    for (const s of slices) {
      if (s === keep) continue;
      const sKey = nsName(s);
      expectedDeletes.add(sKey);
      send(key, { verb: 'delete', kind: 'EndpointSlice', namespace: ns, name: s.metadata.name! }, () => {
        const cur = cache.get<SliceObj>('EndpointSlice', ns, s.metadata.name!);
        if (cur) cache.apply({ type: 'watch', event: 'DELETED', obj: cur });
      });
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
      send(key, { verb: 'create', kind: 'EndpointSlice', namespace: ns, obj }, (res) => res.obj && remember(key, res.obj, 'ADDED'));
      return;
    }
    if (sliceMatches(keep, want)) return;
    const obj: SliceObj = {
      ...keep,
      metadata: { ...keep.metadata, labels: want.labels },
      addressType: 'IPv4',
      endpoints: want.endpoints,
      ports: want.ports,
    };
    send(key, { verb: 'update', kind: 'EndpointSlice', namespace: ns, name: keep.metadata.name!, obj }, (res) => res.obj && remember(key, res.obj, 'MODIFIED'));
  }

  function runSync(): void {
    syncArmed = false;
    for (const key of [...dirty].sort()) {
      if (inflight.has(key)) continue; // stays dirty; picked up when its writes finish
      dirty.delete(key);
      syncService(key);
    }
  }

  return {
    start() {
      api.watch(['Service', 'Pod', 'EndpointSlice']);
    },
    receive(msg: Msg) {
      if (api.handle(msg)) return;
      if (msg.type !== 'watch') return;
      switch (msg.obj.kind) {
        case 'Service':
          return onService(msg);
        case 'Pod':
          return onPod(msg);
        case 'EndpointSlice':
          return onSlice(msg);
      }
    },
    timer(key: string) {
      if (key === 'sync') return runSync();
      if (key.startsWith('requeue/')) {
        const svcKey = key.slice('requeue/'.length);
        waitingDueMs.delete(svcKey);
        return queue(svcKey);
      }
      if (key.startsWith('timeout/')) {
        const reqId = key.slice('timeout/'.length);
        const svcKey = pendingReqs.get(reqId);
        if (svcKey === undefined) return;
        pendingReqs.delete(reqId);
        port.note(`request ${reqId} for service ${svcKey} timed out`);
        finish(svcKey, false);
      }
    },
  };
}
