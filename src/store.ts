/**
 * The object store behind the API server (etcd's role): a synchronous ordered map with one
 * global resourceVersion counter. Pure data, no messages: the apiserver actor wraps it and turns
 * each commit into watch events; observers (invariants, the report) read snapshots of it.
 */
import type { KObject } from './protocol.ts';
import { byNamespaceName } from './model/objects.ts';
import { FNV1A_INIT, fnv1aHex, fnv1aUpdate } from './trace.ts';

export type CommitKind = 'ADDED' | 'MODIFIED' | 'DELETED';
export type CommitListener = (kind: CommitKind, obj: KObject, old: KObject | undefined) => void;

export class ObjectStore {
  private rv = 0;
  /** kind -> namespace ('' for cluster-scoped) -> name -> object: no key strings built per lookup. */
  private readonly kinds = new Map<string, Map<string, Map<string, KObject>>>();
  private readonly listeners: CommitListener[] = [];
  /** Optional trace hook: receives `verb kind/ns/name rv=N` per commit. */
  traceCommit: ((line: string) => void) | undefined;

  /** Calls `l` after every commit; returns the function that stops it. */
  onCommit(l: CommitListener): () => void {
    this.listeners.push(l);
    return () => {
      const i = this.listeners.indexOf(l);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  get(kind: string, namespace: string | undefined, name: string): KObject | undefined {
    return this.kinds.get(kind)?.get(namespace ?? '')?.get(name);
  }

  /** Objects of a kind sorted by (namespace, name). */
  list(kind: string, namespace?: string): KObject[] {
    const m = this.kinds.get(kind);
    if (!m) return [];
    const out: KObject[] = [];
    if (namespace !== undefined) {
      // Cluster-scoped objects are kept under '' but have no namespace: they match none.
      const ns = namespace === '' ? undefined : m.get(namespace);
      if (ns) for (const o of ns.values()) out.push(o);
    } else for (const ns of m.values()) for (const o of ns.values()) out.push(o);
    return out.sort(byNamespaceName);
  }

  kindNames(): string[] {
    return [...this.kinds.keys()].sort();
  }

  get resourceVersion(): number {
    return this.rv;
  }

  /**
   * A fingerprint of every stored object's content (FNV-1a of the canonical JSON, kinds and
   * objects in sorted order): the trace records it at the end of a run, so content that differs
   * between two runs changes the trace hash even when no message differs.
   */
  fingerprint(): string {
    // Object by object: the same hash as of their concatenated text, without building it.
    let h = FNV1A_INIT;
    for (const kind of this.kindNames()) for (const o of this.list(kind)) h = fnv1aUpdate(h, JSON.stringify(o));
    return fnv1aHex(h);
  }

  /** Stores `obj` (already validated and complete) with the next resourceVersion. */
  put(obj: KObject): KObject {
    const m = this.namespace(obj.kind, obj.metadata.namespace ?? '');
    const name = obj.metadata.name!;
    const old = m.get(name);
    obj.metadata.resourceVersion = String(++this.rv);
    m.set(name, obj);
    this.emit(old ? 'MODIFIED' : 'ADDED', obj, old);
    return obj;
  }

  remove(kind: string, namespace: string | undefined, name: string): KObject | undefined {
    const m = this.kinds.get(kind)?.get(namespace ?? '');
    const old = m?.get(name);
    if (!m || !old) return undefined;
    m.delete(name);
    // A deletion is itself a revision in etcd; watchers see the last state with that revision.
    const gone: KObject = { ...old, metadata: { ...old.metadata, resourceVersion: String(++this.rv) } };
    this.emit('DELETED', gone, old);
    return gone;
  }

  private emit(kind: CommitKind, obj: KObject, old: KObject | undefined): void {
    if (this.traceCommit) this.traceCommit(`${kind} ${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name} rv=${obj.metadata.resourceVersion}`);
    for (const l of this.listeners) l(kind, obj, old);
  }

  private namespace(kind: string, namespace: string): Map<string, KObject> {
    let byNs = this.kinds.get(kind);
    if (!byNs) this.kinds.set(kind, (byNs = new Map()));
    let m = byNs.get(namespace);
    if (!m) byNs.set(namespace, (m = new Map()));
    return m;
  }
}
