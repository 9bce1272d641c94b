/**
 * A controller's watch-fed cache (client-go's informer store): what the controller believes the
 * cluster looks like. It is updated only by watch events that reached this controller, so a
 * delayed or dropped event leaves it stale — which is the point.
 */
import type { KObject, WatchEvent } from './protocol.ts';
import { byNamespaceName } from './model/objects.ts';

export class Cache {
  private readonly byKind = new Map<string, Map<string, KObject>>();

  /** Applies a watch event; returns the previous object (undefined on ADDED). */
  apply(ev: WatchEvent): KObject | undefined {
    const m = this.kind(ev.obj.kind);
    const k = `${ev.obj.metadata.namespace ?? ''}/${ev.obj.metadata.name}`;
    const old = m.get(k);
    if (ev.event === 'DELETED') {
      m.delete(k);
    } else {
      // Ignore an event older than what we hold (a duplicated or reordered delivery).
      if (old && Number(old.metadata.resourceVersion) > Number(ev.obj.metadata.resourceVersion)) return old;
      m.set(k, ev.obj);
    }
    return old;
  }

  get<T = KObject>(kind: string, namespace: string | undefined, name: string): T | undefined {
    return this.byKind.get(kind)?.get(`${namespace ?? ''}/${name}`) as T | undefined;
  }

  /** Objects of a kind, sorted by (namespace, name): never in arrival order. */
  list<T = KObject>(kind: string, namespace?: string): T[] {
    const m = this.byKind.get(kind);
    if (!m) return [];
    const out: KObject[] = [];
    for (const o of m.values()) if (namespace === undefined || o.metadata.namespace === namespace) out.push(o);
    out.sort(byNamespaceName);
    return out as T[];
  }

  size(kind: string): number {
    return this.byKind.get(kind)?.size ?? 0;
  }

  private kind(kind: string): Map<string, KObject> {
    let m = this.byKind.get(kind);
    if (!m) this.byKind.set(kind, (m = new Map()));
    return m;
  }
}
