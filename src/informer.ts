/**
 * A controller's watch-fed cache (client-go's informer store): what the controller believes the
 * cluster looks like. It is updated only by watch events that reached this controller, so a
 * delayed or dropped event leaves it stale — which is the point.
 *
 * `list` returns objects sorted by (namespace, name), never in arrival order. The sorted key
 * order is kept per kind and recomputed only when a key appears or goes, so listing a kind whose
 * objects merely change costs no sort.
 */
import type { KObject, WatchEvent } from './protocol.ts';

interface KindStore {
  byKey: Map<string, KObject>;
  /** Keys (`namespace NUL name`) sorted; undefined when a key was added or removed since. */
  sorted: string[] | undefined;
}

export class Cache {
  private readonly byKind = new Map<string, KindStore>();

  /** Applies a watch event; returns the previous object (undefined on ADDED). */
  apply(ev: WatchEvent): KObject | undefined {
    const m = this.kind(ev.obj.kind);
    const k = `${ev.obj.metadata.namespace ?? ''}\u0000${ev.obj.metadata.name}`;
    const old = m.byKey.get(k);
    if (ev.event === 'DELETED') {
      if (old) {
        m.byKey.delete(k);
        m.sorted = undefined;
      }
    } else {
      // Ignore an event older than what we hold (a duplicated or reordered delivery).
      if (old && Number(old.metadata.resourceVersion) > Number(ev.obj.metadata.resourceVersion)) return old;
      if (!old) m.sorted = undefined;
      m.byKey.set(k, ev.obj);
    }
    return old;
  }

  get<T = KObject>(kind: string, namespace: string | undefined, name: string): T | undefined {
    return this.byKind.get(kind)?.byKey.get(`${namespace ?? ''}\u0000${name}`) as T | undefined;
  }

  /** Objects of a kind, sorted by (namespace, name): never in arrival order. */
  list<T = KObject>(kind: string, namespace?: string): T[] {
    const m = this.byKind.get(kind);
    if (!m) return [];
    // NUL sorts below every character a namespace or name may hold, so key order is
    // (namespace, name) order.
    const keys = (m.sorted ??= [...m.byKey.keys()].sort());
    const out: KObject[] = [];
    if (namespace === undefined) {
      for (const k of keys) out.push(m.byKey.get(k)!);
    } else {
      const prefix = `${namespace}\u0000`;
      for (const k of keys) if (k.startsWith(prefix)) out.push(m.byKey.get(k)!);
    }
    return out as T[];
  }

  size(kind: string): number {
    return this.byKind.get(kind)?.byKey.size ?? 0;
  }

  private kind(kind: string): KindStore {
    let m = this.byKind.get(kind);
    if (!m) this.byKind.set(kind, (m = { byKey: new Map(), sorted: undefined }));
    return m;
  }
}
