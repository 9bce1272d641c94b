/**
 * The garbage collector (pkg/controller/garbagecollector, kube-controller-manager's
 * garbage-collector-controller), background propagation only: an object whose every
 * ownerReference points at an owner that no longer exists is deleted.
 *
 * Receives: its informers' lists and watch events for owners and dependents (StatefulSet,
 *           Service, Pod, PersistentVolumeClaim, EndpointSlice); api.response.
 * Sends:    delete requests with a uid precondition. Before deleting it confirms the owner is
 *           really gone with a live GET, as attemptToDeleteItem does, so a stale cache never
 *           deletes a dependent of a living owner.
 *
 * Like the graph builder, it keeps each owner's dependents (by owner uid): a deletion looks at
 * the dependents of what went, not at every object it watches. The attemptToDelete work queue
 * has 20 workers (--concurrent-gc-syncs default) and retries failures with the default rate
 * limiter.
 */
import type { Component, Port } from '../../src/component.ts';
import type { KObject, Msg } from '../../src/protocol.ts';
import { ApiClient } from '../../src/api-client.ts';
import { Informers, type ChangeType } from '../../src/informer.ts';
import { WorkQueue } from '../../src/workqueue.ts';
import { isNamespaced } from '../../src/model/objects.ts';

const KINDS = ['StatefulSet', 'Service', 'Pod', 'PersistentVolumeClaim', 'EndpointSlice'];

/** kube-controller-manager's name for it (cmd/kube-controller-manager/names, v1.30). */
export const GARBAGE_COLLECTOR = 'garbage-collector-controller';
/** --concurrent-gc-syncs default (kube-controller-manager). */
const GC_WORKERS = 20;

export function garbageCollector(port: Port): Component {
  const api = new ApiClient(port);
  const informers = new Informers(port, api, { kinds: KINDS, onChange, onSynced: () => queue.run() });
  const cache = informers.cache;
  const queue = new WorkQueue(port, { name: 'attempt-to-delete', workers: GC_WORKERS, process: attemptToDelete, paused: true });
  const uids = new Set<string>();
  /** Owner uid -> the keys (`kind/namespace/name`) of its dependents (uidToNode's dependents). */
  const dependents = new Map<string, Set<string>>();

  function ownersGone(obj: KObject): boolean {
    const refs = obj.metadata.ownerReferences ?? [];
    return refs.length > 0 && refs.every((r) => !uids.has(r.uid));
  }

  const keyOf = (obj: KObject): string => `${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;

  function index(obj: KObject | undefined, add: boolean): void {
    if (!obj?.metadata.ownerReferences?.length) return;
    const key = keyOf(obj);
    for (const r of obj.metadata.ownerReferences) {
      let deps = dependents.get(r.uid);
      if (add) {
        if (!deps) dependents.set(r.uid, (deps = new Set()));
        deps.add(key);
      } else if (deps) {
        deps.delete(key);
        if (deps.size === 0) dependents.delete(r.uid);
      }
    }
  }

  /** attemptToDeleteItem: confirm with the API server that every owner is gone, then delete. */
  function attemptToDelete(key: string, done: (err?: string) => void): void {
    const [kind, ns, name] = key.split('/') as [string, string, string];
    const obj = cache.get(kind, ns || undefined, name);
    if (!obj || obj.metadata.deletionTimestamp || !ownersGone(obj)) return done();
    const uid = obj.metadata.uid!;
    const refs = obj.metadata.ownerReferences ?? [];
    let pending = refs.length;
    let alive = false;
    let failed: string | undefined;
    for (const r of refs) {
      const rns = isNamespaced(r.kind) ? obj.metadata.namespace : undefined;
      api.request({ verb: 'get', kind: r.kind, ...(rns ? { namespace: rns } : {}), name: r.name }, (res) => {
        if (res.ok && res.obj?.metadata.uid === r.uid) alive = true;
        else if (!res.ok && res.status?.code !== 404) failed = res.status?.message ?? 'get failed';
        if (--pending > 0) return;
        if (alive) return done();
        if (failed !== undefined) return done(failed);
        api.request({ verb: 'delete', kind: obj.kind, ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}), name: obj.metadata.name!, uid }, (del) =>
          done(del.ok || del.status?.code === 404 || del.status?.code === 409 ? undefined : (del.status?.message ?? 'delete failed')),
        );
      });
    }
  }

  function onChange(type: ChangeType, obj: KObject, old: KObject | undefined): void {
    if (type === 'DELETED') {
      index(old ?? obj, false);
      uids.delete(obj.metadata.uid!);
      // The owner went: its dependents may now have no owner left.
      const deps = dependents.get(obj.metadata.uid!);
      if (deps) for (const key of deps) queue.add(key);
      return;
    }
    if (old !== obj) {
      index(old, false);
      index(obj, true);
    }
    if (old && old.metadata.uid !== obj.metadata.uid) uids.delete(old.metadata.uid!);
    uids.add(obj.metadata.uid!);
    if (ownersGone(obj)) queue.add(keyOf(obj));
  }

  return {
    start(): void {
      informers.start();
    },
    receive(msg: Msg): void {
      if (!api.handle(msg)) informers.handle(msg);
    },
    timer(key: string): void {
      if (!api.timer(key) && !informers.timer(key)) queue.timer(key);
    },
  };
}
