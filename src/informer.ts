/**
 * A component's informers, as client-go builds them (tools/cache: reflector.go,
 * shared_informer.go, the Indexer): what a controller, the kubelet or the scheduler believes the
 * cluster looks like, kept up to date by list and watch over the bus.
 *
 * Per kind, a reflector:
 * - lists the kind (the response carries the collection's resourceVersion), replaces the cache
 *   with it — objects that changed or appeared are handed to the event handler as MODIFIED /
 *   ADDED, objects that are gone as DELETED (DeltaFIFO.Replace; an unchanged object is not) —
 *   then watches from that resourceVersion;
 * - applies each watch event to the cache and hands it to the handler, remembering the last
 *   resourceVersion seen;
 * - resumes a watch that ended — its own timeout (a random 5-10 min, reflector.go
 *   minWatchTimeout), a broken connection (`watch.broken`: a lost message, a partition, the API
 *   server gone) — from the last resourceVersion seen; a watch that breaks before it delivered
 *   anything (within 1 s: reflector.go's "very short watch") or ends with an ERROR event
 *   (`410 Gone`: too old resource version) makes it list again, after the reflector's backoff
 *   (wait.NewExponentialBackoffManager(800ms, 30s, 2min, 2.0, 1.0): 0.8 s doubling to 30 s, each
 *   delay jittered up to twice itself, back to 0.8 s after 2 min without a backoff);
 * - a list that fails (an error, or no answer within the request timeout) is tried again after
 *   that backoff.
 * A periodic resync (per kind, as each Kubernetes controller configures it) replays the cache to
 * the handler as MODIFIED with old === obj: it repairs nothing by itself.
 *
 * The cache is an Indexer: objects by (namespace, name), listed in (namespace, name) order — never
 * in arrival order — with named indexes (pods by node, by claim, by owner ...) that return their
 * objects in the same order. A component that crashes loses its informers and lists again.
 *
 * Timer keys start with `informer/`; watch ids with the component's address.
 */
import { perBoot, type Port } from './component.ts';
import type { ApiClient, RequestBody } from './api-client.ts';
import type { KObject, Msg, WatchEvent } from './protocol.ts';
import type { Rng } from './rng.ts';

/** Where one object lives; a newer version of the object replaces `obj` in the same slot. */
interface Slot {
  namespace: string;
  name: string;
  obj: KObject;
  /** The object's key (cache.MetaNamespaceKeyFunc), made once when first asked for. */
  key: string | undefined;
  /** Index values this object is filed under, per index name. */
  filed: Map<string, readonly string[]> | undefined;
}

/**
 * Returns the values an object is indexed under (client-go IndexFunc). `input`, when given,
 * names the part of the object the values come from: a new version whose input is the same
 * value (or the same object: stored objects are never changed, and a status update keeps the
 * rest of the object) is filed as before without calling `fn`.
 */
export type IndexFunc = ((obj: KObject) => readonly string[]) & { input?: (obj: KObject) => unknown };

interface Index {
  fn: IndexFunc;
  byValue: Map<string, Set<Slot>>;
}

function withInput(fn: (obj: KObject) => readonly string[], input: (obj: KObject) => unknown): IndexFunc {
  return Object.assign(fn, { input });
}

interface KindStore {
  byNamespace: Map<string, Map<string, Slot>>;
  size: number;
  /** Slots sorted by (namespace, name); undefined when an object was added or removed since. */
  sorted: Slot[] | undefined;
  indexes: Map<string, Index>;
}

