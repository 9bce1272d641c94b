/**
 * The client-go machinery of src/informer.ts against the real API server on the bus: list then
 * watch, a broken watch resumed from the last resourceVersion without a gap or a duplicate,
 * 410 Gone answered by a fresh list, the reflector's backoff, resync, a restarted component
 * rebuilding its cache, and the indexer.
 */
import { expect } from 'chai';
import { ApiClient } from '../../src/api-client.ts';
import { BackoffManager, Cache, Informers, LABEL_INDEX, labelIndex, POD_NODE_INDEX, podNodeIndex, SERVICE_SELECTOR_INDEX, serviceSelectorIndex } from '../../src/informer.ts';
import type { Component, Port } from '../../src/component.ts';
import type { KObject, Msg } from '../../src/protocol.ts';
import { Rng } from '../../src/rng.ts';
import { MiniCluster } from '../helpers/mini-cluster.ts';

/** What the watcher's handler saw: `ADDED p1 v=a`, with the object's `v` label. */
type Log = string[];

function watcher(log: Log, opts: { resyncMs?: number; noRelist?: boolean; cacheOut?: { cache?: Cache } } = {}) {
  return (port: Port): Component => {
    const api = new ApiClient(port);
    const informers = new Informers(port, api, {
      kinds: ['Pod'],
      onChange: (type, obj, old) => log.push(`${type === 'MODIFIED' && old === obj ? 'RESYNC' : type} ${obj.metadata.name} v=${obj.metadata.labels?.['v'] ?? ''}`),
      ...(opts.resyncMs ? { resyncMs: { Pod: opts.resyncMs } } : {}),
      ...(opts.noRelist ? { noRelist: true } : {}),
    });
    if (opts.cacheOut) opts.cacheOut.cache = informers.cache;
    return {
      start: () => informers.start(),
      receive: (msg: Msg) => {
        if (!api.handle(msg)) informers.handle(msg);
      },
      timer: (key: string) => {
        if (!api.timer(key)) informers.timer(key);
      },
    };
  };
}

/** The watcher's requests to the API server, as `list Pod` / `watch Pod from N`, sent (`X` when lost) or delivered. */
function requests(c: MiniCluster, lost = false): string[] {
  const out: string[] = [];
  c.trace.listeners.push((_at, kind, actor, detail) => {
    if ((kind !== 'D' && !(lost && kind === 'X')) || !actor.startsWith('w>')) return;
    const p = detail.split(' ');
    if (p[0] === 'api.request' && p[2] === 'list') out.push(`list ${p[3]!.split('/')[0]}`);
    if (p[0] === 'api.watch') out.push(`watch ${p[2]} from ${p[3]!.slice(3)}`);
  });
  return out;
}

