/**
 * A minimal cluster for kernel tests: the real clock, bus, trace and API server actor, plus any
 * components under test, with the bus's fault hooks and cuts at hand. Objects are written
 * straight into the store (as another client's writes would be committed) and reach watchers
 * through the API server's watch fan-out.
 */
import { SimClock } from '../../src/clock.ts';
import { Rng } from '../../src/rng.ts';
import { Ids } from '../../src/ids.ts';
import { Bus } from '../../src/bus.ts';
import { Trace } from '../../src/trace.ts';
import { ObjectStore } from '../../src/store.ts';
import { spawnComponent, type ComponentActor, type ComponentFactory } from '../../src/component.ts';
import { sha256Hasher } from '../../src/node-hash.ts';
import type { KObject } from '../../src/protocol.ts';
import { apiServer, EventLog } from '../../actors/apiserver.ts';

export class MiniCluster {
  readonly clock = new SimClock();
  readonly trace = new Trace(sha256Hasher);
  readonly rng = Rng.root(1);
  readonly bus: Bus;
  readonly store = new ObjectStore();
  readonly actors = new Map<string, ComponentActor>();
  private uids = 0;

  constructor(latencyMs = 1) {
    this.bus = new Bus(this.clock, this.rng.fork('network'), this.trace, { latencyMsMin: latencyMs, latencyMsMax: latencyMs });
    this.store.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', uid: 'ns-default' } });
    this.spawn('apiserver', (port) => apiServer(port, { store: this.store, events: new EventLog() }));
  }

  spawn(address: string, make: ComponentFactory): ComponentActor {
    const actor = spawnComponent({
      address,
      make,
      clock: this.clock,
      startMs: Date.UTC(2025, 0, 1),
      rng: this.rng.fork(address),
      ids: new Ids(this.rng.fork(`${address}/ids`)),
      send: (from, to, msg) => this.bus.send(from, to, msg),
      trace: (atMs, kind, actor, detail) => this.trace.record(atMs, kind, actor, detail),
      onError: (addr, err) => {
        throw new Error(`${addr} failed: ${String(err)}`);
      },
    });
    this.actors.set(address, actor);
    this.bus.register(address, (env) => actor.send({ type: 'deliver', msg: env.msg, from: env.from }));
    return actor;
  }

  /** Crashes a component's host: memory lost, its watch streams reset; `restart` boots it. */
  crash(address: string): void {
    this.actors.get(address)!.send({ type: 'crash' });
    this.bus.hostDown(address);
  }

  restart(address: string): void {
    this.bus.hostUp(address);
    this.actors.get(address)!.send({ type: 'restart' });
  }

  /** Commits an object as another client's write would (a ConfigMap-like Pod by default). */
  put(name: string, labels: Record<string, string> = {}, kind = 'Pod'): KObject {
    const cur = this.store.get(kind, 'default', name);
    const obj: KObject = cur
      ? { ...cur, metadata: { ...cur.metadata, labels } }
      : { apiVersion: 'v1', kind, metadata: { name, namespace: 'default', uid: `uid-${++this.uids}`, labels }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
    return this.store.put(obj);
  }

  remove(name: string, kind = 'Pod'): void {
    this.store.remove(kind, 'default', name);
  }

  run(ms: number): void {
    this.clock.runUntil(this.clock.nowMs + ms);
  }
}