function byNamespaceThenName(a: Slot, b: Slot): number {
  if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

const NONE: readonly string[] = [];

/** Pods by the node they are bound to (the kubelet's and many controllers' spec.nodeName index). */
export const POD_NODE_INDEX = 'nodeName';
export const podNodeIndex: IndexFunc = withInput(
  (obj) => {
    const node = obj.spec?.nodeName;
    return typeof node === 'string' && node !== '' ? [node] : NONE;
  },
  (obj) => obj.spec?.nodeName,
);

/** Pods by the claims they use, `namespace/claim` (pvcprotection's and the scheduler's podPVCIndex). */
export const POD_CLAIM_INDEX = 'pod-pvc-index';
export const podClaimIndex: IndexFunc = withInput(
  (obj) => {
    const vols = obj.spec?.volumes;
    if (!Array.isArray(vols) || vols.length === 0) return NONE;
    const ns = obj.metadata.namespace ?? '';
    const out: string[] = [];
    for (const v of vols) {
      if (v?.persistentVolumeClaim?.claimName) out.push(`${ns}/${v.persistentVolumeClaim.claimName}`);
      else if (v?.ephemeral) out.push(`${ns}/${obj.metadata.name ?? ''}-${v.name}`);
    }
    return out.length > 0 ? out : NONE;
  },
  // The name counts for ephemeral volumes; a pod's name never changes.
  (obj) => obj.spec?.volumes,
);

/**
 * Objects by each of their labels, `key=value` (label keys and values hold no `=`): the pods a
 * map selector picks are among those filed under any one of its pairs (the smallest is taken).
 */
export const LABEL_INDEX = 'labels';
export const labelIndex: IndexFunc = withInput(
  (obj) => {
    const labels = obj.metadata.labels;
    if (!labels) return NONE;
    const out: string[] = [];
    for (const k of Object.keys(labels)) out.push(`${k}=${labels[k]}`);
    return out.length > 0 ? out : NONE;
  },
  (obj) => obj.metadata.labels,
);

/**
 * Services by each pair of their spec.selector, `key=value`: the Services that may select a pod
 * are among those filed under one of the pod's labels (an empty selector selects nothing).
 */
export const SERVICE_SELECTOR_INDEX = 'selector';
export const serviceSelectorIndex: IndexFunc = withInput(
  (obj) => {
    const sel = obj.spec?.selector as Record<string, string> | undefined;
    if (!sel || typeof sel !== 'object') return NONE;
    const out: string[] = [];
    for (const k of Object.keys(sel)) out.push(`${k}=${sel[k]}`);
    return out.length > 0 ? out : NONE;
  },
  (obj) => obj.spec?.selector,
);

/** Objects by the uid of their controller owner (the StatefulSet controller's pod lookups). */
export const CONTROLLER_UID_INDEX = 'controller-uid';
export const controllerUidIndex: IndexFunc = withInput(
  (obj) => {
    const refs = obj.metadata.ownerReferences;
    if (!refs) return NONE;
    for (const r of refs) if (r.controller && r.uid) return [r.uid];
    return NONE;
  },
  (obj) => obj.metadata.ownerReferences,
);

/** The informer's store and indexer (client-go cache.Indexer). */
export class Cache {
  private readonly byKind = new Map<string, KindStore>();

  /** Adds a named index of a kind (client-go AddIndexers); objects already cached are filed. */
  addIndex(kind: string, name: string, fn: IndexFunc): void {
    const m = this.kind(kind);
    const index: Index = { fn, byValue: new Map() };
    m.indexes.set(name, index);
    for (const names of m.byNamespace.values()) for (const s of names.values()) this.file(index, name, s);
  }

  /**
   * Stores `obj`, or ignores it when the cache holds a newer version (a duplicated or reordered
   * delivery); returns the previous object (undefined when it is new).
   */
  put(obj: KObject): KObject | undefined {
    const m = this.kind(obj.kind);
    const namespace = obj.metadata.namespace ?? '';
    const name = String(obj.metadata.name);
    let names = m.byNamespace.get(namespace);
    const slot = names?.get(name);
    if (slot) {
      const old = slot.obj;
      if (Number(old.metadata.resourceVersion) > Number(obj.metadata.resourceVersion)) return old;
      slot.obj = obj;
      if (m.indexes.size > 0) for (const [n, index] of m.indexes) if (!index.fn.input || index.fn.input(old) !== index.fn.input(obj)) this.refile(index, n, slot);
      return old;
    }
    if (!names) m.byNamespace.set(namespace, (names = new Map()));
    const s: Slot = { namespace, name, obj, key: undefined, filed: undefined };
    names.set(name, s);
    m.size++;
    m.sorted = undefined;
    if (m.indexes.size > 0) for (const [n, index] of m.indexes) this.file(index, n, s);
    return undefined;
  }

  /** Removes an object; returns what the cache held (undefined when it held nothing). */
  delete(kind: string, namespace: string | undefined, name: string): KObject | undefined {
    const m = this.byKind.get(kind);
    const names = m?.byNamespace.get(namespace ?? '');
    const slot = names?.get(name);
    if (!m || !names || !slot) return undefined;
    names.delete(name);
    if (names.size === 0) m.byNamespace.delete(namespace ?? '');
    m.size--;
    m.sorted = undefined;
    if (slot.filed) for (const [n, values] of slot.filed) for (const v of values) m.indexes.get(n)!.byValue.get(v)?.delete(slot);
    return slot.obj;
  }

  /** Applies a watch event; returns the previous object (undefined on ADDED). */
  apply(ev: Pick<WatchEvent, 'event' | 'obj'>): KObject | undefined {
    const o = ev.obj;
    if (ev.event === 'DELETED') return this.delete(o.kind, o.metadata.namespace, String(o.metadata.name));
    return this.put(o);
  }

  get<T = KObject>(kind: string, namespace: string | undefined, name: string): T | undefined {
    return this.byKind.get(kind)?.byNamespace.get(namespace ?? '')?.get(name)?.obj as T | undefined;
  }

  /** Objects of a kind, sorted by (namespace, name): never in arrival order. */
  list<T = KObject>(kind: string, namespace?: string): T[] {
    const m = this.byKind.get(kind);
    if (!m) return [];
    const out: KObject[] = [];
    if (namespace !== undefined) {
      const names = m.byNamespace.get(namespace);
      if (!names) return [];
      const slots = [...names.values()].sort(byNamespaceThenName);
      for (const s of slots) out.push(s.obj);
      return out as T[];
    }
    const slots = (m.sorted ??= this.sortedSlots(m));
    for (const s of slots) out.push(s.obj);
    return out as T[];
  }

  /** Objects filed under `value` in the index `name` of `kind`, in (namespace, name) order. */
  byIndex<T = KObject>(kind: string, name: string, value: string): T[] {
    const set = this.byKind.get(kind)?.indexes.get(name)?.byValue.get(value);
    if (!set || set.size === 0) return [];
    const slots = [...set].sort(byNamespaceThenName);
    return slots.map((s) => s.obj) as T[];
  }

  /**
   * Objects filed under every one of `values` in the index `name` of `kind` (a map selector over
   * LABEL_INDEX) that `keep` accepts, in (namespace, name) order: the smallest of the values' sets
   * is the one walked. No values: none.
   */
  byIndexAll<T = KObject>(kind: string, name: string, values: readonly string[], keep: (obj: KObject) => boolean): T[] {
    const index = this.byKind.get(kind)?.indexes.get(name);
    if (!index || values.length === 0) return [];
    const sets: Set<Slot>[] = [];
    for (const v of values) {
      const set = index.byValue.get(v);
      if (!set || set.size === 0) return [];
      sets.push(set);
    }
    sets.sort((a, b) => a.size - b.size);
    const smallest = sets[0]!;
    const slots: Slot[] = [];
    for (const s of smallest) {
      let inAll = true;
      for (let i = 1; i < sets.length && inAll; i++) inAll = sets[i]!.has(s);
      if (inAll && keep(s.obj)) slots.push(s);
    }
    return slots.sort(byNamespaceThenName).map((s) => s.obj) as T[];
  }

  /**
   * Calls `fn` with each object filed under `value` in the index `name` of `kind`, in no
   * particular order: only for what does not depend on order (counting, summing).
   */
  forEachIndexed(kind: string, name: string, value: string, fn: (obj: KObject) => void): void {
    const set = this.byKind.get(kind)?.indexes.get(name)?.byValue.get(value);
    if (set) for (const s of set) fn(s.obj);
  }

  /** How many objects are filed under `value` in the index `name` of `kind`. */
  byIndexSize(kind: string, name: string, value: string): number {
    return this.byKind.get(kind)?.indexes.get(name)?.byValue.get(value)?.size ?? 0;
  }

  /**
   * Keys of a kind's objects in (namespace, name) order, as client-go's MetaNamespaceKeyFunc
   * writes them: `namespace/name`, or `name` for a cluster-scoped object. The same string is
   * handed out every time for an object.
   */
  keys(kind: string): string[] {
    const m = this.byKind.get(kind);
    if (!m) return [];
    const slots = (m.sorted ??= this.sortedSlots(m));
    const out: string[] = new Array(slots.length);
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i]!;
      out[i] = s.key ??= s.namespace === '' ? s.name : `${s.namespace}/${s.name}`;
    }
    return out;
  }

  size(kind: string): number {
    return this.byKind.get(kind)?.size ?? 0;
  }

  /** How many objects of a kind the namespace holds ('' for cluster-scoped ones). */
  sizeIn(kind: string, namespace: string): number {
    return this.byKind.get(kind)?.byNamespace.get(namespace)?.size ?? 0;
  }

  private file(index: Index, name: string, s: Slot): void {
    const values = index.fn(s.obj);
    if (values.length === 0) return;
    (s.filed ??= new Map()).set(name, values);
    for (const v of values) {
      let set = index.byValue.get(v);
      if (!set) index.byValue.set(v, (set = new Set()));
      set.add(s);
    }
  }

  private refile(index: Index, name: string, s: Slot): void {
    const before = s.filed?.get(name) ?? NONE;
    const after = index.fn(s.obj);
    if (before.length === after.length && before.every((v, i) => v === after[i])) return;
    for (const v of before) index.byValue.get(v)?.delete(s);
    s.filed?.delete(name);
    this.file(index, name, s);
  }

  private sortedSlots(m: KindStore): Slot[] {
    const slots: Slot[] = [];
    for (const names of m.byNamespace.values()) for (const s of names.values()) slots.push(s);
    return slots.sort(byNamespaceThenName);
  }

  private kind(kind: string): KindStore {
    let m = this.byKind.get(kind);
    if (!m) this.byKind.set(kind, (m = { byNamespace: new Map(), size: 0, sorted: undefined, indexes: new Map() }));
    return m;
  }
}