describe('informers (client-go reflector, informer, indexer)', () => {
  it('lists, then watches from the list resourceVersion: every change once, in order', () => {
    const c = new MiniCluster();
    c.put('p1', { v: 'a' });
    const log: Log = [];
    c.spawn('w', watcher(log));
    c.run(100);
    c.put('p2', { v: 'a' });
    c.put('p1', { v: 'b' });
    c.remove('p2');
    c.run(100);
    expect(log).to.deep.equal(['ADDED p1 v=a', 'ADDED p2 v=a', 'MODIFIED p1 v=b', 'DELETED p2 v=a']);
  });

  it('a watch broken mid-stream by a lost message resumes from the last resourceVersion: no gap, no duplicate', () => {
    const c = new MiniCluster();
    const log: Log = [];
    const asked = requests(c);
    c.spawn('w', watcher(log));
    c.run(100);
    c.put('p1', { v: 'a' });
    c.run(100);
    // The next watch event to the watcher is lost on the wire: the stream breaks.
    let lost = 0;
    c.bus.faults = { route: (env) => (env.to === 'w' && env.msg.type === 'watch' && lost++ === 0 ? { delaysMs: [] } : undefined) };
    c.put('p1', { v: 'b' });
    c.put('p2', { v: 'a' });
    c.run(5_000);
    expect(log).to.deep.equal(['ADDED p1 v=a', 'MODIFIED p1 v=b', 'ADDED p2 v=a']);
    const rv = (name: string) => c.store.get('Pod', 'default', name)!.metadata.resourceVersion;
    // Listed once; the second watch starts after p1 v=a, the last change the watcher had seen.
    expect(asked).to.deep.equal(['list Pod', 'watch Pod from ' + String(Number(rv('p1')) - 2), `watch Pod from ${Number(rv('p1')) - 1}`]);
  });

  it('410 Gone (a resourceVersion older than the watch cache) leads to a fresh list that reports what changed', () => {
    const c = new MiniCluster();
    const log: Log = [];
    const asked = requests(c);
    c.put('old', { v: 'a' });
    c.spawn('w', watcher(log));
    c.run(100);
    // Cut the watcher off while 200 changes happen over 2 minutes: the watch cache (100 events,
    // growing only for events younger than 75 s) no longer holds the watcher's resourceVersion.
    c.bus.cut('cut', [['w'], ['apiserver']]);
    c.remove('old');
    for (let i = 0; i < 200; i++) {
      c.put('hot', { v: String(i) });
      c.run(600);
    }
    c.bus.heal('cut');
    c.run(120_000);
    expect(asked.filter((a) => a === 'list Pod').length, asked.join('\n')).to.be.greaterThanOrEqual(2);
    // The relist reports the deleted object and the current version, not every intermediate one.
    expect(log).to.deep.equal(['ADDED old v=a', 'ADDED hot v=199', 'DELETED old v=a']);
  });

  it('a broken watch that cannot be re-established backs off: 0.8 s doubling to 30 s (jittered up to twice), reset after 2 minutes', () => {
    const b = new BackoffManager(Rng.root(7));
    const first = [0, 1, 2, 3, 4, 5, 6].map((i) => b.next(i * 1000));
    const base = [800, 1600, 3200, 6400, 12800, 25600, 30000];
    first.forEach((d, i) => expect(d, `step ${i}`).to.be.within(base[i]!, 2 * base[i]!));
    // Two quiet minutes later it starts over.
    expect(b.next(6_000 + 121_000)).to.be.within(800, 1600);
  });

  it('while cut off from the API server it lists again and again with backoff, and catches up after the heal', () => {
    const c = new MiniCluster();
    const log: Log = [];
    const asked = requests(c, true);
    c.spawn('w', watcher(log));
    c.run(100);
    c.bus.cut('cut', [['w'], ['apiserver']]);
    c.put('p1', { v: 'a' }); // the watch event is lost: the stream breaks
    c.run(5 * 60_000);
    const during = asked.length - 2;
    c.bus.heal('cut');
    c.run(3 * 60_000);
    expect(log).to.deep.equal(['ADDED p1 v=a']);
    // About one list a minute (each waits for its 60 s request timeout, then the backoff), not a storm.
    expect(during).to.be.within(4, 6);
  });

  it('with informer-no-relist a broken watch is never re-established', () => {
    const c = new MiniCluster();
    const log: Log = [];
    c.spawn('w', watcher(log, { noRelist: true }));
    c.run(100);
    c.bus.cut('cut', [['w'], ['apiserver']]);
    c.put('p1', { v: 'a' });
    c.run(1_000);
    c.bus.heal('cut');
    c.put('p2', { v: 'a' });
    c.run(5 * 60_000);
    expect(log).to.deep.equal([]);
  });

  it('resync replays the cache to the handler and repairs nothing: a missed change stays missed until a watch brings it', () => {
    const c = new MiniCluster();
    const log: Log = [];
    c.put('p1', { v: 'a' });
    c.spawn('w', watcher(log, { resyncMs: 30_000 }));
    c.run(65_000);
    expect(log).to.deep.equal(['ADDED p1 v=a', 'RESYNC p1 v=a', 'RESYNC p1 v=a']);
  });

  it('a restarted component has lost its cache and lists again', () => {
    const c = new MiniCluster();
    const log: Log = [];
    c.put('p1', { v: 'a' });
    c.spawn('w', watcher(log));
    c.run(100);
    c.crash('w');
    c.put('p1', { v: 'b' }); // happens while it is down
    c.put('p2', { v: 'a' });
    c.run(1_000);
    c.restart('w');
    c.run(1_000);
    expect(log).to.deep.equal(['ADDED p1 v=a', 'ADDED p1 v=b', 'ADDED p2 v=a']);
  });

  it('the watch is re-opened every 5-10 minutes (client watch timeout) from the last resourceVersion, with no relist', () => {
    const c = new MiniCluster();
    const log: Log = [];
    const asked = requests(c);
    c.spawn('w', watcher(log));
    c.run(30 * 60_000);
    const watches = asked.filter((a) => a.startsWith('watch'));
    expect(asked.filter((a) => a.startsWith('list'))).to.have.length(1);
    expect(watches.length).to.be.within(4, 7); // 30 min / 5-10 min, plus the first
  });

  it('an index finds pods by node in (namespace, name) order and follows changes', () => {
    const cache = new Cache();
    cache.addIndex('Pod', POD_NODE_INDEX, podNodeIndex);
    const pod = (name: string, node: string | undefined, rv: number): KObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', resourceVersion: String(rv) }, spec: node ? { nodeName: node } : {} });
    cache.put(pod('b', 'node-1', 1));
    cache.put(pod('a', 'node-1', 2));
    cache.put(pod('c', undefined, 3));
    expect(cache.byIndex('Pod', POD_NODE_INDEX, 'node-1').map((p) => p.metadata.name)).to.deep.equal(['a', 'b']);
    cache.put(pod('c', 'node-1', 4));
    cache.put(pod('b', 'node-2', 5));
    cache.delete('Pod', 'default', 'a');
    expect(cache.byIndex('Pod', POD_NODE_INDEX, 'node-1').map((p) => p.metadata.name)).to.deep.equal(['c']);
    expect(cache.byIndex('Pod', POD_NODE_INDEX, 'node-2').map((p) => p.metadata.name)).to.deep.equal(['b']);
    // An older version than the one held (a duplicated delivery) changes nothing.
    cache.put(pod('b', 'node-1', 4));
    expect(cache.byIndex('Pod', POD_NODE_INDEX, 'node-2').map((p) => p.metadata.name)).to.deep.equal(['b']);
  });

  it('pods by label: a map selector finds the pods with every one of its labels, in (namespace, name) order, and follows label changes', () => {
    const cache = new Cache();
    cache.addIndex('Pod', LABEL_INDEX, labelIndex);
    const pod = (name: string, labels: Record<string, string>, rv: number, ns = 'default'): KObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels, resourceVersion: String(rv) } });
    cache.put(pod('web-1', { app: 'web', tier: 'a' }, 1));
    cache.put(pod('web-0', { app: 'web', tier: 'b' }, 2));
    cache.put(pod('db-0', { app: 'db', tier: 'a' }, 3));
    cache.put(pod('web-2', { app: 'web', tier: 'a' }, 4, 'other'));
    const select = (sel: Record<string, string>, ns = 'default') =>
      cache.byIndexAll('Pod', LABEL_INDEX, labelIndex({ kind: 'Service', metadata: { labels: sel } } as KObject), (p) => p.metadata.namespace === ns).map((p) => p.metadata.name);
    expect(select({ app: 'web' })).to.deep.equal(['web-0', 'web-1']);
    expect(select({ app: 'web', tier: 'a' })).to.deep.equal(['web-1']);
    expect(select({ app: 'cache' })).to.deep.equal([]);
    // A status update keeps the labels object: the pod stays filed; a new label moves it.
    const web0 = cache.get('Pod', 'default', 'web-0')!;
    cache.put({ ...web0, metadata: { ...web0.metadata, resourceVersion: '5' }, status: { phase: 'Running' } });
    expect(select({ app: 'web', tier: 'b' })).to.deep.equal(['web-0']);
    cache.put(pod('web-0', { app: 'web', tier: 'a' }, 6));
    expect(select({ app: 'web', tier: 'b' })).to.deep.equal([]);
    expect(select({ app: 'web', tier: 'a' })).to.deep.equal(['web-0', 'web-1']);
  });

  it('Services by selector pair: only Services whose selector has one of a pod\'s labels are candidates; an empty selector is filed nowhere', () => {
    const cache = new Cache();
    cache.addIndex('Service', SERVICE_SELECTOR_INDEX, serviceSelectorIndex);
    const svc = (name: string, selector: Record<string, string> | undefined, rv: number): KObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', resourceVersion: String(rv) }, spec: selector ? { selector } : {} });
    cache.put(svc('web', { app: 'web' }, 1));
    cache.put(svc('all-a', { tier: 'a', app: 'web' }, 2));
    cache.put(svc('external', undefined, 3));
    expect(cache.byIndex('Service', SERVICE_SELECTOR_INDEX, 'app=web').map((s) => s.metadata.name)).to.deep.equal(['all-a', 'web']);
    expect(cache.byIndex('Service', SERVICE_SELECTOR_INDEX, 'tier=a').map((s) => s.metadata.name)).to.deep.equal(['all-a']);
    expect(cache.sizeIn('Service', 'default')).to.equal(3);
    expect(cache.sizeIn('Service', 'kube-system')).to.equal(0);
  });
});
