import { expect } from 'chai';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { Endpoint } from 'kubernetes-types/discovery/v1.js';
import { clusterDns } from '../../../actors/cluster-dns.ts';
import fc from 'fast-check';
import { endpointSliceController } from '../../../actors/controllers/endpointslice-controller.ts';
import { desiredSlice, endpointIndex, podToEndpoint, ServicePods, type SliceObj } from '../../../actors/controllers/endpointslice-utils.ts';
import { Cache, LABEL_INDEX, labelIndex, serviceSelectorIndex } from '../../../src/informer.ts';
import { matchesMapSelector } from '../../../src/model/selectors.ts';
import type { Component } from '../../../src/component.ts';
import type { ApiRequest, ApiResponse, KObject, WatchEvent } from '../../../src/protocol.ts';
import { FakePort } from '../../helpers/fake-port.ts';
import { listAndWatch } from '../../helpers/list-and-watch.ts';

interface PodOpts {
  ip?: string;
  ready?: boolean;
  hostname?: string;
  subdomain?: string;
  node?: string;
  deleting?: boolean;
  phase?: string;
  labels?: Record<string, string>;
}

function pod(name: string, o: PodOpts = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      labels: o.labels ?? { app: 'nginx' },
      ...(o.deleting ? { deletionTimestamp: '2025-01-01T00:01:00Z' } : {}),
    },
    spec: {
      nodeName: o.node ?? 'node-1',
      containers: [{ name: 'nginx', image: 'nginx', ports: [{ name: 'web', containerPort: 8080, protocol: 'TCP' }] }],
      ...(o.hostname ? { hostname: o.hostname } : {}),
      ...(o.subdomain ? { subdomain: o.subdomain } : {}),
    },
    status: {
      phase: o.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
      ...(o.ip ? { podIP: o.ip, podIPs: [{ ip: o.ip }] } : {}),
    },
  };
}

/** A StatefulSet pod `web-N` of the tutorial: hostname web-N, subdomain nginx. */
function stsPod(i: number, o: PodOpts = {}): KObject {
  return pod(`web-${i}`, { hostname: `web-${i}`, subdomain: 'nginx', ip: `10.244.1.${10 + i}`, ...o });
}

function service(name: string, o: { clusterIP?: string; publishNotReadyAddresses?: boolean; selector?: Record<string, string> | null; labels?: Record<string, string> } = {}): KObject {
  const spec: Record<string, unknown> = {
    clusterIP: o.clusterIP ?? 'None',
    ports: [{ name: 'web', port: 80, targetPort: 'web', protocol: 'TCP' }],
  };
  if (o.selector !== null) spec.selector = o.selector ?? { app: 'nginx' };
  if (o.publishNotReadyAddresses) spec.publishNotReadyAddresses = true;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', uid: `uid-svc-${name}`, resourceVersion: '1', ...(o.labels ? { labels: o.labels } : {}) },
    spec,
  };
}

/**
 * A minimal API server for EndpointSlices: create (generateName), update with a resourceVersion
 * precondition (409 when stale), delete; every commit answers and then echoes a watch event.
 */
class World {
  readonly port = new FakePort('endpointslice-controller');
  readonly c: Component;
  readonly slices = new Map<string, SliceObj>();
  readonly writes: ApiRequest[] = [];
  private rv = 100;
  private names = 0;
  /** Hold back watch events of slices instead of delivering them (a slow watch). */
  holdWatch = false;
  /** Deliver the watch event of a write before its response (as the API server's commit does). */
  echoFirst = false;
  held: WatchEvent[] = [];
  /** The controller's watch of each kind. */
  private readonly watches = new Map<string, string>();