// client-go tools/cache/reflector.go NewReflectorWithOptions and minWatchTimeout.
export const REFLECTOR_BACKOFF_INITIAL_MS = 800;
export const REFLECTOR_BACKOFF_MAX_MS = 30_000;
export const REFLECTOR_BACKOFF_RESET_MS = 120_000;
export const MIN_WATCH_TIMEOUT_MS = 5 * 60_000;
/** reflector.go watchHandler: a watch that ends within 1 s having delivered nothing is an error. */
const VERY_SHORT_WATCH_MS = 1_000;

/** wait.exponentialBackoffManagerImpl with factor 2 and jitter 1.0. */
export class BackoffManager {
  private durationMs: number;
  private lastStartMs = -Infinity;

  constructor(
    private readonly rng: Rng,
    private readonly initialMs = REFLECTOR_BACKOFF_INITIAL_MS,
    private readonly maxMs = REFLECTOR_BACKOFF_MAX_MS,
    private readonly resetMs = REFLECTOR_BACKOFF_RESET_MS,
  ) {
    this.durationMs = initialMs;
  }

  /** The next delay (getNextBackoff, then Backoff.Step with jitter). */
  next(nowMs: number): number {
    if (nowMs - this.lastStartMs > this.resetMs) this.durationMs = this.initialMs;
    this.lastStartMs = nowMs;
    const d = this.durationMs;
    this.durationMs = Math.min(this.durationMs * 2, this.maxMs);
    return Math.round(d + this.rng.next() * d);
  }
}

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

