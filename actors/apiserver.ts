/**
 * kube-apiserver: the only actor that owns cluster state. It wraps the ObjectStore (etcd) and
 * serves the API over the bus.
 *
 * Receives: api.request (create, update, updateStatus, patch, apply, delete, get, list, bind;
 *           a list answers with the collection's resourceVersion), api.watch (one kind from a
 *           resourceVersion: the changes after it are sent from the watch cache, then every new
 *           change; a revision the cache no longer holds gets an ERROR event, 410 Expired),
 *           watch.broken (a watch's connection was lost: the watch is forgotten),
 *           api.event (EventRecorder output, aggregated here), exec.request (proxied to the
 *           pod's kubelet, as `kubectl exec` goes through the API server) and the kubelet's
 *           shell.response for it.
 * Sends:    api.response to the requester, watch events to every watcher of the kind.
 *
 * The objects and their resourceVersions live in the ObjectStore (etcd) and survive a crash of
 * the API server; its watch cache (src/watch-cache.ts, one per kind, built at start from the
 * store's current revision) and its watches do not.
 *
 * Admission as v1.30 does it for what ksim models (plugin/pkg/admission/...): defaulting
 * (pkg/apis/<group>/v1/defaults.go), DefaultStorageClass, DefaultTolerationSeconds,
 * StorageObjectInUseProtection, PVC resize; validation (pkg/apis/.../validation). Writes with a
 * stale resourceVersion get 409 Conflict, as optimistic concurrency in the registry does.
 * A patch's result passes the strict decoder (src/model/decode.ts; as the unstructured
 * converter for a strategic merge patch, as encoding/json otherwise) and checkName before the
 * update's checks (endpoints/handlers/patch.go); a create may not carry a resourceVersion
 * (rest.BeforeCreate); a requested ClusterIP is allocated as service/storage/alloc.go does.
 * Graceful deletion follows pkg/registry/rest/delete.go: a pod bound to a node gets a
 * deletionTimestamp and stays until its kubelet confirms; objects with finalizers stay until
 * the last finalizer is removed.
 */
import { perBoot, type Component, type Port } from '../src/component.ts';
import type { ApiRequest, ApiResponse, ApiStatus, EventReport, ExecRequest, KObject, Msg, ShellResponse, WatchEvent, WatchRequest } from '../src/protocol.ts';
import { watchSummary } from '../src/protocol.ts';
import { ObjectStore } from '../src/store.ts';
import { deepCopy, isNamespaced, qualifiedResource, RESOURCES } from '../src/model/objects.ts';
import { applyDefaults } from '../src/model/defaults.ts';
import { invalidMessage, validateObject, validateUpdate } from '../src/model/validation.ts';
import { addProtectionFinalizers, checkPvcResize, clusterIPAllocationProblem, defaultStorageClass, defaultTolerationSeconds, ksimObjectLimits } from '../src/model/admission.ts';
import { applyPatch, patchDecodeFailure } from '../src/model/patch.ts';
import { decodeObject, strictDecodingMessage } from '../src/model/decode.ts';
import { goQuote } from '../src/model/validation.ts';
import { WatchCache, type ChangeType } from '../src/watch-cache.ts';
import { Calls } from '../src/calls.ts';

// The kubelet client's dial timeout (pkg/kubelet/client: a 30 s net.Dialer) for exec streams.
const EXEC_DIAL_TIMEOUT_MS = 30_000;

export const APISERVER_ADDRESS = 'apiserver';

export interface AggregatedEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  source: string;
  involvedObject: EventReport['involvedObject'];
  count: number;
  firstAtMs: number;
  lastAtMs: number;
}

