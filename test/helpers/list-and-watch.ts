/**
 * Plays the API server's side of a component's informers starting up, for unit tests on a
 * FakePort: answers each list with `objects` of the kind (the kubelet's node field selector
 * honoured), then collects the watch each informer opens. Returns the watch id of each kind, for
 * feeding watch events afterwards (`{type: 'watch', watchId, event, obj}`).
 */
import type { Component } from '../../src/component.ts';
import type { KObject, WatchEvent } from '../../src/protocol.ts';
import type { FakePort } from './fake-port.ts';

export function listAndWatch(c: Component, port: FakePort, objects: readonly KObject[] = [], resourceVersion = '1'): Map<string, string> {
  for (const { msg } of port.take()) {
    if (msg.type !== 'api.request' || msg.verb !== 'list') continue;
    const items = objects.filter((o) => o.kind === msg.kind && (msg.fieldNodeName === undefined || o.spec?.nodeName === msg.fieldNodeName));
    c.receive({ type: 'api.response', reqId: msg.reqId, ok: true, items: structuredClone(items), resourceVersion }, 'apiserver');
  }
  const watches = new Map<string, string>();
  for (const { msg } of port.take()) if (msg.type === 'api.watch') watches.set(msg.kind, msg.watchId);
  return watches;
}

/** A watch event on the component's watch of the object's kind. */
export function watchEvent(watches: ReadonlyMap<string, string>, event: WatchEvent['event'], obj: KObject): WatchEvent {
  const watchId = watches.get(obj.kind);
  if (watchId === undefined) throw new Error(`no watch of ${obj.kind}`);
  return { type: 'watch', watchId, event, obj };
}
