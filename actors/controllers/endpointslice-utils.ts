/**
 * Pure helpers of the EndpointSlice controller: a pod's endpoint and ports, a slice's labels, an
 * endpoint's identity, and what a Service's slices should hold, worked out from its pods and kept
 * between syncs (ServicePods). Nothing here talks to the bus.
 *
 * Follows staging/src/k8s.io/endpointslice utils.go and util/ (controller_utils.go,
 * endpointset.go), v1.30.
 */
import type { ContainerPort, Pod, Service, ServicePort } from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointPort, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { type Cache, LABEL_INDEX, serviceSelectorIndex } from '../../src/informer.ts';
import type { KObject } from '../../src/protocol.ts';
import { cmp, isPodReady, podPhase } from '../../src/model/objects.ts';
import { matchesMapSelector } from '../../src/model/selectors.ts';

// k8s.io/api/discovery/v1 well_known_labels.go and core/v1 well_known_labels.go.
export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
export const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
export const LABEL_HEADLESS = 'service.kubernetes.io/headless';
/** `controllerQualifiedName`, endpointslice_controller.go. */
export const CONTROLLER_NAME = 'endpointslice-controller.k8s.io';

export type Svc = Service & KObject;
type PodObj = Pod & KObject;
export type SliceObj = EndpointSlice & KObject;

// ---------------------------------------------------------------------------------------------
// A pod's endpoint (utils.go, util/controller_utils.go)

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

// ---------------------------------------------------------------------------------------------
// What a Service's slices should hold

/** What a Service's slices should hold together: its endpoints sorted by pod name. */
export interface DesiredSlice {
  labels: Record<string, string>;
  /** The ports of every endpoint (ksim has one port set: the first pod's; none when no pod). */
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

/** What the Service's slices should hold, from the pods it selects (sorted by name). */
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
 * What a Service's slices should hold, kept from one sync to the next: the same as
 * desiredSlice(svc, the pods byIndexAll selects), which stays the reference (a test checks they
 * agree). The label index walks a value's pods in the order they were filed, which a new version
 * of a pod does not change; so while the same names come in the same order, the name order
 * found once still holds and each pod is looked at only when its object changed. A sync of a
 * large Service then costs a pass over its pods without sorting or re-deriving endpoints.
 *
 * It is also the sync's EndpointIndex: an endpoint found in a slice is looked up by its pod's
 * name among the views, without a map of the desired endpoints made per sync. Each slice's
 * endpoints array (a stored version, or the one this controller wrote) remembers the view each
 * endpoint was found in: while that view's endpoint is the very same object, a sync finds it
 * there without the lookup (the walk over a Service's slices is most of a sync's work).
 */
export class ServicePods implements EndpointIndex {
  private svc: Service | undefined;
  private ns = '';
  /** Views in the order the index walked the pods. */
  private readonly views: PodView[] = [];
  /** Positions in `views`, sorted by name. */
  private order: number[] = [];
  /** Positions in `views` of the pods in the Service's namespace, by name. */
  private byName = new Map<string, number>();
  /** Each view's position in the last desired endpoints; -1 when it has none. */
  private readonly endpointAt: number[] = [];
  /** Each view's endpoint when it is desired (the last desired() listed it). */
  private readonly desiredAt: (Endpoint | undefined)[] = [];
  /** The view each endpoint of a slice's endpoints array was last found in (-1: none). */
  private readonly hints = new WeakMap<readonly Endpoint[], Int32Array>();
  /** positionsOf's answer, reused. */
  private found = new Int32Array(128);
  /** How many pods the last desired() selected. */
  selected = 0;

  desired(cache: Cache, svc: Service): DesiredSlice {
    const ns = svc.metadata?.namespace ?? '';
    const selector = svc.spec?.selector as Record<string, string> | undefined;
    const views = this.views;
    if (this.svc !== svc) {
      this.svc = svc;
      this.ns = ns;
      views.length = 0;
      this.order = [];
      this.byName = new Map();
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
          if (held === undefined || held.name !== v.name || held.pod.metadata.namespace !== v.pod.metadata.namespace) aligned = false;
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
      const byName = (this.byName = new Map());
      for (let i = 0; i < views.length; i++) if ((views[i]!.pod.metadata.namespace ?? '') === ns) byName.set(views[i]!.name, i);
    }
    const endpoints: Endpoint[] = [];
    const endpointAt = this.endpointAt;
    const desiredAt = this.desiredAt;
    endpointAt.length = views.length;
    desiredAt.length = views.length;
    let first: PodObj | undefined;
    let selected = 0;
    for (const i of this.order) {
      const v = views[i]!;
      endpointAt[i] = -1;
      desiredAt[i] = undefined;
      if (!v.selected) continue;
      selected++;
      if (v.ep === undefined) continue;
      first ??= v.pod;
      endpointAt[i] = endpoints.length;
      desiredAt[i] = v.ep;
      endpoints.push(v.ep);
    }
    this.selected = selected;
    // A placeholder slice (no endpoints) has no ports, as the reconciler's placeholder.
    return { labels: sliceLabels(svc), ports: first ? endpointPorts(svc, first) : [], endpoints };
  }