/** Cluster-wide Events, aggregated as client-go's EventCorrelator does (same object, reason, message). */
export class EventLog {
  readonly items: AggregatedEvent[] = [];
  private readonly index = new Map<string, AggregatedEvent>();
  record(ev: EventReport, atMs: number): void {
    const io = ev.involvedObject;
    const key = `${io.kind}/${io.namespace ?? ''}/${io.name}/${io.uid ?? ''}|${ev.eventType}|${ev.reason}|${ev.message}|${ev.source}`;
    const hit = this.index.get(key);
    if (hit) {
      hit.count++;
      hit.lastAtMs = atMs;
      return;
    }
    const agg: AggregatedEvent = { type: ev.eventType, reason: ev.reason, message: ev.message, source: ev.source, involvedObject: io, count: 1, firstAtMs: atMs, lastAtMs: atMs };
    this.index.set(key, agg);
    this.items.push(agg);
  }
  /**
   * Events about one object, oldest first. With `uid`, only that incarnation's (what
   * `kubectl describe` selects with involvedObject.uid), not those of an earlier object of the
   * same name.
   */
  about(kind: string, namespace: string | undefined, name: string, uid?: string): AggregatedEvent[] {
    return this.items.filter(
      (e) =>
        e.involvedObject.kind === kind &&
        e.involvedObject.name === name &&
        (e.involvedObject.namespace ?? '') === (namespace ?? '') &&
        (uid === undefined || e.involvedObject.uid === undefined || e.involvedObject.uid === uid),
    );
  }
}

interface Watcher {
  address: string;
  watchId: string;
  kind: string;
  /** Field selector spec.nodeName (pods). */
  nodeName: string | undefined;
  /** Field selector metadata.name. */
  name: string | undefined;
}

/** The watchers of one kind: all of its objects, (pods) one node's, or one object's. */
interface KindWatchers {
  all: Map<string, Watcher>;
  byNode: Map<string, Map<string, Watcher>>;
  byName: Map<string, Map<string, Watcher>>;
}

export interface ApiServerOptions {
  store: ObjectStore;
  events: EventLog;
  /** DefaultTolerationSeconds admission: --default-not-ready/unreachable-toleration-seconds. */
  tolerationSeconds?: { notReady?: number; unreachable?: number };
}

/** `kubectl apply` takes these top-level fields from the manifest (metadata is merged, status kept). */
const APPLIED_FIELD = (k: string): boolean => k !== 'metadata' && k !== 'status' && k !== 'apiVersion' && k !== 'kind';

/** Kinds whose `status` is a subresource: a main-resource update cannot change it. */
const STATUS_SUBRESOURCE = new Set(['Pod', 'StatefulSet', 'PersistentVolumeClaim', 'PersistentVolume', 'Node', 'Namespace', 'Service']);

// Service ClusterIPs: 10.96.0.0/12 is kubeadm's default --service-cluster-ip-range; .1 is the
// kubernetes Service, .10 kube-dns (kubeadm's DNS address).
const SERVICE_NET_BASE = (10 << 24) | (96 << 16);
const SERVICE_NET_SIZE = 1 << 20;

/** 9999-12-31T23:59:59Z, the last instant RFC 3339 can write. */
const MAX_RFC3339_MS = Date.UTC(9999, 11, 31, 23, 59, 59);

