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
 */
import type { Component, Port } from '../../src/component.ts';
import type { KObject, Msg } from '../../src/protocol.ts';
import { ApiClient } from '../../src/api-client.ts';
import { Cache } from '../../src/informer.ts';
import { isNamespaced } from '../../src/model/objects.ts';

const KINDS = ['StatefulSet', 'Service', 'Pod', 'PersistentVolumeClaim', 'EndpointSlice'];

export function garbageCollector(port: Port): Component {
  const api = new ApiClient(port);
  const cache = new Cache();
  const uids = new Set<string>();
  const inFlight = new Set<string>();

  function ownersGone(obj: KObject): boolean {
    const refs = obj.metadata.ownerReferences ?? [];
    return refs.length > 0 && refs.every((r) => !uids.has(r.uid));
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
      cache.apply(msg);
      if (msg.event === 'DELETED') {
        uids.delete(obj.metadata.uid!);
        port.setTimer('scan', 0);
        return;
      }
      uids.add(obj.metadata.uid!);
      if (ownersGone(obj)) port.setTimer('scan', 0);
    },
    timer(): void {
      for (const kind of KINDS) for (const obj of cache.list(kind)) if (!obj.metadata.deletionTimestamp && ownersGone(obj)) attemptToDelete(obj);
    },
  };
}