  /** `initial`: what the API server holds when the controller starts (its informers list it). */
  constructor(initial: KObject[] = []) {
    for (const o of initial) if (o.kind === 'EndpointSlice') this.slices.set(o.metadata.name!, o as SliceObj);
    this.c = endpointSliceController(this.port);
    this.c.start?.();
    for (const { msg } of this.port.take()) {
      if (msg.type !== 'api.request' || msg.verb !== 'list') continue;
      const items = initial.filter((o) => o.kind === msg.kind).map((o) => ({ ...o, metadata: { ...o.metadata, resourceVersion: o.metadata.resourceVersion ?? String(++this.rv) } }));
      this.c.receive({ type: 'api.response', reqId: msg.reqId, ok: true, items, resourceVersion: String(this.rv) }, 'apiserver');
    }
    for (const { msg } of this.port.take()) if (msg.type === 'api.watch') this.watches.set(msg.kind, msg.watchId);
  }

  /** A watch event of the object's kind, on the controller's watch of that kind. */
  event(event: WatchEvent['event'], obj: KObject): WatchEvent {
    return { type: 'watch', watchId: this.watches.get(obj.kind)!, event, obj };
  }

  feed(event: WatchEvent['event'], obj: KObject): void {
    const o = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.rv) } };
    this.c.receive(this.event(event, o), 'apiserver');
  }

  /** Another writer changes a slice behind the controller's back. */
  touch(name: string, change: (s: SliceObj) => void): SliceObj {
    const old = structuredClone(this.slices.get(name)!);
    change(old);
    const s: SliceObj = { ...old, metadata: { ...old.metadata, resourceVersion: String(++this.rv) } };
    this.slices.set(name, s);
    return s;
  }

  private answer(req: ApiRequest): void {
    this.writes.push(req);
    let echoed: WatchEvent | undefined;
    const reply = (r: Omit<ApiResponse, 'type' | 'reqId'>) => {
      if (echoed) this.c.receive(echoed, 'apiserver');
      this.c.receive({ type: 'api.response', reqId: req.reqId, ...r }, 'apiserver');
    };
    const echo = (event: WatchEvent['event'], obj: KObject) => {
      const ev = this.event(event, obj);
      if (this.holdWatch) this.held.push(ev);
      else if (!this.echoFirst) this.c.receive(ev, 'apiserver');
    };
    const commit = (event: WatchEvent['event'], obj: KObject) => {
      if (this.echoFirst && !this.holdWatch) echoed = this.event(event, obj);
    };
    if (req.verb === 'create') {
      const sent = structuredClone(req.obj!) as SliceObj;
      const name = `${sent.metadata.generateName}${'bcdfghjklmnpqrstvwxz'[this.names++]}xxxx`;
      const obj: SliceObj = { ...sent, metadata: { ...sent.metadata, name, uid: `uid-${name}`, resourceVersion: String(++this.rv) } };
      this.slices.set(name, obj);
      commit('ADDED', obj);
      reply({ ok: true, obj });
      echo('ADDED', obj);
    } else if (req.verb === 'update') {
      const cur = this.slices.get(req.name!);
      if (!cur) return reply({ ok: false, status: { code: 404, reason: 'NotFound', message: 'not found' } });
      if (req.obj!.metadata.resourceVersion !== cur.metadata.resourceVersion) {
        return reply({ ok: false, status: { code: 409, reason: 'Conflict', message: 'the object has been modified' } });
      }
      const sent = structuredClone(req.obj!) as SliceObj;
      const obj: SliceObj = { ...sent, metadata: { ...sent.metadata, resourceVersion: String(++this.rv) } };
      this.slices.set(req.name!, obj);
      commit('MODIFIED', obj);
      reply({ ok: true, obj });
      echo('MODIFIED', obj);
    } else if (req.verb === 'delete') {
      const cur = this.slices.get(req.name!);
      this.slices.delete(req.name!);
      reply({ ok: true });
      if (cur) echo('DELETED', cur);
    } else {
      throw new Error(`unexpected verb ${req.verb}`);
    }
  }

  /** Runs timers due up to `untilMs` (default: now), answering requests as they are sent. */
  run(untilMs = this.port.nowMs): void {
    for (let guard = 0; guard < 1000; guard++) {
      for (const { msg } of this.port.take()) if (msg.type === 'api.request') this.answer(msg);
      if (!this.port.fireDue(this.c, untilMs)) {
        this.port.nowMs = untilMs;
        return;
      }
    }
    throw new Error('timers did not settle');
  }

  /** The only slice. */
  slice(): SliceObj {
    expect(this.slices.size).to.equal(1);
    return [...this.slices.values()][0]!;
  }

  endpoint(name: string): Endpoint | undefined {
    return this.slice().endpoints.find((e) => e.targetRef?.name === name);
  }

  verbs(): string[] {
    return this.writes.map((w) => w.verb);
  }
}

