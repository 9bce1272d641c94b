/**
 * The garbage collector (pkg/controller/garbagecollector), background propagation only:
 * an object whose every ownerReference points at an owner that no longer exists is deleted.
 * Address `garbage-collector`.
 *
 * Receives: watch events for owners and dependents (StatefulSet, Service, Pod,
 *           PersistentVolumeClaim, EndpointSlice); api.response.
 * Sends:    delete requests with a uid precondition. Before deleting it confirms the owner is
 *           really gone with a live GET, as attemptToDeleteItem does, so a stale cache never
 *           deletes a dependent of a living owner.
 *
 * Like the graph builder, it keeps each owner's dependents (by owner uid): a deletion looks at
 * the dependents of what went, not at every object it watches.
 */
import type { Component, Port } from '../../src/component.ts';
import type { KObject, Msg } from '../../src/protocol.ts';
import { ApiClient } from '../../src/api-client.ts';
import { Cache } from '../../src/informer.ts';
import { isNamespaced } from '../../src/model/objects.ts';

const KINDS = ['StatefulSet', 'Service', 'Pod', 'PersistentVolumeClaim', 'EndpointSlice'];

interface Candidate {
  kind: number;
  namespace: string;
  name: string;
}

/** Candidates in the order a scan of KINDS, each by (namespace, name), would meet them. */
function byKindNamespaceName(a: Candidate, b: Candidate): number {
  if (a.kind !== b.kind) return a.kind - b.kind;
  if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export function garbageCollector(port: Port): Component {
  const api = new ApiClient(port);
  const cache = new Cache();
  const uids = new Set<string>();
  const inFlight = new Set<string>();
  /** Owner uid -> its dependents, keyed `kind/namespace/name` (uidToNode's dependents). */
  const dependents = new Map<string, Map<string, Candidate>>();
  /** Objects to look at when the scan timer fires (attemptToDelete's queue). */
  const candidates = new Map<string, Candidate>();

  function ownersGone(obj: KObject): boolean {
    const refs = obj.metadata.ownerReferences ?? [];
    return refs.length > 0 && refs.every((r) => !uids.has(r.uid));
  }

  function refOf(obj: KObject): [string, Candidate] {
    const namespace = obj.metadata.namespace ?? '';
    const name = obj.metadata.name ?? '';
    return [`${obj.kind}/${namespace}/${name}`, { kind: KINDS.indexOf(obj.kind), namespace, name }];
  }

  function index(obj: KObject | undefined, add: boolean): void {
    if (!obj?.metadata.ownerReferences?.length) return;
    const [key, c] = refOf(obj);
    for (const r of obj.metadata.ownerReferences) {
      let deps = dependents.get(r.uid);
      if (add) {
        if (!deps) dependents.set(r.uid, (deps = new Map()));
        deps.set(key, c);
      } else if (deps) {
        deps.delete(key);
        if (deps.size === 0) dependents.delete(r.uid);
      }
    }
  }

  function consider(key: string, c: Candidate): void {
    candidates.set(key, c);
    port.setTimer('scan', 0);
  }

  function attemptToDelete(obj: KObject): void {
    const uid = obj.metadata.uid!;
    if (inFlight.has(uid)) return;
    inFlight.add(uid);
    const refs = obj.metadata.ownerReferences ?? [];
    let pending = refs.length;
    let alive = false;
    for (const r of refs) {
      const ns = isNamespaced(r.kind) ? obj.metadata.namespace : undefined;
      api.request({ verb: 'get', kind: r.kind, ...(ns ? { namespace: ns } : {}), name: r.name }, (res) => {
        if (res.ok && res.obj?.metadata.uid === r.uid) alive = true;
        if (--pending > 0) return;
        if (alive) {
          inFlight.delete(uid);
          return;
        }
        api.request({ verb: 'delete', kind: obj.kind, ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}), name: obj.metadata.name!, uid }, () => inFlight.delete(uid));
      });
    }
  }

  return {
    start(): void {
      api.watch(KINDS);
    },
    receive(msg: Msg): void {
      if (api.handle(msg)) return;
      if (msg.type !== 'watch') return;
      const obj = msg.obj;
      const before = cache.get(obj.kind, obj.metadata.namespace, obj.metadata.name ?? '');
      cache.apply(msg);
      const after = cache.get(obj.kind, obj.metadata.namespace, obj.metadata.name ?? '');
      if (after !== before) {
        index(before, false);
        index(after, true);
      }
      if (msg.event === 'DELETED') {
        uids.delete(obj.metadata.uid!);
        // The owner went: its dependents may now have no owner left.
        const deps = dependents.get(obj.metadata.uid!);
        if (deps) for (const [key, c] of deps) consider(key, c);
        return;
      }
      uids.add(obj.metadata.uid!);
      if (ownersGone(obj)) consider(...refOf(obj));
    },
    timer(): void {
      const due = [...candidates.values()].sort(byKindNamespaceName);
      candidates.clear();
      for (const c of due) {
        const obj = cache.get(KINDS[c.kind]!, c.namespace || undefined, c.name);
        if (obj && !obj.metadata.deletionTimestamp && ownersGone(obj)) attemptToDelete(obj);
      }
    },
  };
}