  /** EndpointIndex over the endpoints the last desired() returned. */
  positionsOf(es: readonly Endpoint[]): ArrayLike<number> {
    const n = es.length;
    if (this.found.length < n) this.found = new Int32Array(2 * n);
    const out = this.found;
    let hints = this.hints.get(es);
    if (hints === undefined) this.hints.set(es, (hints = new Int32Array(n).fill(-1)));
    for (let k = 0; k < n; k++) {
      const e = es[k]!;
      let view = hints[k]!;
      if (view < 0 || this.desiredAt[view] !== e) hints[k] = view = this.viewOf(e);
      out[k] = view < 0 ? -1 : this.endpointAt[view]!;
    }
    return out.subarray(0, n);
  }

  /** The view whose desired endpoint is sameEndpoint as `e`, or -1. */
  private viewOf(e: Endpoint): number {
    const t = e.targetRef;
    if (t === undefined || (t.namespace ?? '') !== this.ns) return -1;
    const view = this.byName.get(t.name ?? '');
    if (view === undefined) return -1;
    const d = this.desiredAt[view];
    return d !== undefined && (d === e || sameEndpoint(d, e)) ? view : -1;
  }
}

function podView(pod: PodObj, svc: Service, ns: string, selector: Record<string, string> | undefined): PodView {
  const selected = (pod.metadata.namespace ?? '') === ns && matchesMapSelector(selector, pod.metadata.labels);
  return { pod, name: pod.metadata.name ?? '', selected, ep: selected && shouldPodBeInEndpoints(pod) ? endpointOf(pod, svc) : undefined };
}

/** ownedBy: the slice names the Service (this very object, by uid) among its owners. */
export function ownedBy(slice: KObject, svc: Svc): boolean {
  return (slice.metadata.ownerReferences ?? []).some((o) => o.uid === svc.metadata.uid && o.kind === 'Service' && o.apiVersion === 'v1');
}


// ---------------------------------------------------------------------------------------------
// Comparing what is stored with what is desired

/** Two label maps hold the same pairs (no allocation: a sync compares every slice's). */
export function labelsEqual(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  if (a === b) return true;
  let n = 0;
  for (const k in a) {
    if (b?.[k] !== a[k]) return false;
    n++;
  }
  for (const _ in b) n--;
  return n === 0;
}

/** Two port lists are the same (fields the API server defaults taken as defaulted). */
export function portsEqual(a: readonly EndpointPort[], b: readonly EndpointPort[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if ((x.name ?? '') !== (y.name ?? '') || x.port !== y.port || (x.protocol ?? 'TCP') !== (y.protocol ?? 'TCP') || (x.appProtocol ?? null) !== (y.appProtocol ?? null)) return false;
  }
  return true;
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
export function canonText(e: Endpoint): string {
  let t = canonTexts.get(e);
  if (t === undefined) canonTexts.set(e, (t = JSON.stringify(canonEndpoint(e))));
  return t;
}

/**
 * Whether two endpoints are the same one to the reconciler (util/endpointset.go hashEndpoint):
 * the same addresses in any order, hostname, and target namespace and name. Conditions, node and
 * uid may differ: such an endpoint is updated in place, in the slice that holds it.
 */
export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  if ((a.hostname ?? '') !== (b.hostname ?? '')) return false;
  if ((a.targetRef?.namespace ?? '') !== (b.targetRef?.namespace ?? '') || (a.targetRef?.name ?? '') !== (b.targetRef?.name ?? '')) return false;
  const x = a.addresses;
  const y = b.addresses;
  if (x.length !== y.length) return false;
  if (x.length === 1) return x[0] === y[0];
  const xs = [...x].sort();
  const ys = [...y].sort();
  return xs.every((v, i) => v === ys[i]);
}

/** Looks up the desired endpoint that is the same one as an endpoint found in a slice. */
export interface EndpointIndex {
  /**
   * For each endpoint of a slice, the position in the desired endpoints of the one sameEndpoint
   * as it, or -1. The answer may be a scratch array, valid until the next call.
   */
  positionsOf(endpoints: readonly Endpoint[]): ArrayLike<number>;
}

/** The EndpointIndex of a list of desired endpoints, by their identity (EndpointSet's hash). */
export function endpointIndex(endpoints: readonly Endpoint[]): EndpointIndex {
  const key = (e: Endpoint) => JSON.stringify([[...e.addresses].sort(), e.hostname ?? '', e.targetRef?.namespace ?? '', e.targetRef?.name ?? '']);
  const at = new Map<string, number>();
  endpoints.forEach((e, i) => at.set(key(e), i));
  return { positionsOf: (es) => es.map((e) => at.get(key(e)) ?? -1) };
}
