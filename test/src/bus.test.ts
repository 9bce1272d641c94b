import { expect } from 'chai';
import { SimClock } from '../../src/clock.ts';
import { Rng } from '../../src/rng.ts';
import { Bus } from '../../src/bus.ts';
import { Trace } from '../../src/trace.ts';
import { sha256Hasher } from '../../src/node-hash.ts';
import type { Msg } from '../../src/protocol.ts';
import { Ids } from '../../src/ids.ts';
import { spawnComponent } from '../../src/component.ts';

function world(lo: number, hi: number) {
  const clock = new SimClock();
  const trace = new Trace(sha256Hasher);
  const bus = new Bus(clock, Rng.root(1).fork('network'), trace, { latencyMsMin: lo, latencyMsMax: hi });
  const got: { at: number; id: string }[] = [];
  bus.register('b', (env) => got.push({ at: clock.nowMs, id: (env.msg as { reqId: string }).reqId }));
  bus.register('c', (env) => got.push({ at: clock.nowMs, id: (env.msg as { reqId: string }).reqId }));
  const q = (id: string): Msg => ({ type: 'dns.query', reqId: id, name: 'x', qtype: 'A', search: [] });
  return { clock, bus, got, q, trace };
}

describe('bus', () => {
  it('messages on one link arrive in the order sent, whatever their drawn latency', () => {
    const { clock, bus, got, q } = world(1, 50);
    for (let i = 0; i < 100; i++) bus.send('a', 'b', q(String(i)));
    clock.runUntil(1000);
    expect(got.map((g) => g.id)).to.deep.equal([...Array(100).keys()].map(String));
  });

  it('latency is drawn per message within the network model', () => {
    const { clock, bus, got, q } = world(5, 9);
    bus.send('a', 'b', q('1'));
    bus.send('x', 'c', q('2'));
    clock.runUntil(100);
    for (const g of got) expect(g.at).to.be.within(5, 9);
  });

  it('a dropped message is never delivered and is traced', () => {
    const { clock, bus, got, q, trace } = world(1, 1);
    bus.faults = { route: () => ({ delaysMs: [] }) };
    bus.send('a', 'b', q('1'));
    clock.runUntil(100);
    expect(got).to.deep.equal([]);
    expect(trace.lastLines().some((l) => l.includes(' X a>b '))).to.equal(true);
  });

  it('a duplicated message arrives twice', () => {
    const { clock, bus, got, q } = world(1, 1);
    bus.faults = { route: () => ({ delaysMs: [0, 30] }) };
    bus.send('a', 'b', q('1'));
    clock.runUntil(100);
    expect(got.map((g) => g.at)).to.deep.equal([1, 31]);
  });

  it('reordering lets a later message overtake an earlier one on the same link', () => {
    const { clock, bus, got, q } = world(1, 1);
    let n = 0;
    bus.faults = { route: () => (n++ === 0 ? { delaysMs: [50], reorder: true } : undefined) };
    bus.send('a', 'b', q('first'));
    bus.send('a', 'b', q('second'));
    clock.runUntil(100);
    expect(got.map((g) => g.id)).to.deep.equal(['second', 'first']);
  });
});