/** Headless Service nginx with web-0..web-(n-1) running and ready, synced. */
function tutorial(n = 2): World {
  const w = new World();
  for (let i = 0; i < n; i++) w.feed('ADDED', stsPod(i));
  w.feed('ADDED', service('nginx'));
  w.run();
  return w;
}

/** Feeds the controller's slices to a cluster-dns and asks it a name from namespace default. */
function nslookup(w: World, name: string): string[] | string {
  const port = new FakePort('cluster-dns');
  const dns = clusterDns(port);
  dns.start?.();
  listAndWatch(dns, port, [service('nginx'), ...w.slices.values()]);
  dns.receive({ type: 'dns.query', reqId: 'q', name, qtype: 'A', search: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'] }, 'pod/curl');
  const a = port.take()[0]!.msg;
  if (a.type !== 'dns.answer') throw new Error('no answer');
  return a.rcode === 'NOERROR' ? a.answers : a.rcode;
}

describe('endpointslice-controller', () => {
  it('watches Services, Pods and EndpointSlices', () => {
    const port = new FakePort('endpointslice-controller');
    const c = endpointSliceController(port);
    c.start?.();
    expect(port.sent.map((s) => s.msg.type === 'api.request' && `${s.msg.verb} ${s.msg.kind}`)).to.deep.equal(['list Service', 'list Pod', 'list EndpointSlice']);
    expect([...listAndWatch(c, port).keys()]).to.deep.equal(['Service', 'Pod', 'EndpointSlice']);
  });

  it('a headless service gets one slice listing its pods, owned by the service', () => {
    const w = tutorial();
    expect(w.verbs()).to.deep.equal(['create']);
    const created = w.writes[0]!.obj!;
    expect(created.metadata.generateName).to.equal('nginx-');
    expect(created.metadata.labels).to.deep.equal({
      'kubernetes.io/service-name': 'nginx',
      'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
      'service.kubernetes.io/headless': '',
    });
    expect(created.metadata.ownerReferences).to.deep.equal([
      { apiVersion: 'v1', kind: 'Service', name: 'nginx', uid: 'uid-svc-nginx', controller: true, blockOwnerDeletion: true },
    ]);
    const s = w.slice();
    expect(s.addressType).to.equal('IPv4');
    // The named targetPort `web` resolves to the container port.
    expect(s.ports).to.deep.equal([{ name: 'web', port: 8080, protocol: 'TCP' }]);
    expect(s.endpoints).to.deep.equal([
      {
        addresses: ['10.244.1.10'],
        conditions: { ready: true, serving: true, terminating: false },
        targetRef: { kind: 'Pod', namespace: 'default', name: 'web-0', uid: 'uid-web-0' },
        nodeName: 'node-1',
        hostname: 'web-0',
      },
      {
        addresses: ['10.244.1.11'],
        conditions: { ready: true, serving: true, terminating: false },
        targetRef: { kind: 'Pod', namespace: 'default', name: 'web-1', uid: 'uid-web-1' },
        nodeName: 'node-1',
        hostname: 'web-1',
      },
    ]);
    expect(nslookup(w, 'web-1.nginx')).to.deep.equal(['10.244.1.11']);
  });

  const hostnameRows: { what: string; pod: PodOpts; want: string | undefined }[] = [
    { what: 'hostname and subdomain = service', pod: { hostname: 'db-0', subdomain: 'nginx' }, want: 'db-0' },
    { what: 'subdomain of another service', pod: { hostname: 'db-0', subdomain: 'other' }, want: undefined },
    { what: 'no subdomain', pod: { hostname: 'db-0' }, want: undefined },
    { what: 'subdomain but no hostname', pod: { subdomain: 'nginx' }, want: undefined },
  ];
  for (const row of hostnameRows) {
    it(`the endpoint hostname is set only when subdomain matches the service (${row.what})`, () => {
      const w = new World();
      w.feed('ADDED', service('nginx'));
      w.feed('ADDED', pod('db-0', { ip: '10.244.2.5', ...row.pod }));
      w.run();
      expect(w.endpoint('db-0')?.hostname).to.equal(row.want);
    });
  }

  const listedRows: { what: string; pod: PodOpts; want: Endpoint['conditions'] | 'absent' }[] = [
    { what: 'a ready pod', pod: { ip: '10.244.2.5' }, want: { ready: true, serving: true, terminating: false } },
    { what: 'a not-ready pod', pod: { ip: '10.244.2.5', ready: false }, want: { ready: false, serving: false, terminating: false } },
    { what: 'a terminating ready pod', pod: { ip: '10.244.2.5', deleting: true }, want: { ready: false, serving: true, terminating: true } },
    { what: 'a pod without an IP', pod: {}, want: 'absent' },
    { what: 'a Succeeded pod', pod: { ip: '10.244.2.5', phase: 'Succeeded' }, want: 'absent' },
    { what: 'a pod the selector does not match', pod: { ip: '10.244.2.5', labels: { app: 'other' } }, want: 'absent' },
  ];
  for (const row of listedRows) {
    it(`a slice lists pods as the v1.30 controller does: ${row.what}`, () => {
      const w = new World();
      w.feed('ADDED', service('nginx'));
      w.feed('ADDED', pod('p', row.pod));
      w.run();
      if (row.want === 'absent') expect(w.slice().endpoints).to.deep.equal([]);
      else expect(w.endpoint('p')?.conditions).to.deep.equal(row.want);
    });
  }

  it('a not-ready pod is not published', () => {
    const w = new World();
    w.feed('ADDED', service('nginx'));
    w.feed('ADDED', stsPod(0));
    w.feed('ADDED', stsPod(1, { ready: false }));
    w.run();
    expect(w.endpoint('web-1')?.conditions?.ready).to.equal(false);
    expect(nslookup(w, 'nginx')).to.deep.equal(['10.244.1.10']);
    expect(nslookup(w, 'web-1.nginx')).to.equal('NXDOMAIN');
  });

  const publishRows: { what: string; pod: PodOpts }[] = [
    { what: 'not ready', pod: { ready: false } },
    { what: 'terminating', pod: { deleting: true } },
  ];
  for (const row of publishRows) {
    it(`publishNotReadyAddresses publishes not-ready pods (${row.what})`, () => {
      const w = new World();
      w.feed('ADDED', service('nginx', { publishNotReadyAddresses: true }));
      w.feed('ADDED', stsPod(0, row.pod));
      w.run();
      expect(w.endpoint('web-0')?.conditions?.ready).to.equal(true);
      expect(nslookup(w, 'web-0.nginx')).to.deep.equal(['10.244.1.10']);
    });
  }

  it('a pod that becomes ready is added to the slice with one update', () => {
    const w = new World();
    w.feed('ADDED', service('nginx'));
    w.feed('ADDED', stsPod(0, { ready: false }));
    w.run();
    w.feed('MODIFIED', stsPod(0));
    w.run();
    expect(w.verbs()).to.deep.equal(['create', 'update']);
    expect(w.endpoint('web-0')?.conditions?.ready).to.equal(true);
  });

  it('an unchanged pod update does not rewrite the slice', () => {
    const w = tutorial();
    w.feed('MODIFIED', stsPod(0));
    w.feed('MODIFIED', stsPod(1, { labels: { app: 'nginx', extra: 'label' } }));
    w.run(10_000);
    expect(w.verbs()).to.deep.equal(['create']);
  });

  it('a burst of pod events causes one write per service', () => {
    const w = tutorial(0);
    for (let i = 0; i < 5; i++) w.feed('ADDED', stsPod(i));
    w.run();
    expect(w.verbs()).to.deep.equal(['create', 'update']);
    expect(w.slice().endpoints.map((e) => e.targetRef?.name)).to.deep.equal(['web-0', 'web-1', 'web-2', 'web-3', 'web-4']);
  });

  it('a deleted pod leaves the slice', () => {
    const w = tutorial();
    w.feed('DELETED', stsPod(0));
    w.run();
    expect(w.slice().endpoints.map((e) => e.targetRef?.name)).to.deep.equal(['web-1']);
  });

  it('a stale write gets 409 and is retried', () => {
    const w = tutorial();
    // Someone else changes the slice; the controller's watch has not shown it yet.
    w.holdWatch = true;
    const theirs = w.touch(w.slice().metadata.name!, (s) => {
      s.metadata.annotations = { note: 'theirs' };
    });
    w.holdWatch = false;
    w.feed('MODIFIED', stsPod(1, { ready: false }));
    w.run();
    expect(w.verbs()).to.deep.equal(['create', 'update']);
    expect(w.endpoint('web-1')?.conditions?.ready).to.equal(true); // the stale write did not land
    // No hot loop: nothing more before the watch brings the newer slice or the backoff ends.
    w.run(999);
    expect(w.verbs()).to.deep.equal(['create', 'update']);
    w.c.receive(w.event('MODIFIED', theirs), 'apiserver');
    w.run(2_000);
    expect(w.verbs()).to.deep.equal(['create', 'update', 'update']);
    expect(w.writes[2]!.obj!.metadata.resourceVersion).to.equal(theirs.metadata.resourceVersion);
    expect(w.endpoint('web-1')?.conditions?.ready).to.equal(false);
    expect(w.slice().metadata.annotations).to.deep.equal({ note: 'theirs' });
    w.run(100_000);
    expect(w.writes).to.have.length(3);
  });

  it('a 409 without any watch event is retried with backoff from 1 s', () => {
    const w = tutorial();
    const name = w.slice().metadata.name!;
    w.touch(name, () => {});
    w.feed('MODIFIED', stsPod(1, { ready: false }));
    w.run();
    const conflictsAt = () => w.writes.length;
    expect(conflictsAt()).to.equal(2);
    w.run(1_000);
    expect(conflictsAt()).to.equal(3); // retried after 1 s, still stale: 409 again
    w.run(2_999);
    expect(conflictsAt()).to.equal(3);
    w.run(3_000);
    expect(conflictsAt()).to.equal(4); // then after 2 s more
  });

  it('a slice deleted by someone else is recreated', () => {
    const w = tutorial();
    const s = w.slice();
    w.slices.delete(s.metadata.name!);
    w.c.receive(w.event('DELETED', s), 'apiserver');
    w.run(1_000);
    expect(w.verbs()).to.deep.equal(['create', 'create']);
    expect(w.slice().endpoints).to.have.length(2);
  });

  it('a service deletion leaves slice removal to the garbage collector', () => {
    const w = tutorial();
    w.feed('DELETED', service('nginx'));
    w.feed('DELETED', stsPod(0));
    w.run(10_000);
    expect(w.verbs()).to.deep.equal(['create']);
  });

  it('a service without a selector gets no slice', () => {
    const w = new World();
    w.feed('ADDED', service('ext', { selector: null }));
    w.feed('ADDED', stsPod(0));
    w.run();
    expect(w.writes).to.deep.equal([]);
  });

  it('a service with no pods gets an empty placeholder slice', () => {
    const w = new World();
    w.feed('ADDED', service('web', { clusterIP: '10.96.0.20' }));
    w.run();
    expect(w.slice()).to.deep.include({ endpoints: [], ports: [] });
    expect(w.slice().metadata.labels).to.not.have.property('service.kubernetes.io/headless');
  });

  it('a service label change is copied to its slice', () => {
    const w = tutorial();
    w.feed('MODIFIED', service('nginx', { labels: { tier: 'web' } }));
    w.run();
    expect(w.verbs()).to.deep.equal(['create', 'update']);
    expect(w.slice().metadata.labels).to.include({ tier: 'web', 'kubernetes.io/service-name': 'nginx' });
  });

  it('the watch echo of its own write arriving first causes no second write', () => {
    const w = new World();
    w.echoFirst = true;
    w.feed('ADDED', service('nginx'));
    w.feed('ADDED', stsPod(0));
    w.run();
    w.feed('ADDED', stsPod(1));
    w.run(100_000);
    expect(w.verbs()).to.deep.equal(['create', 'update']);
  });

  it('after a restart an up-to-date slice is not rewritten', () => {
    const before = tutorial();
    // The restarted controller lists what the API server holds.
    const w = new World([before.slice(), stsPod(0), stsPod(1), service('nginx')]);
    w.run(100_000);
    expect(w.writes).to.deep.equal([]);
  });

  it('a write that is never answered is retried after the 60 s request timeout', () => {
    const w = new World();
    w.port.take();
    w.feed('ADDED', service('nginx'));
    w.port.timers.delete('services/drain');
    w.c.timer?.('services/drain');
    expect(w.port.take()).to.have.length(1); // the create is lost on the way
    w.run(60_999);
    expect(w.writes).to.deep.equal([]);
    w.run(61_000); // timed out at 60 s, retried 1 s later
    expect(w.verbs()).to.deep.equal(['create']);
    expect(w.slice().endpoints).to.deep.equal([]);
  });

  it('no second slice is created while the first create is in flight', () => {
    const w = new World();
    w.port.take();
    w.feed('ADDED', service('nginx'));
    w.port.timers.delete('services/drain');
    w.c.timer?.('services/drain');
    const sent = w.port.take();
    expect(sent.map((s) => s.msg.type === 'api.request' && s.msg.verb)).to.deep.equal(['create']);
    // More pods arrive before the create is answered.
    w.feed('ADDED', stsPod(0));
    w.port.timers.delete('services/drain');
    w.c.timer?.('services/drain');
    expect(w.port.take()).to.deep.equal([]);
    // The answer comes: the pending change is synced then.
    const req = sent[0]!.msg as ApiRequest;
    (w as unknown as { answer(r: ApiRequest): void }).answer(req);
    w.run();
    expect(w.verbs()).to.deep.equal(['create', 'update']);
    expect(w.slice().endpoints).to.have.length(1);
  });

  /** web-0..web-(n-1) of a set of `n`, with IPs valid past 255 pods. */
  const bigPod = (i: number, o: PodOpts = {}) => stsPod(i, { ip: `10.244.${1 + (i >> 8)}.${i & 255}`, ...o });
  /** The slices by name: how many endpoints each holds. */
  const sizes = (w: World) => [...w.slices.values()].sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1)).map((s) => s.endpoints.length);
  /** Runs 100 ms on: a sync of a Service of n pods takes n × 10 µs (SYNC_US_PER_POD). */
  const settle = (w: World) => w.run(w.port.nowMs + 100);
  const holding = (w: World, pod: string) => [...w.slices.values()].find((s) => s.endpoints.some((e) => e.targetRef?.name === pod))!;

  it('a Service of 250 ready pods gets 3 slices of at most 100 endpoints', () => {
    const w = new World();
    w.feed('ADDED', service('nginx'));
    for (let i = 0; i < 250; i++) w.feed('ADDED', bigPod(i));
    settle(w);
    expect(w.verbs()).to.deep.equal(['create', 'create', 'create']);
    expect(sizes(w)).to.deep.equal([100, 100, 50]);
    expect(w.writes.map((r) => r.obj!.metadata.generateName)).to.deep.equal(['nginx-', 'nginx-', 'nginx-']);
  });

  it('a pod that becomes ready updates only the slice holding it', () => {
    const w = new World();
    w.feed('ADDED', service('nginx'));
    for (let i = 0; i < 250; i++) w.feed('ADDED', bigPod(i, { ready: i !== 120 }));
    settle(w);
    const before = new Map([...w.slices].map(([n, s]) => [n, s.metadata.resourceVersion]));
    w.feed('MODIFIED', bigPod(120));
    settle(w);
    const held = holding(w, 'web-120');
    expect(w.verbs().slice(3)).to.deep.equal(['update']);
    expect(w.writes[3]!.name).to.equal(held.metadata.name);
    expect(held.endpoints.find((e) => e.targetRef?.name === 'web-120')?.conditions?.ready).to.equal(true);
    for (const [n, s] of w.slices) if (n !== held.metadata.name) expect(s.metadata.resourceVersion).to.equal(before.get(n));
  });

  it('pods ready one by one fill the slices in turn, so scaling 150 down to 40 leaves one slice', () => {
    const w = new World();
    w.feed('ADDED', service('nginx'));
    for (let i = 0; i < 150; i++) {
      w.feed('ADDED', bigPod(i));
      settle(w);
    }
    expect(sizes(w)).to.have.members([100, 50]);
    expect(holding(w, 'web-99')).to.equal(holding(w, 'web-0'));
    for (let i = 149; i >= 40; i--) {
      w.feed('DELETED', bigPod(i));
      settle(w);
    }
    expect(sizes(w)).to.deep.equal([40]);
  });

  it('pods ready all at once then scaled down stay in the slices that hold them: slices are emptied, never merged (as upstream)', () => {
    const w = new World();
    w.feed('ADDED', service('nginx'));
    for (let i = 0; i < 250; i++) w.feed('ADDED', bigPod(i));
    settle(w);
    const names = [...w.slices.keys()];
    for (let i = 249; i >= 40; i--) w.feed('DELETED', bigPod(i));
    settle(w);
    expect(w.verbs().filter((v) => v === 'create')).to.have.length(3);
    expect([...w.slices.keys()].every((n) => names.includes(n))).to.equal(true);
    expect(sizes(w).every((n) => n > 0)).to.equal(true);
    expect(sizes(w).reduce((a, b) => a + b)).to.equal(40);
  });

  it('DNS answers every pod of a 250-pod Service', () => {
    const w = new World();
    w.feed('ADDED', service('nginx'));
    for (let i = 0; i < 250; i++) w.feed('ADDED', bigPod(i));
    settle(w);
    expect(w.slices.size).to.equal(3);
    const answers = nslookup(w, 'nginx') as string[];
    expect(answers).to.have.length(250);
    expect(answers).to.have.members(Array.from({ length: 250 }, (_, i) => `10.244.${1 + (i >> 8)}.${i & 255}`));
    expect(nslookup(w, 'web-249.nginx')).to.deep.equal(['10.244.1.249']);
  });

  it('after a restart split slices that are up to date are not rewritten', () => {
    const before = new World();
    before.feed('ADDED', service('nginx'));
    const pods = Array.from({ length: 150 }, (_, i) => bigPod(i));
    for (const p of pods) before.feed('ADDED', p);
    settle(before);
    const w = new World([...before.slices.values(), ...pods, service('nginx')]);
    w.run(100_000);
    expect(w.writes).to.deep.equal([]);
  });

  /** One step of what a Service's pods go through: a pod added or changed, a pod gone, the Service changed. */
  type Step = { op: 'put'; i: number; app: string; ip: boolean; ready: boolean; ns: string } | { op: 'delete'; i: number } | { op: 'service'; selector: string; publish: boolean };
  const arbStep: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ op: fc.constant('put' as const), i: fc.nat(11), app: fc.constantFrom('nginx', 'db'), ip: fc.boolean(), ready: fc.boolean(), ns: fc.constantFrom('default', 'other') }),
    fc.record({ op: fc.constant('delete' as const), i: fc.nat(11) }),
    fc.record({ op: fc.constant('service' as const), selector: fc.constantFrom('nginx', 'db'), publish: fc.boolean() }),
  );

  it("a Service's endpoints kept between syncs are the ones desiredSlice makes from the selected pods, and are found in earlier slices as the reference finds them, through adds, changes, relabels and deletes", () => {
    fc.assert(
      // Each step may or may not be followed by a sync: several changes can come between two.
      fc.property(fc.array(fc.tuple(arbStep, fc.boolean()), { maxLength: 40 }), (steps) => {
        const cache = new Cache();
        cache.addIndex('Pod', LABEL_INDEX, labelIndex);
        let rv = 0;
        let svc = service('nginx') as Service & KObject;
        const kept = new ServicePods();
        const written: Endpoint[][] = [];
        for (const [st, sync] of steps) {
          if (st.op === 'put') {
            // `web-1`, `web-10` ...: names whose order is not the order they are added in.
            const p = stsPod(st.i, { labels: { app: st.app, tier: 'web' }, ready: st.ready, ...(st.ip ? {} : { ip: '' }) });
            p.metadata.namespace = st.ns;
            p.metadata.resourceVersion = String(++rv);
            cache.put(p);
          } else if (st.op === 'delete') for (const ns of ['default', 'other']) cache.delete('Pod', ns, `web-${st.i}`);
          else svc = service('nginx', { selector: { app: st.selector, tier: 'web' }, publishNotReadyAddresses: st.publish }) as Service & KObject;
          if (!sync) continue;
          const ns = svc.metadata.namespace ?? '';
          const selected = cache.byIndexAll<KObject & Pod>('Pod', LABEL_INDEX, serviceSelectorIndex(svc), (p) => (p.metadata.namespace ?? '') === ns && matchesMapSelector(svc.spec?.selector, p.metadata.labels));
          const want = desiredSlice(svc, selected);
          expect(kept.desired(cache, svc)).to.deep.equal(want);
          expect(kept.selected).to.equal(selected.length);
          // Slices written at earlier syncs, and copies of every pod's endpoint as the API server
          // would send them: each endpoint is found where the reference finds it, or not at all.
          written.push(want.endpoints);
          const ref = endpointIndex(want.endpoints);
          for (const es of [...written, cache.list<KObject & Pod>('Pod').map((p) => structuredClone(podToEndpoint(p, svc)))]) {
            expect(Array.from(kept.positionsOf(es))).to.deep.equal(ref.positionsOf(es));
          }
        }
      }),
      { seed: 15, numRuns: 300 },
    );
  });

  it('a pod gone and another come between two syncs leave the slice in name order', () => {
    const cache = new Cache();
    cache.addIndex('Pod', LABEL_INDEX, labelIndex);
    const svc = service('nginx') as Service & KObject;
    const kept = new ServicePods();
    let rv = 0;
    const put = (i: number) => cache.put({ ...stsPod(i), metadata: { ...stsPod(i).metadata, resourceVersion: String(++rv) } });
    put(5);
    put(1);
    expect(kept.desired(cache, svc).endpoints.map((e) => e.targetRef?.name)).to.deep.equal(['web-1', 'web-5']);
    cache.delete('Pod', 'default', 'web-5');
    put(7);
    expect(kept.desired(cache, svc).endpoints.map((e) => e.targetRef?.name)).to.deep.equal(['web-1', 'web-7']);
  });
});
