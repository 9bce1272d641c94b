import { expect } from 'chai';
import { WatchCache, type ChangeType } from '../../src/watch-cache.ts';
import type { KObject } from '../../src/protocol.ts';

let rv = 10;
const pod = (name: string, nodeName?: string): KObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', resourceVersion: String(++rv) }, spec: nodeName ? { nodeName } : {} });

/** A history: pods created, bound to nodes, moved off a node (deleted and made again), deleted. */
function history(cache: WatchCache, n: number): void {
  const held = new Map<string, KObject>();
  const put = (type: ChangeType, obj: KObject, atMs: number) => {
    cache.add(type, obj, held.get(String(obj.metadata.name)), atMs);
    if (type === 'DELETED') held.delete(String(obj.metadata.name));
    else held.set(String(obj.metadata.name), obj);
  };
  for (let i = 0; i < n; i++) {
    const name = `web-${i % 7}`;
    const at = i * 1_000;
    if (!held.has(name)) put('ADDED', pod(name), at);
    else if (!held.get(name)!.spec?.nodeName) put('MODIFIED', pod(name, `node-${i % 3}`), at);
    else put('DELETED', pod(name, held.get(name)!.spec!.nodeName), at);
  }
}

describe('watch cache', () => {
  // A watch with a field selector resumes from an index of its node's (or name's) events: it
  // must get exactly what reading every event of the kind and filtering would give, evicted
  // events included (the ring keeps 100 events at 1 s apart: older ones go).
  const rows: { name: string; events: number; sel: { nodeName?: string; name?: string }; fromBack: number }[] = [
    { name: 'a kubelet resuming its pods watch gets the events of pods that were or are on its node', events: 60, sel: { nodeName: 'node-1' }, fromBack: 40 },
    { name: 'a kubelet resuming after many evictions gets the same events as a full scan', events: 400, sel: { nodeName: 'node-2' }, fromBack: 90 },
    { name: 'a watch of one name gets only that object’s events', events: 400, sel: { name: 'web-3' }, fromBack: 70 },
    { name: 'a node with no events gets none', events: 50, sel: { nodeName: 'node-9' }, fromBack: 30 },
  ];
  for (const r of rows) {
    it(r.name, () => {
      const cache = new WatchCache(10);
      // The index is built at the first field-selector watch, then kept as events arrive.
      history(cache, r.events / 2);
      cache.sinceFor(rv, r.sel);
      history(cache, r.events / 2);
      const fromRv = rv - r.fromBack;
      const all = cache.since(fromRv);
      const some = cache.sinceFor(fromRv, r.sel);
      if ('tooOld' in all) return expect(some).to.deep.equal(all);
      const want = all.events.filter((e) =>
        r.sel.nodeName !== undefined ? e.obj.spec?.nodeName === r.sel.nodeName || e.old?.spec?.nodeName === r.sel.nodeName : e.obj.metadata.name === r.sel.name,
      );
      expect('events' in some && some.events.map((e) => e.rv)).to.deep.equal(want.map((e) => e.rv));
      if (r.sel.nodeName !== 'node-9') expect(want.length).to.be.greaterThan(0);
    });
  }

  it('a field-selector watch from an evicted resourceVersion gets 410 Gone, as any watch does', () => {
    const cache = new WatchCache(10);
    history(cache, 400);
    expect(cache.sinceFor(11, { nodeName: 'node-1' })).to.have.property('tooOld').that.matches(/^too old resource version: 11 \(\d+\)$/);
  });
});