/**
 * The event handler: `old` is the cached object before (undefined on ADDED; on DELETED the last
 * object known); a resync is MODIFIED with old === obj.
 */
export type ChangeHandler = (type: ChangeType, obj: KObject, old: KObject | undefined) => void;

export interface InformerOptions {
  kinds: readonly string[];
  onChange: ChangeHandler;
  /** Only pods on this node (the kubelet's spec.nodeName field selector). */
  nodeName?: string;
  /** Per kind, only the object of this name (field selector metadata.name: the kubelet's Node). */
  only?: Readonly<Record<string, string>>;
  /** Handler resync period per kind (AddEventHandlerWithResyncPeriod); none when absent. */
  resyncMs?: Readonly<Record<string, number>>;
  /**
   * client-go's ShouldResync: asked at each resync tick; while it says no, the resync timer is
   * not re-armed (an idle resync costs nothing) until `wakeResync()`. Ticks stay on the grid of
   * the informer's start.
   */
  shouldResync?: () => boolean;
  /** Runs once every kind has been listed (HasSynced), and again after a restart. */
  onSynced?: () => void;
  /** --bug informer-no-relist: a watch that ends is never established again. */
  noRelist?: boolean;
}

type Phase = 'listing' | 'watching' | 'waiting' | 'stopped';

