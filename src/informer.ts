/**
 * A controller's watch-fed cache (client-go's informer store): what the controller believes the
 * cluster looks like. It is updated only by watch events that reached this controller, so a
 * delayed or dropped event leaves it stale — which is the point.
 *
 * `list` returns objects sorted by (namespace, name), never in arrival order. The sorted order
 * is kept per kind and recomputed only when an object appears or goes, so listing a kind whose
 * objects merely change costs no sort. Objects are found by namespace, then name: no key string
 * is built on every event or lookup.
 */
import type { KObject, WatchEvent } from './protocol.ts';

/** Where one object lives; a newer version of the object replaces `obj` in the same slot. */
interface Slot {
  namespace: string;
  name: string;
  obj: KObject;
  /** The object's key (cache.MetaNamespaceKeyFunc), made once when first asked for. */
  key: string | undefined;
}

interface KindStore {
  byNamespace: Map<string, Map<string, Slot>>;
  size: number;
  /** Slots sorted by (namespace, name); undefined when an object was added or removed since. */
  sorted: Slot[] | undefined;
}

function byNamespaceThenName(a: Slot, b: Slot): number {
  if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export class Cache {
  private readonly byKind = new Map<string, KindStore>();

  /** Applies a watch event; returns the previous object (undefined on ADDED). */
  apply(ev: WatchEvent): KObject | undefined {
    const obj = ev.obj;
    const m = this.kind(obj.kind);
    const namespace = obj.metadata.namespace ?? '';
    const name = String(obj.metadata.name);
    let names = m.byNamespace.get(namespace);
    const slot = names?.get(name);
    if (ev.event === 'DELETED') {
      if (slot) {
        names!.delete(name);
        if (names!.size === 0) m.byNamespace.delete(namespace);
        m.size--;
        m.sorted = undefined;
      }
      return slot?.obj;
    }
    if (slot) {
      const old = slot.obj;
      // Ignore an event older than what we hold (a duplicated or reordered delivery).
      if (Number(old.metadata.resourceVersion) > Number(obj.metadata.resourceVersion)) return old;
      slot.obj = obj;
      return old;
    }
    if (!names) m.byNamespace.set(namespace, (names = new Map()));
    names.set(name, { namespace, name, obj, key: undefined });
    m.size++;
    m.sorted = undefined;
    return undefined;
  }

  get<T = KObject>(kind: string, namespace: string | undefined, name: string): T | undefined {
    return this.byKind.get(kind)?.byNamespace.get(namespace ?? '')?.get(name)?.obj as T | undefined;
  }

  /** Objects of a kind, sorted by (namespace, name): never in arrival order. */
  list<T = KObject>(kind: string, namespace?: string): T[] {
    const m = this.byKind.get(kind);
    if (!m) return [];
    const slots = (m.sorted ??= this.sortedSlots(m));
    const out: KObject[] = [];
    if (namespace === undefined) {
      for (const s of slots) out.push(s.obj);
    } else {
      for (const s of slots) if (s.namespace === namespace) out.push(s.obj);
    }
    return out as T[];
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

  private sortedSlots(m: KindStore): Slot[] {
    const slots: Slot[] = [];
    for (const names of m.byNamespace.values()) for (const s of names.values()) slots.push(s);
    return slots.sort(byNamespaceThenName);
  }

  private kind(kind: string): KindStore {
    let m = this.byKind.get(kind);
    if (!m) this.byKind.set(kind, (m = { byNamespace: new Map(), size: 0, sorted: undefined }));
    return m;
  }
}