function ipString(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function apiServer(port: Port, opts: ApiServerOptions): Component {
  const { store, events } = opts;
  /** Watchers by kind, each map keyed by the watching address (one watch per kind each). */
  const watchers = new Map<string, KindWatchers>();
  /** Open watches by watch id. */
  const byWatchId = new Map<string, Watcher>();
  /** The watch cache of each kind, all starting at the store's revision when we started. */
  const startRv = store.resourceVersion;
  const caches = new Map<string, WatchCache>();
  const proxied = new Map<string, { to: string; reqId: string }>();
  /** Exec streams opened, by `client|reqId`: a duplicated request opens none. */
  const execStreams = new Set<string>();
  /** Exec streams not yet taken by their kubelet, with the dial deadline. */
  const dialing = new Calls<{ reqId: string }>(port, 'exec-dial');
  let proxySeq = 0;
  const ipRng = port.rng.fork('cluster-ip');
  const usedClusterIPs = new Set<string>(store.list('Service').map((s) => s.spec?.clusterIP).filter((ip): ip is string => !!ip && ip !== 'None'));

  const notFound = (kind: string, name: string): ApiStatus => ({ code: 404, reason: 'NotFound', message: `${qualifiedResource(kind)} "${name}" not found` });
  const conflict = (kind: string, name: string): ApiStatus => ({
    code: 409,
    reason: 'Conflict',
    message: `Operation cannot be fulfilled on ${qualifiedResource(kind)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
  });
  const invalid = (obj: KObject, errs: ReturnType<typeof validateObject>): ApiStatus => ({ code: 422, reason: 'Invalid', message: invalidMessage(obj, errs) });

  function cacheOf(kind: string): WatchCache {
    let c = caches.get(kind);
    if (!c) caches.set(kind, (c = new WatchCache(startRv)));
    return c;
  }

  function watchersOf(kind: string): KindWatchers {
    let w = watchers.get(kind);
    if (!w) watchers.set(kind, (w = { all: new Map(), byNode: new Map(), byName: new Map() }));
    return w;
  }

  /**
   * What a node-filtered watcher sees of a change (cacheWatcher.convertToWatchEvent): a pod that
   * comes onto its node is ADDED, one that leaves it DELETED, one that stays MODIFIED.
   */
  function filtered(type: ChangeType, obj: KObject, old: KObject | undefined, node: string): ChangeType | undefined {
    const now = obj.spec?.nodeName === node;
    const before = old?.spec?.nodeName === node;
    if (type === 'DELETED') return now || before ? 'DELETED' : undefined;
    if (now) return before ? 'MODIFIED' : 'ADDED';
    return before ? 'DELETED' : undefined;
  }

  function sendEvent(w: Watcher, event: ChangeType, obj: KObject, summary = watchSummary(event, obj)): void {
    port.send(w.address, { type: 'watch', watchId: w.watchId, event, obj, summary } satisfies WatchEvent);
  }

  // Every commit goes into its kind's watch cache and out to the kind's watchers: those of every
  // object in the order they started watching, then (pods) those of the pod's node.
  const unsubscribe = store.onCommit((event, obj, old) => {
    // A deleted Service gives its ClusterIP back to the allocator.
    if (event === 'DELETED' && obj.kind === 'Service' && obj.spec?.clusterIP && obj.spec.clusterIP !== 'None') usedClusterIPs.delete(obj.spec.clusterIP);
    cacheOf(obj.kind).add(event, obj, old, port.now());
    const ws = watchers.get(obj.kind);
    if (!ws) return;
    // One trace text for every watcher's copy of the event.
    const summary = watchSummary(event, obj);
    for (const w of ws.all.values()) sendEvent(w, event, obj, summary);
    if (ws.byName.size > 0) {
      const named = ws.byName.get(obj.metadata.name ?? '');
      if (named) for (const w of named.values()) sendEvent(w, event, obj, summary);
    }
    if (ws.byNode.size === 0) return;
    const nodes = new Set<string>();
    if (typeof obj.spec?.nodeName === 'string') nodes.add(obj.spec.nodeName);
    if (typeof old?.spec?.nodeName === 'string') nodes.add(old.spec.nodeName);
    for (const node of nodes) {
      const byNode = ws.byNode.get(node);
      if (!byNode) continue;
      const type = filtered(event, obj, old, node);
      if (type) for (const w of byNode.values()) sendEvent(w, type, obj, type === event ? summary : watchSummary(type, obj));
    }
  });

  /** The map a watcher is filed in: by its field selector, else with the watchers of everything. */
  function slotOf(ws: KindWatchers, w: { nodeName: string | undefined; name: string | undefined }, create: boolean): Map<string, Watcher> | undefined {
    const [index, key] = w.nodeName !== undefined ? [ws.byNode, w.nodeName] : w.name !== undefined ? [ws.byName, w.name] : [undefined, ''];
    if (!index) return ws.all;
    let m = index.get(key);
    if (!m && create) index.set(key, (m = new Map()));
    return m;
  }

  function forgetWatch(w: Watcher): void {
    byWatchId.delete(w.watchId);
    const ws = watchers.get(w.kind)!;
    const m = slotOf(ws, w, false);
    if (m?.get(w.address) !== w) return;
    m.delete(w.address);
    if (m.size === 0 && m !== ws.all) {
      if (w.nodeName !== undefined) ws.byNode.delete(w.nodeName);
      else ws.byName.delete(w.name!);
    }
  }

  /** The watch `address` has open on `kind` with this field selector, if any. */
  function currentWatch(address: string, kind: string, sel: { nodeName: string | undefined; name: string | undefined }): Watcher | undefined {
    const ws = watchers.get(kind);
    return ws ? slotOf(ws, sel, false)?.get(address) : undefined;
  }

  /** api.watch: the changes after `resourceVersion` (or the current state from 0), then live. */
  function openWatch(req: WatchRequest, from: string): void {
    const w: Watcher = { address: from, watchId: req.watchId, kind: req.kind, nodeName: req.nodeName, name: req.name };
    const prev = currentWatch(from, req.kind, w);
    if (prev) forgetWatch(prev);
    const passes = (obj: KObject): boolean => (w.nodeName === undefined || obj.spec?.nodeName === w.nodeName) && (w.name === undefined || obj.metadata.name === w.name);
    const fromRv = Number(req.resourceVersion || '0');
    if (fromRv === 0) {
      // resourceVersion 0 (or none): the current state as ADDED events, then changes.
      for (const obj of store.list(req.kind)) if (passes(obj)) sendEvent(w, 'ADDED', obj);
    } else {
      const since = cacheOf(req.kind).sinceFor(fromRv, w);
      if ('tooOld' in since) {
        const status: KObject = { apiVersion: 'v1', kind: 'Status', metadata: {}, status: 'Failure', message: since.tooOld, reason: 'Expired', code: 410 };
        port.send(from, { type: 'watch', watchId: req.watchId, event: 'ERROR', obj: status } satisfies WatchEvent);
        return;
      }
      for (const e of since.events) {
        if (w.name !== undefined && e.obj.metadata.name !== w.name) continue;
        const type = w.nodeName === undefined ? e.type : filtered(e.type, e.obj, e.old, w.nodeName);
        if (type) sendEvent(w, type, e.obj);
      }
    }
    byWatchId.set(w.watchId, w);
    slotOf(watchersOf(req.kind), w, true)!.set(from, w);
  }

  /** A watch whose connection broke is forgotten (unless a newer watch replaced it). */
  function watchBroken(watchId: string): void {
    const w = byWatchId.get(watchId);
    if (w) forgetWatch(w);
  }

  function allocateClusterIP(): string {
    for (;;) {
      const ip = ipString(SERVICE_NET_BASE + ipRng.int(2, SERVICE_NET_SIZE - 2));
      if (!usedClusterIPs.has(ip) && !ip.endsWith('.0.10')) {
        usedClusterIPs.add(ip);
        return ip;
      }
    }
  }

  function reply(to: string, reqId: string, ok: boolean, out: { obj?: KObject; status?: ApiStatus; items?: KObject[]; resourceVersion?: string; warnings?: string[] }): void {
    const res: ApiResponse = { type: 'api.response', reqId, ok };
    if (out.obj !== undefined) res.obj = out.obj;
    if (out.status !== undefined) res.status = out.status;
    if (out.items !== undefined) res.items = out.items;
    if (out.resourceVersion !== undefined) res.resourceVersion = out.resourceVersion;
    if (out.warnings !== undefined) res.warnings = out.warnings;
    port.send(to, res);
  }

  function namespaceProblem(obj: KObject): ApiStatus | undefined {
    if (!isNamespaced(obj.kind)) return undefined;
    const ns = obj.metadata.namespace ?? '';
    const nsObj = store.get('Namespace', undefined, ns);
    if (!nsObj) return notFound('Namespace', ns);
    if (nsObj.metadata.deletionTimestamp)
      return { code: 403, reason: 'Forbidden', message: `${qualifiedResource(obj.kind)} "${obj.metadata.name ?? ''}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated` };
    return undefined;
  }

  function create(input: KObject): { obj?: KObject; status?: ApiStatus } {
    // rest.BeforeCreate: a create is not a conditional write.
    if (input.metadata?.resourceVersion) return { status: { code: 400, reason: 'BadRequest', message: 'resourceVersion should not be set on objects to be created' } };
    const obj = deepCopy(input);
    const meta = obj.metadata ?? (obj.metadata = {});
    if (isNamespaced(obj.kind)) meta.namespace = meta.namespace || 'default';
    else delete meta.namespace;
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${port.ids.nameSuffix()}`;
    const res = RESOURCES[obj.kind];
    if (res) obj.apiVersion = res.apiVersion;
    applyDefaults(obj);
    admit(obj);
    const errs = [...validateObject(obj), ...ksimObjectLimits(obj)];
    if (errs.length) return { status: invalid(obj, errs) };
    const nsErr = namespaceProblem(obj);
    if (nsErr) return { status: nsErr };
    if (store.get(obj.kind, meta.namespace, meta.name!))
      return { status: { code: 409, reason: 'AlreadyExists', message: `${qualifiedResource(obj.kind)} "${meta.name}" already exists` } };
    meta.uid = port.ids.uid();
    meta.creationTimestamp = port.nowIso();
    delete meta.deletionTimestamp;
    delete meta.resourceVersion;
    if (obj.kind === 'StatefulSet') meta.generation = 1;
    if (obj.kind === 'Service' && obj.spec.clusterIP && obj.spec.clusterIP !== 'None') {
      // The ClusterIP allocator (pkg/registry/core/service/storage/alloc.go): in the range, once.
      const why = clusterIPAllocationProblem(obj.spec.clusterIP, usedClusterIPs);
      if (why) return { status: invalid(obj, [{ path: 'spec.clusterIPs', message: `Invalid value: []string{${goQuote(obj.spec.clusterIP)}}: ${why}` }]) };
    }
    if (obj.kind === 'Service' && !obj.spec.clusterIP) {
      obj.spec.clusterIP = allocateClusterIP();
      obj.spec.clusterIPs = [obj.spec.clusterIP];
    } else if (obj.kind === 'Service' && obj.spec.clusterIP !== 'None') {
      usedClusterIPs.add(obj.spec.clusterIP);
      obj.spec.clusterIPs ??= [obj.spec.clusterIP];
    }
    return { obj: store.put(obj) };
  }

  /** Mutating admission plugins, in the order kube-apiserver runs them. */
  function admit(obj: KObject): void {
    if (obj.kind === 'Pod') defaultTolerationSeconds(obj, opts.tolerationSeconds);
    if (obj.kind === 'PersistentVolumeClaim') defaultStorageClass(obj, store.list('StorageClass'));
    if (obj.kind === 'PersistentVolumeClaim' || obj.kind === 'PersistentVolume') addProtectionFinalizers(obj);
  }

  /** Writes `next` over `old` after the update checks; removes the object when a deletion completes. */
  /** `owned`: `next` is already a private copy (apply, patch) and need not be copied again. */
  function commitUpdate(old: KObject, next: KObject, statusOnly: boolean, owned = false): { obj?: KObject; status?: ApiStatus } {
    const name = old.metadata.name!;
    // A status write shares the rest of the stored object: stored objects are never mutated in
    // place (every writer copies first), so versions may share what did not change.
    const merged: KObject = statusOnly ? { ...old, metadata: { ...old.metadata }, status: deepCopy(next.status) } : owned ? next : deepCopy(next);
    // Immutable metadata the client cannot change.
    merged.metadata.uid = old.metadata.uid!;
    merged.metadata.creationTimestamp = old.metadata.creationTimestamp!;
    // Assigned only when there is one: adding a key and deleting it again would put the
    // metadata of every cluster-scoped object in V8's slow dictionary mode.
    if (old.metadata.namespace) merged.metadata.namespace = old.metadata.namespace;
    else if (merged.metadata.namespace !== undefined || 'namespace' in merged.metadata) delete merged.metadata.namespace;
    merged.metadata.name = name;
    if (old.metadata.deletionTimestamp) merged.metadata.deletionTimestamp = old.metadata.deletionTimestamp;
    else delete merged.metadata.deletionTimestamp;
    if (old.metadata.deletionGracePeriodSeconds !== undefined) merged.metadata.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds;
    if (!statusOnly) {
      if (STATUS_SUBRESOURCE.has(old.kind) && old.status !== undefined) merged.status = deepCopy(old.status);
      applyDefaults(merged);
      const createErrs = [...validateObject(merged), ...ksimObjectLimits(merged)];
      const updateErrs = validateUpdate(old, merged);
      if (createErrs.length || updateErrs.length) return { status: invalid(merged, [...createErrs, ...updateErrs]) };
      if (old.kind === 'PersistentVolumeClaim') {
        const cls = store.get('StorageClass', undefined, old.spec?.storageClassName ?? '');
        const msg = checkPvcResize(old, merged, cls);
        if (msg) return { status: { code: 403, reason: 'Forbidden', message: `persistentvolumeclaims "${name}" is forbidden: ${msg}` } };
      }
      if (old.kind === 'StatefulSet') {
        const specChanged = JSON.stringify(old.spec) !== JSON.stringify(merged.spec);
        merged.metadata.generation = (old.metadata.generation ?? 1) + (specChanged ? 1 : 0);
      } else if (old.metadata.generation !== undefined) merged.metadata.generation = old.metadata.generation;
    }
    // The last finalizer gone from an object being deleted completes the deletion; a pod's
    // deletion is completed by its kubelet's final delete (grace 0) instead.
    const podWaitsForKubelet = old.kind === 'Pod' && merged.metadata.deletionGracePeriodSeconds !== 0;
    if (merged.metadata.deletionTimestamp && (merged.metadata.finalizers ?? []).length === 0 && !podWaitsForKubelet) {
      return { obj: store.remove(old.kind, old.metadata.namespace, name)! };
    }
    return { obj: store.put(merged) };
  }

  function podFinished(pod: KObject): boolean {
    return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
  }

  function remove(req: ApiRequest): { obj?: KObject; status?: ApiStatus } {
    const name = req.name ?? '';
    const old = store.get(req.kind, isNamespaced(req.kind) ? req.namespace ?? 'default' : undefined, name);
    if (!old) return { status: notFound(req.kind, name) };
    if (req.uid && old.metadata.uid !== req.uid)
      return { status: { code: 409, reason: 'Conflict', message: `Operation cannot be fulfilled on ${qualifiedResource(req.kind)} "${name}": Precondition failed: UID in precondition: ${req.uid}, UID in object meta: ${old.metadata.uid}` } };
    const finalizers = old.metadata.finalizers ?? [];
    // Graceful deletion of pods (pkg/registry/core/pod/strategy.go CheckGracefulDelete): a pod
    // that was never scheduled, or a forced delete (grace 0), goes at once.
    let graceSeconds = 0;
    if (req.kind === 'Pod' && old.spec?.nodeName && !podFinished(old)) {
      graceSeconds = req.gracePeriodSeconds ?? old.spec?.terminationGracePeriodSeconds ?? 30;
      if (old.metadata.deletionGracePeriodSeconds !== undefined) graceSeconds = Math.min(graceSeconds, old.metadata.deletionGracePeriodSeconds);
    }
    if (graceSeconds === 0 && finalizers.length === 0) return { obj: store.remove(old.kind, old.metadata.namespace, name)! };
    if (old.metadata.deletionTimestamp && old.metadata.deletionGracePeriodSeconds === graceSeconds) return { obj: old };
    const next = deepCopy(old);
    if (!next.metadata.deletionTimestamp || graceSeconds < (old.metadata.deletionGracePeriodSeconds ?? Infinity)) {
      next.metadata.deletionTimestamp = isoIn(graceSeconds);
    }
    next.metadata.deletionGracePeriodSeconds = graceSeconds;
    return { obj: store.put(next) };
  }

  /**
   * deletionTimestamp = now + grace period (pkg/registry/rest/delete.go BeforeDelete). A grace
   * period is any int64: past year 9999, which RFC 3339 (and metav1.Time) cannot write, the
   * timestamp stays at the last second of 9999; the grace period itself is kept as given.
   */
  function isoIn(seconds: number): string {
    const ms = Date.parse(port.nowIso()) + seconds * 1000;
    return new Date(Math.min(ms, MAX_RFC3339_MS)).toISOString().replace('.000Z', 'Z');
  }

  /**
   * PATCH (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go): the patch applied to
   * the stored object, the result decoded into its type as the strict decoder does it (a wrong
   * type is refused whatever the field validation; unknown fields per fieldValidation), the
   * name and namespace checked against the request (checkName), then the update's admission
   * and validation. A patch whose result is invalid is never stored.
   */
  function patch(req: ApiRequest, old: KObject, name: string, ns: string | undefined): { obj?: KObject; status?: ApiStatus; warnings?: string[] } {
    const type = req.patchType ?? 'strategic';
    const patched = applyPatch(old, type, req.patch);
    if (!patched.ok) return { status: { code: patched.code, reason: patched.reason, message: patched.message } };
    const validation = req.fieldValidation ?? 'strict';
    const decoded = decodeObject(patched.obj, old.kind, validation, { flavor: type === 'strategic' ? 'unstructured' : 'json' });
    if (decoded.errors.length > 0) {
      const f = patchDecodeFailure(type, req.patch, patched.obj, decoded.errors[0]!.message);
      return { status: { code: f.code, reason: f.reason, message: f.message } };
    }
    let warnings: string[] | undefined;
    if (decoded.unknown.length > 0) {
      if (validation === 'strict') {
        const f = patchDecodeFailure(type, req.patch, patched.obj, strictDecodingMessage(decoded.unknown));
        return { status: { code: f.code, reason: f.reason, message: f.message } };
      }
      if (validation === 'warn') warnings = decoded.unknown.map((u) => `unknown field ${JSON.stringify(u.field)}`);
    }
    const newName = patched.obj.metadata?.name;
    if (newName !== name) return { status: { code: 400, reason: 'BadRequest', message: `the name of the object (${typeof newName === 'string' ? newName : ''}) does not match the name on the URL (${name})` } };
    const newNs = patched.obj.metadata?.namespace;
    if (ns !== undefined && typeof newNs === 'string' && newNs !== '' && newNs !== ns) {
      return { status: { code: 400, reason: 'BadRequest', message: `the namespace of the object (${newNs}) does not match the namespace on the request (${ns})` } };
    }
    const out = commitUpdate(old, patched.obj, false, true);
    return warnings ? { ...out, warnings } : out;
  }

  function handleRequest(req: ApiRequest, from: string): void {
    const ns = isNamespaced(req.kind) ? (req.namespace ?? req.obj?.metadata.namespace ?? 'default') : undefined;
    const name = req.name ?? req.obj?.metadata.name ?? '';
    let out: { obj?: KObject; status?: ApiStatus; items?: KObject[]; resourceVersion?: string; warnings?: string[] };
    switch (req.verb) {
      case 'create':
        out = create(req.obj!);
        break;
      case 'get': {
        const o = store.get(req.kind, ns, name);
        out = o ? { obj: o } : { status: notFound(req.kind, name) };
        break;
      }
      case 'list': {
        let items: KObject[];
        if (req.fieldName !== undefined) {
          const o = store.get(req.kind, isNamespaced(req.kind) ? req.namespace : undefined, req.fieldName);
          items = o ? [o] : [];
        } else items = store.list(req.kind, req.namespace);
        if (req.fieldNodeName !== undefined) items = items.filter((p) => p.spec?.nodeName === req.fieldNodeName);
        out = { items, resourceVersion: String(store.resourceVersion) };
        break;
      }
      case 'update':
      case 'updateStatus': {
        const old = store.get(req.kind, ns, name);
        if (!old) {
          out = { status: notFound(req.kind, name) };
          break;
        }
        const rv = req.obj!.metadata.resourceVersion;
        if (rv !== undefined && rv !== old.metadata.resourceVersion) {
          out = { status: conflict(req.kind, name) };
          break;
        }
        out = commitUpdate(old, req.obj!, req.verb === 'updateStatus');
        break;
      }
      case 'patch': {
        const old = store.get(req.kind, ns, name);
        if (!old) {
          out = { status: notFound(req.kind, name) };
          break;
        }
        out = patch(req, old, name, ns);
        break;
      }
      case 'apply': {
        // kubectl apply: create, or take labels, annotations and the desired fields from the manifest.
        const m = req.obj!;
        const old = store.get(req.kind, ns, name);
        if (!old) {
          out = create(m);
          break;
        }
        // A resourceVersion in the manifest is a precondition of the update.
        const rv = m.metadata?.resourceVersion;
        if (rv && rv !== old.metadata.resourceVersion) {
          out = { status: conflict(req.kind, name) };
          break;
        }
        // The stored object's fields, with the manifest's desired fields in place of its own
        // (copied from the manifest, not copied twice).
        const next = {} as KObject;
        for (const k in old) next[k] = deepCopy(APPLIED_FIELD(k) && k in m ? m[k] : old[k]);
        if (m.metadata.labels) next.metadata.labels = deepCopy(m.metadata.labels);
        if (m.metadata.annotations) next.metadata.annotations = { ...(next.metadata.annotations ?? {}), ...deepCopy(m.metadata.annotations) };
        for (const k in m) if (APPLIED_FIELD(k) && !(k in old)) next[k] = deepCopy(m[k]);
        if (old.kind === 'Service' && next.spec && !m.spec?.clusterIP) {
          next.spec.clusterIP = old.spec.clusterIP;
          next.spec.clusterIPs = old.spec.clusterIPs;
        }
        out = commitUpdate(old, next, false, true);
        break;
      }
      case 'delete':
        out = remove(req);
        break;
      case 'bind': {
        const old = store.get('Pod', ns, name);
        if (!old) {
          out = { status: notFound('Pod', name) };
          break;
        }
        if (old.spec?.nodeName) {
          out = { status: { code: 409, reason: 'Conflict', message: `Operation cannot be fulfilled on pods/binding "${name}": pod ${name} is already assigned to node "${old.spec.nodeName}"` } };
          break;
        }
        if (old.metadata.deletionTimestamp) {
          out = { status: { code: 409, reason: 'Conflict', message: `Operation cannot be fulfilled on pods/binding "${name}": pod ${name} is being deleted, cannot be assigned to a host` } };
          break;
        }
        const next = deepCopy(old);
        next.spec.nodeName = req.nodeName;
        const conds = (next.status ??= {}).conditions ?? (next.status.conditions = []);
        const cond = { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: port.nowIso() };
        const i = conds.findIndex((c: { type: string }) => c.type === 'PodScheduled');
        if (i >= 0) conds[i] = cond;
        else conds.push(cond);
        out = { obj: store.put(next) };
        break;
      }
    }
    reply(from, req.reqId, !out.status, out);
  }

  /**
   * `kubectl exec` goes through the API server to the pod's kubelet. A kubelet that does not
   * take the stream within the dial timeout (its node is down or cut off) fails it as the
   * apiserver's proxy does: `error dialing backend: dial tcp <node>:10250: i/o timeout`; once
   * connected, the command may run as long as it blocks. An exec is one connection: a copy of
   * its request (messageDuplicate) is the same stream, not a second command.
   */
  function handleExec(req: ExecRequest, from: string): void {
    const stream = `${from}|${req.reqId}`;
    if (execStreams.has(stream)) return;
    execStreams.add(stream);
    const pod = store.get('Pod', req.namespace, req.pod);
    const fail = (error: string) => port.send(from, { type: 'shell.response', reqId: req.reqId, ok: false, error } satisfies ShellResponse);
    if (!pod) return fail(`pods "${req.pod}" not found`);
    if (!pod.spec?.nodeName || pod.status?.phase !== 'Running') return fail(`pod "${req.pod}" is not running`);
    const reqId = perBoot(port, `apiserver/exec#${++proxySeq}`);
    const node = pod.spec.nodeName as string;
    const ip = (store.get('Node', undefined, node)?.status?.addresses ?? []).find((a: { type: string }) => a.type === 'InternalIP')?.address ?? node;
    proxied.set(reqId, { to: from, reqId: req.reqId });
    dialing.await(reqId, () => {}, EXEC_DIAL_TIMEOUT_MS, () => {
      if (!proxied.delete(reqId)) return;
      fail(`error dialing backend: dial tcp ${ip}:10250: i/o timeout`);
    });
    port.send(`kubelet/${node}`, { ...req, reqId });
  }

  return {
    stop(): void {
      unsubscribe();
    },
    timer(key: string): void {
      dialing.timer(key);
    },
    receive(msg: Msg, from: string): void {
      switch (msg.type) {
        case 'api.request':
          handleRequest(msg, from);
          return;
        case 'api.watch':
          openWatch(msg, from);
          return;
        case 'watch.broken':
          watchBroken(msg.watchId);
          return;
        case 'api.event':
          events.record(msg, port.now());
          return;
        case 'exec.request':
          handleExec(msg, from);
          return;
        case 'exec.started': {
          // The kubelet took the stream: the client's connection is upgraded.
          const p = proxied.get(msg.reqId);
          if (p) port.send(p.to, { type: 'exec.started', reqId: p.reqId });
          dialing.resolve({ reqId: msg.reqId });
          return;
        }
        case 'shell.response': {
          const p = proxied.get(msg.reqId);
          if (!p) return;
          proxied.delete(msg.reqId);
          dialing.resolve({ reqId: msg.reqId });
          port.send(p.to, { ...msg, reqId: p.reqId });
          return;
        }
        default:
          return;
      }
    },
  };
}