interface Reflector {
  kind: string;
  phase: Phase;
  lastRv: string;
  watchId: string | undefined;
  watchStartMs: number;
  /** Events received on the current watch. */
  watchEvents: number;
  synced: boolean;
  backoff: BackoffManager;
  rng: Rng;
  /** Timer keys, made once. */
  keys: { relist: string; timeout: string; resync: string };
}

export class Informers {
  readonly cache = new Cache();
  private readonly reflectors = new Map<string, Reflector>();
  /** Reflectors by the id of their current watch. */
  private readonly byWatch = new Map<string, Reflector>();
  private watchSeq = 0;
  private syncedAll = false;
  private startMs = 0;
  /** Kinds whose resync timer is armed. */
  private readonly resyncArmed = new Set<string>();

  constructor(
    private readonly port: Port,
    private readonly api: ApiClient,
    private readonly opts: InformerOptions,
  ) {
    for (const kind of opts.kinds) {
      const rng = port.rng.fork(`informer/${kind}`);
      this.reflectors.set(kind, {
        kind,
        phase: 'stopped',
        lastRv: '',
        watchId: undefined,
        watchStartMs: 0,
        watchEvents: 0,
        synced: false,
        backoff: new BackoffManager(rng),
        rng,
        keys: { relist: `informer/${kind}/relist`, timeout: `informer/${kind}/timeout`, resync: `informer/${kind}/resync` },
      });
    }
  }

  /** Lists every kind, then watches (Run). */
  start(): void {
    this.startMs = this.port.now();
    for (const r of this.reflectors.values()) {
      this.list(r);
      this.armResync(r);
    }
  }

  /** Something may need a resync again: arms the idle resync timers at their next tick. */
  wakeResync(): void {
    for (const r of this.reflectors.values()) this.armResync(r);
  }

  private armResync(r: Reflector): void {
    const every = this.opts.resyncMs?.[r.kind];
    if (!every || this.resyncArmed.has(r.kind)) return;
    this.resyncArmed.add(r.kind);
    this.port.setTimer(r.keys.resync, every - ((this.port.now() - this.startMs) % every));
  }

  /** Whether every kind has been listed at least once (cache.WaitForCacheSync). */
  get synced(): boolean {
    return this.syncedAll;
  }

  /** Consumes watch events and broken streams of our watches; false for any other message. */
  handle(msg: Msg): boolean {
    if (msg.type === 'watch') {
      const r = this.byWatch.get(msg.watchId);
      if (r) this.onWatchEvent(r, msg);
      return true;
    }
    if (msg.type === 'watch.broken') {
      const r = this.byWatch.get(msg.watchId);
      if (r) this.onWatchEnded(r, false);
      return true;
    }
    return false;
  }

  /** Routes the owner's timer keys; true when `key` was an informer's. */
  timer(key: string): boolean {
    if (!key.startsWith('informer/')) return false;
    const slash = key.lastIndexOf('/');
    const r = this.reflectors.get(key.slice('informer/'.length, slash));
    if (!r) return true;
    switch (key.slice(slash + 1)) {
      case 'relist':
        if (r.phase === 'waiting') this.list(r);
        break;
      case 'timeout':
        // The server closes the watch at its timeoutSeconds: a clean end, resumed at once.
        if (r.phase === 'watching') {
          this.forgetWatch(r);
          this.watch(r);
        }
        break;
      case 'resync':
        this.resyncArmed.delete(r.kind);
        if (this.opts.shouldResync && !this.opts.shouldResync()) break;
        for (const obj of this.cache.list(r.kind)) this.opts.onChange('MODIFIED', obj, obj);
        this.armResync(r);
        break;
    }
    return true;
  }