describe('bus partitions', () => {
  /** A bus with `addresses` registered, each recording `from>to` of what reaches it. */
  function network(addresses: string[]) {
    const clock = new SimClock();
    const bus = new Bus(clock, Rng.root(1), new Trace(sha256Hasher), { latencyMsMin: 1, latencyMsMax: 1 });
    const got: string[] = [];
    for (const a of addresses) bus.register(a, (env) => got.push(`${env.from}>${env.to}`));
    const q: Msg = { type: 'dns.query', reqId: 'x', name: 'x', qtype: 'A', search: [] };
    return { clock, bus, got, send: (from: string, to: string) => bus.send(from, to, q) };
  }

  it('hosts in different partition groups cannot reach each other, both ways; others are unaffected', () => {
    const { clock, bus, got, send } = network(['apiserver', 'kubelet/node-1', 'kubelet/node-2']);
    bus.partition([['node/node-1'], ['apiserver']]);
    send('kubelet/node-1', 'apiserver');
    send('apiserver', 'kubelet/node-1');
    send('kubelet/node-2', 'apiserver');
    clock.runUntil(10);
    expect(got).to.deep.equal(['kubelet/node-2>apiserver']);
    bus.partition(undefined);
    send('kubelet/node-1', 'apiserver');
    clock.runUntil(20);
    expect(got).to.deep.equal(['kubelet/node-2>apiserver', 'kubelet/node-1>apiserver']);
  });

  it('an address placed on a host is cut off with it: a partition of kube-controller-manager isolates its controllers', () => {
    const { clock, bus, got, send } = network(['apiserver', 'statefulset-controller', 'kube-scheduler']);
    bus.place('statefulset-controller', 'kube-controller-manager');
    bus.partition([['kube-controller-manager'], ['apiserver']]);
    send('statefulset-controller', 'apiserver');
    send('apiserver', 'statefulset-controller');
    send('kube-scheduler', 'apiserver');
    clock.runUntil(10);
    expect(got).to.deep.equal(['kube-scheduler>apiserver']);
  });

  it('partitions compose: each heal lifts only its own cut', () => {
    const { clock, bus, got, send } = network(['apiserver', 'kubelet/node-1', 'kubelet/node-2']);
    bus.cut('a', [['node/node-1'], ['apiserver']]);
    bus.cut('b', [['node/node-1', 'node/node-2'], ['apiserver']]);
    bus.heal('b');
    send('kubelet/node-1', 'apiserver');
    send('kubelet/node-2', 'apiserver');
    clock.runUntil(10);
    expect(got).to.deep.equal(['kubelet/node-2>apiserver']);
    bus.heal('a');
    send('kubelet/node-1', 'apiserver');
    clock.runUntil(20);
    expect(got).to.deep.equal(['kubelet/node-2>apiserver', 'kubelet/node-1>apiserver']);
  });

  it('a one-way partition drops only what the first group sends', () => {
    const { clock, bus, got, send } = network(['apiserver', 'kubelet/node-1']);
    bus.cut('a', [['node/node-1'], ['apiserver']], true);
    send('kubelet/node-1', 'apiserver');
    send('apiserver', 'kubelet/node-1');
    clock.runUntil(10);
    expect(got).to.deep.equal(['apiserver>kubelet/node-1']);
  });

  it('a host that is down receives nothing until it is up again', () => {
    const { clock, bus, got, send } = network(['apiserver', 'kubelet/node-1']);
    bus.hostDown('node/node-1');
    send('apiserver', 'kubelet/node-1');
    clock.runUntil(10);
    expect(got).to.deep.equal([]);
    bus.hostUp('node/node-1');
    send('apiserver', 'kubelet/node-1');
    clock.runUntil(20);
    expect(got).to.deep.equal(['apiserver>kubelet/node-1']);
  });

  it('a lost message of a watch breaks that watch: both ends are told, once', () => {
    const { clock, bus, got } = network(['apiserver', 'ctrl']);
    const seen: string[] = [];
    bus.register('ctrl2', () => {});
    bus.send('ctrl', 'apiserver', { type: 'api.watch', watchId: 'w1', kind: 'Pod', resourceVersion: '1' });
    clock.runUntil(5);
    bus.cut('a', [['ctrl'], ['apiserver']]);
    const ev = { type: 'watch' as const, watchId: 'w1', event: 'ADDED' as const, obj: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', resourceVersion: '2' } } };
    bus.send('apiserver', 'ctrl', ev);
    bus.send('apiserver', 'ctrl', ev);
    clock.runUntil(20);
    for (const g of got) seen.push(g);
    // The watch request arrived; then each end got one watch.broken (delivered by the network).
    expect(seen).to.deep.equal(['ctrl>apiserver', 'apiserver>ctrl', 'ctrl>apiserver']);
  });
});

describe('bus: messages that follow one another to one actor (chainNext)', () => {
  /**
   * Two component actors: `b` answers each query to `c` with a zero-latency reply and arms a 0 ms
   * timer, so that what a handler schedules lands at the same instant as the messages still due.
   */
  function cluster(chaining: boolean) {
    const clock = new SimClock();
    const trace = new Trace(sha256Hasher);
    const bus = new Bus(clock, Rng.root(1).fork('network'), trace, { latencyMsMin: 0, latencyMsMax: 0 });
    const handled: string[] = [];
    const dispatches: Record<string, number> = { b: 0, c: 0 };
    const rng = Rng.root(2);
    for (const address of ['b', 'c']) {
      const actor = spawnComponent({
        address,
        clock,
        startMs: 0,
        rng: rng.fork(address),
        ids: new Ids(rng.fork(`ids/${address}`)),
        send: (from, to, msg) => bus.send(from, to, msg),
        trace: (at, kind, actor, detail) => trace.record(at, kind, actor, detail),
        onError: (_a, err) => {
          throw err;
        },
        make: (port) => ({
          receive(msg) {
            const id = (msg as { reqId: string }).reqId;
            handled.push(`${address}:${id}@${clock.nowMs}`);
            if (address === 'b') {
              port.send('c', { type: 'dns.query', reqId: `re-${id}`, name: 'x', qtype: 'A', search: [] });
              port.setTimer(`t-${id}`, 0);
            }
          },
          timer(key) {
            handled.push(`${address}:${key}@${clock.nowMs}`);
          },
        }),
      });
      const more = () => bus.chainNext(address);
      bus.register(address, (env) => {
        dispatches[address]!++;
        actor.send({ type: 'deliver', msg: env.msg, from: env.from, more });
      });
    }
    const seen: number[] = [];
    bus.delivered$.subscribe((env) => seen.push(env.seq));
    for (let i = 0; i < 4; i++) bus.send('a', 'b', { type: 'dns.query', reqId: String(i), name: 'x', qtype: 'A', search: [] });
    clock.chaining = chaining;
    clock.runUntil(10);
    return { handled, dispatches, seen, hash: trace.digest(), steps: clock.steps };
  }

  it('handles them in one dispatch with the same trace, steps, handling order and deliveries as one per step', () => {
    const one = cluster(false);
    const chained = cluster(true);
    expect(chained.hash).to.equal(one.hash);
    expect(chained.steps).to.equal(one.steps);
    expect(chained.handled).to.deep.equal(one.handled);
    expect(chained.seen).to.deep.equal(one.seen);
    // b's four queries came in one dispatch instead of four; c's replies did not, because each
    // is followed by one of b's timers at the same instant: nothing is taken past another step.
    expect([one.dispatches['b'], chained.dispatches['b']]).to.deep.equal([4, 1]);
    expect([one.dispatches['c'], chained.dispatches['c']]).to.deep.equal([4, 4]);
  });
});