  private list(r: Reflector): void {
    r.phase = 'listing';
    const body: RequestBody = { verb: 'list', kind: r.kind };
    if (this.opts.nodeName !== undefined && r.kind === 'Pod') body.fieldNodeName = this.opts.nodeName;
    const only = this.opts.only?.[r.kind];
    if (only !== undefined) body.fieldName = only;
    this.api.request(body, (res) => {
      if (r.phase !== 'listing') return;
      if (!res.ok || !res.items) return this.waitThenList(r);
      this.replace(r, res.items);
      r.lastRv = res.resourceVersion ?? r.lastRv;
      if (!r.synced) {
        r.synced = true;
        this.checkSynced();
      }
      this.watch(r);
    });
  }

  /** DeltaFIFO.Replace as the informer hands it on: changed, new, then gone objects. */
  private replace(r: Reflector, items: readonly KObject[]): void {
    const seen = new Set<string>();
    for (const obj of items) {
      const ns = obj.metadata.namespace ?? '';
      const name = String(obj.metadata.name);
      seen.add(`${ns}/${name}`);
      const held = this.cache.get(r.kind, ns, name);
      if (held && held.metadata.resourceVersion === obj.metadata.resourceVersion) continue;
      const old = this.cache.put(obj);
      this.opts.onChange(old ? 'MODIFIED' : 'ADDED', obj, old);
    }
    for (const obj of this.cache.list(r.kind)) {
      if (seen.has(`${obj.metadata.namespace ?? ''}/${String(obj.metadata.name)}`)) continue;
      this.cache.delete(r.kind, obj.metadata.namespace, String(obj.metadata.name));
      this.opts.onChange('DELETED', obj, obj);
    }
  }

  private watch(r: Reflector): void {
    const watchId = perBoot(this.port, `${this.port.address}/${r.kind}#${++this.watchSeq}`);
    r.phase = 'watching';
    r.watchId = watchId;
    r.watchStartMs = this.port.now();
    r.watchEvents = 0;
    this.byWatch.set(watchId, r);
    this.api.watch(watchId, r.kind, r.lastRv, r.kind === 'Pod' ? this.opts.nodeName : undefined, this.opts.only?.[r.kind]);
    // timeoutSeconds = minWatchTimeout * (rand + 1): 5 to 10 minutes.
    this.port.setTimer(r.keys.timeout, MIN_WATCH_TIMEOUT_MS + Math.floor(r.rng.next() * MIN_WATCH_TIMEOUT_MS));
  }

  private onWatchEvent(r: Reflector, ev: WatchEvent): void {
    if (ev.event === 'ERROR') return this.onWatchEnded(r, true);
    r.watchEvents++;
    const obj = ev.obj;
    if (obj.metadata.resourceVersion) r.lastRv = obj.metadata.resourceVersion;
    if (ev.event === 'DELETED') {
      const old = this.cache.delete(obj.kind, obj.metadata.namespace, String(obj.metadata.name));
      this.opts.onChange('DELETED', obj, old);
      return;
    }
    const old = this.cache.put(obj);
    // An older version than the one held (a duplicated delivery) changes nothing.
    if (old && Number(old.metadata.resourceVersion) > Number(obj.metadata.resourceVersion)) return;
    this.opts.onChange(old ? 'MODIFIED' : 'ADDED', obj, old);
  }

  /** The current watch ended: with an error or a very short life, list again after the backoff. */
  private onWatchEnded(r: Reflector, error: boolean): void {
    const veryShort = r.watchEvents === 0 && this.port.now() - r.watchStartMs < VERY_SHORT_WATCH_MS;
    this.forgetWatch(r);
    if (this.opts.noRelist) {
      r.phase = 'stopped';
      return;
    }
    if (error || veryShort) this.waitThenList(r);
    else this.watch(r);
  }

  private forgetWatch(r: Reflector): void {
    if (r.watchId !== undefined) this.byWatch.delete(r.watchId);
    r.watchId = undefined;
    this.port.cancelTimer(r.keys.timeout);
  }

  /** wait.BackoffUntil around ListAndWatch: the next list after the backoff manager's delay. */
  private waitThenList(r: Reflector): void {
    r.phase = 'waiting';
    this.port.setTimer(r.keys.relist, r.backoff.next(this.port.now()));
  }

  private checkSynced(): void {
    if (this.syncedAll) return;
    for (const r of this.reflectors.values()) if (!r.synced) return;
    this.syncedAll = true;
    this.opts.onSynced?.();
  }
}
